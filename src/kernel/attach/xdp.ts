// XDP on an interface: a bpf_link (5.9+; detached when bpfload's fd closes, even on SIGKILL), or
// on older kernels (or --net-api netlink) RTM_SETLINK IFLA_XDP, which outlives the process and is
// therefore recorded under /run/bpfload first. bpfload never replaces a program someone else
// attached (XDP_FLAGS_UPDATE_IF_NOEXIST; the link refuses with EBUSY) and detaches only its own
// (XDP_FLAGS_REPLACE with the expected fd, 5.7+; before that, after checking the program id).
import { formatAttachSpec, type AttachSpec } from "../../attach-spec.ts";
import { BPF_ATTACH } from "../../net/attach-types.ts";
import { getLinkRequest, parseLink, RTM_NEWLINK, XDP_FLAGS_DRV_MODE, XDP_FLAGS_SKB_MODE, XDP_FLAGS_UPDATE_IF_NOEXIST, xdpSetRequest } from "../../net/netlink.ts";
import { bpfLinkCreate, bpfProgGetFdById } from "../../sys/bpf.ts";
import { close } from "../../sys/fd.ts";
import { FdLink, UndoLink, type Link } from "./perf-link.ts";
import type { Program } from "../program.ts";
import { hookError, ifindexOf, netlinkError, netnsInode, progIdOf, withRoute, type RouteSocket } from "./common.ts";
import { removeRecord, writeRecord, type NetRecord } from "./records.ts";
import { ERRNO, opt, optionText } from "../../errors.ts";

const { EINVAL, EBUSY, EEXIST, ENOENT } = ERRNO;

export type NetApi = "link" | "netlink";

function modeFlags(mode: "generic" | "native" | undefined): number {
  return mode === "generic" ? XDP_FLAGS_SKB_MODE : mode === "native" ? XDP_FLAGS_DRV_MODE : 0;
}

const BUSY_HINT = "the interface has an XDP program already (bpftool net shows it): bpfload does not replace it";

export function attachXdp(prog: Program, spec: AttachSpec & { kind: "xdp" }, api?: NetApi): Link {
  const target = formatAttachSpec(spec);
  const what = `attach '${prog.name}' to ${target}`;
  const ifindex = ifindexOf(spec.iface, what);
  const flags = modeFlags(spec.mode);
  if (api !== "netlink") {
    const r = bpfLinkCreate({ progFd: prog.fd, target: ifindex, attachType: BPF_ATTACH.xdp, flags });
    if (r.ret >= 0) return new FdLink(`${target} (bpf_link)`, r.ret);
    // EINVAL: no XDP links before 5.9 (netlink then); anything else is the kernel's answer.
    const hint = r.errno === EBUSY || r.errno === EEXIST ? BUSY_HINT : r.errno === EINVAL ? optionText`XDP links need Linux 5.9 (without ${opt("netApi", "link")}, bpfload uses netlink before that)` : undefined;
    if (api === "link" || r.errno !== EINVAL) throw hookError(what, "BPF_LINK_CREATE", r.errno, hint);
  }
  return attachXdpNetlink(prog, target, what, ifindex, spec.iface, flags);
}

function attachXdpNetlink(prog: Program, target: string, what: string, ifindex: number, iface: string, flags: number): Link {
  const rec: NetRecord = { kind: "xdp", netns: netnsInode(), ifindex, iface, progId: progIdOf(prog), progName: prog.name, flags };
  const name = writeRecord(rec);
  const ack = withRoute(what, (s) => s.request((seq) => xdpSetRequest(seq, ifindex, prog.fd, flags | XDP_FLAGS_UPDATE_IF_NOEXIST)));
  if (ack.errno) {
    removeRecord(name);
    throw netlinkError(what, "RTM_SETLINK IFLA_XDP", ack, ack.errno === EBUSY || ack.errno === EEXIST ? BUSY_HINT : undefined);
  }
  return new UndoLink(`${target} (netlink)`, () => {
    detachXdp(rec, prog.fd);
    removeRecord(name);
  });
}

/** The id of the XDP program on an interface (0: none). */
export function xdpProgId(s: RouteSocket, ifindex: number): number {
  const msgs = s.dump((seq) => getLinkRequest(seq, ifindex)).filter((m) => m.type === RTM_NEWLINK);
  return msgs.length ? (parseLink(msgs[0]!).progId ?? 0) : 0;
}

/**
 * Removes the recorded XDP program if it is still the one attached. `progFd`: bpfload's own fd,
 * else (a dead bpfload's record) one got from the recorded id. Returns what happened.
 */
export function detachXdp(rec: NetRecord & { kind: "xdp" }, progFd?: number): "removed" | "gone" {
  const what = `detach XDP program '${rec.progName}' from ${rec.iface}`;
  let fd = progFd;
  if (fd === undefined) {
    const r = bpfProgGetFdById(rec.progId);
    if (r.ret < 0) {
      if (r.errno === ENOENT) return "gone"; // no such program any more: nothing of ours is attached
      throw hookError(what, "BPF_PROG_GET_FD_BY_ID", r.errno);
    }
    fd = r.ret;
  }
  try {
    return withRoute(what, (s) => {
      const ack = s.request((seq) => xdpSetRequest(seq, rec.ifindex, -1, rec.flags, fd));
      if (!ack.errno) return "removed";
      if (ack.errno === EEXIST || ack.errno === ENOENT || ack.errno === ERRNO.ENODEV /* interface gone */) return "gone"; // another program (or none) is attached now
      if (ack.errno !== EINVAL) throw netlinkError(what, "RTM_SETLINK IFLA_XDP", ack);
      // Before 5.7 there is no expected fd: check the id, then detach.
      if (xdpProgId(s, rec.ifindex) !== rec.progId) return "gone";
      const plain = s.request((seq) => xdpSetRequest(seq, rec.ifindex, -1, rec.flags));
      if (plain.errno) throw netlinkError(what, "RTM_SETLINK IFLA_XDP", plain);
      return "removed";
    });
  } finally {
    if (progFd === undefined) close(fd);
  }
}


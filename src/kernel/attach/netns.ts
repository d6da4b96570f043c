// Network namespace hooks. The flow dissector: a netns bpf_link from 5.7 (gone with bpfload's
// fd), BPF_PROG_ATTACH to the caller's namespace before (4.20-5.6), which outlives bpfload and is
// recorded under /run/bpfload first (records.ts), so that the next run or `bpfload cleanup`
// detaches it after a SIGKILL: only if that very program is still the one attached there.
//
// Socket lookup (BPF_SK_LOOKUP, 5.9+): a bpf_link on a network namespace's fd. The program runs
// when a packet looks for a listening or unconnected socket there, and may pick one (bpf_sk_assign).
// Only a link exists for it, so it goes away with bpfload's fd, even after a SIGKILL: nothing to
// record. NETNS is a namespace file (/proc/PID/ns/net, /run/netns/NAME from `ip netns add`);
// without one, bpfload's own namespace.
import { formatAttachSpec, type AttachSpec } from "../../attach-spec.ts";
import { ERRNO, SystemError, errnoName } from "../../errors.ts";
import { BPF_ATTACH } from "../../net/attach-types.ts";
import { bpfLinkCreate, bpfProgAttach, bpfProgDetach, bpfProgQuery } from "../../sys/bpf.ts";
import { FileError, openFile } from "../../sys/files.ts";
import { statfsType } from "../../sys/paths.ts";
import { close } from "../../sys/fd.ts";
import { FdLink, UndoLink, type Link } from "./perf-link.ts";
import type { Program } from "../program.ts";
import { hookError, netnsInode, progIdOf, recordedProgFd } from "./common.ts";
import { removeRecord, writeRecord, type NetRecord } from "./records.ts";
import type { NetApi } from "./xdp.ts";

const { EINVAL, EEXIST, ENOENT, EACCES, EPERM } = ERRNO;
/** The filesystem of /proc/PID/ns/* and of what `ip netns` bind-mounts them to (NSFS_MAGIC). */
const NSFS_MAGIC = 0x6e736673;

/** An fd of the network namespace file `path`, checked to be one (a plain file would be EINVAL later). */
export function openNetns(path: string, what: string): number {
  let fd: number;
  try {
    fd = openFile(path);
  } catch (e) {
    if (!(e instanceof FileError)) throw e;
    const hint = e.errno === ENOENT ? (path.startsWith("/run/netns/") ? ": no such namespace (ip netns list shows them)" : ": no such file") : e.errno === EACCES || e.errno === EPERM ? ": run as root" : "";
    throw new SystemError(`${what}: cannot open the network namespace ${path}: ${errnoName(e.errno)}${hint}`);
  }
  if (statfsType(path).type !== NSFS_MAGIC) {
    close(fd);
    throw new SystemError(`${what}: ${path} is not a namespace file (give /proc/PID/ns/net or a name from ip netns)`);
  }
  return fd;
}

export function attachSkLookup(prog: Program, spec: AttachSpec & { kind: "sk_lookup" }): Link {
  const target = formatAttachSpec(spec);
  const what = `attach '${prog.name}' to ${target}`;
  const ns = openNetns(spec.netns ?? "/proc/self/ns/net", what);
  try {
    const r = bpfLinkCreate({ progFd: prog.fd, target: ns, attachType: BPF_ATTACH.sk_lookup });
    if (r.ret >= 0) return new FdLink(`${target} (netns link)`, r.ret);
    const hint =
      r.errno === EINVAL
        ? "socket lookup programs attach through a netns bpf_link (Linux 5.9): the program must be loaded as sk_lookup with expected attach type BPF_SK_LOOKUP (section \"sk_lookup\")"
        : undefined;
    throw hookError(what, "BPF_LINK_CREATE", r.errno, hint);
  } finally {
    close(ns);
  }
}

/** The flow dissector of this network namespace: a netns link (5.7+), else BPF_PROG_ATTACH (4.20+). */
export function attachFlowDissector(prog: Program, spec: AttachSpec & { kind: "flow_dissector" }, api?: NetApi): Link {
  const target = formatAttachSpec(spec);
  const what = `attach '${prog.name}' to ${target}`;
  if (api !== "netlink") {
    const ns = openFile("/proc/self/ns/net");
    try {
      const r = bpfLinkCreate({ progFd: prog.fd, target: ns, attachType: BPF_ATTACH.flow_dissector });
      if (r.ret >= 0) return new FdLink(`${target} (netns link)`, r.ret);
      if (api === "link" || r.errno !== EINVAL) throw hookError(what, "BPF_LINK_CREATE", r.errno, r.errno === EEXIST ? "this network namespace has a flow dissector program already" : undefined);
    } finally {
      close(ns);
    }
  }
  // Before 5.7: attached to the caller's netns (target_fd 0, as the kernel wants it). Recorded
  // first: it stays after a SIGKILL until someone detaches it or the namespace goes.
  const rec: NetRecord & { kind: "flow_dissector" } = { kind: "flow_dissector", netns: netnsInode(), progId: progIdOf(prog), progName: prog.name };
  const name = writeRecord(rec);
  const r = bpfProgAttach(0, prog.fd, BPF_ATTACH.flow_dissector);
  if (r.ret < 0) {
    removeRecord(name);
    throw hookError(what, "BPF_PROG_ATTACH", r.errno);
  }
  return new UndoLink(`${target} (BPF_PROG_ATTACH)`, () => {
    detachFlowDissector(rec, prog.fd);
    removeRecord(name);
  });
}

/**
 * What to do with a recorded flow dissector, from BPF_PROG_QUERY on the namespace: before 5.7
 * the kernel's detach takes whatever program is attached, so only when the one attached is the
 * recorded program. Pure.
 */
export function flowDissectorUndo(query: { ret: number; errno: number; ids: number[] }, progId: number): "detach" | "gone" | { error: string; noQuery?: true } {
  if (query.ret < 0) {
    if (query.errno === EINVAL) return { error: "cannot tell which program is attached (BPF_PROG_QUERY for the flow dissector needs Linux 5.0); if it is yours: bpftool net detach flow_dissector", noQuery: true };
    return { error: `BPF_PROG_QUERY: ${errnoName(query.errno)}` };
  }
  return progId !== 0 && query.ids.includes(progId) ? "detach" : "gone";
}

/** Detaches the recorded flow dissector of bpfload's namespace if it is still that program. */
export function detachFlowDissector(rec: NetRecord & { kind: "flow_dissector" }, progFd?: number): "removed" | "gone" {
  const what = `detach '${rec.progName}' from the flow dissector`;
  const ns = openFile("/proc/self/ns/net");
  let action: ReturnType<typeof flowDissectorUndo>;
  try {
    action = flowDissectorUndo(bpfProgQuery(ns, BPF_ATTACH.flow_dissector), rec.progId);
  } finally {
    close(ns);
  }
  if (action === "gone") return "gone";
  // (bpfload's own detach at exit on 4.20, which has no query: what it attached, as before)
  if (action !== "detach" && !(progFd !== undefined && action.noQuery)) throw new SystemError(`${what}: ${action.error}`);
  const fd = recordedProgFd(rec.progId, progFd, what);
  if (fd === "gone") return "gone";
  try {
    const r = bpfProgDetach(0, fd, BPF_ATTACH.flow_dissector);
    if (r.ret >= 0) return "removed";
    if (r.errno === ENOENT) return "gone";
    throw hookError(what, "BPF_PROG_DETACH", r.errno);
  } finally {
    if (progFd === undefined) close(fd);
  }
}

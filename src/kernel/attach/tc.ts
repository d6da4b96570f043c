// tc on an interface: a tcx link (6.6+; gone when bpfload's fd closes), or on older kernels (or
// --net-api netlink) a direct-action cls_bpf filter on the clsact qdisc over netlink, recorded
// under /run/bpfload first since it outlives the process. The qdisc is created if missing, and
// removed at the end only if bpfload created it and no other filter sits on it by then.
import { formatAttachSpec, type AttachSpec } from "../../attach-spec.ts";
import { BPF_ATTACH } from "../../net/attach-types.ts";
import { bpfFilterRequest, clsactRequest, deleteFilterRequest, dumpFiltersRequest, dumpQdiscsRequest, parseTc, RTM_NEWQDISC, RTM_NEWTFILTER, TC_PARENT, type TcObject } from "../../net/netlink.ts";
import { bpfLinkCreate } from "../../sys/bpf.ts";
import { requireHookFeature } from "../features/probes.ts";
import { FdLink, type Link } from "./perf-link.ts";
import type { Program } from "../program.ts";
import { hookError, ifindexOf, netlinkError, netnsInode, progIdOf, withRoute, type RouteSocket } from "./common.ts";
import { removeRecord, writeRecord, type NetRecord } from "./records.ts";
import { UndoLink } from "./perf-link.ts";
import type { NetApi } from "./xdp.ts";
import { ERRNO, opt, optionText } from "../../errors.ts";

const { EINVAL, EEXIST, ENOENT, ENODEV } = ERRNO;

/** Filter priorities bpfload tries, away from tc's defaults (49152 counts down from there). */
const FIRST_PRIO = 0xbf00;
const PRIO_TRIES = 32;
const HANDLE = 1;

export function attachTc(prog: Program, spec: AttachSpec & { kind: "tc" }, api?: NetApi): Link {
  const target = formatAttachSpec(spec);
  const what = `attach '${prog.name}' to ${target}`;
  const ifindex = ifindexOf(spec.iface, what);
  if (api !== "netlink") {
    const attachType = spec.direction === "ingress" ? BPF_ATTACH.tcx_ingress : BPF_ATTACH.tcx_egress;
    const r = bpfLinkCreate({ progFd: prog.fd, target: ifindex, attachType });
    if (r.ret >= 0) return new FdLink(`${target} (tcx link)`, r.ret);
    if (api === "link" && r.errno === EINVAL) requireHookFeature("tcx", "tcx links", optionText`without ${opt("netApi", "link")}, bpfload attaches through a clsact qdisc instead`);
    if (api === "link" || r.errno !== EINVAL) throw hookError(what, "BPF_LINK_CREATE", r.errno); // EINVAL: no tcx before 6.6
  }
  return attachTcNetlink(prog, target, what, ifindex, spec);
}

function attachTcNetlink(prog: Program, target: string, what: string, ifindex: number, spec: AttachSpec & { kind: "tc" }): Link {
  const parent = TC_PARENT[spec.direction];
  return withRoute(what, (s) => {
    const qdisc = s.request((seq) => clsactRequest(seq, ifindex, true));
    if (qdisc.errno && qdisc.errno !== EEXIST) throw netlinkError(what, "RTM_NEWQDISC clsact", qdisc);
    const createdQdisc = qdisc.errno === 0;
    let rec: NetRecord & { kind: "tc" } = { kind: "tc", netns: netnsInode(), ifindex, iface: spec.iface, progId: progIdOf(prog), progName: prog.name, parent, prio: 0, handle: HANDLE, createdQdisc };
    for (let i = 0; i < PRIO_TRIES; i++) {
      rec = { ...rec, prio: FIRST_PRIO + i };
      const name = writeRecord(rec);
      const ack = s.request((seq) => bpfFilterRequest(seq, ifindex, parent, rec.prio, HANDLE, prog.fd, `${prog.name}`));
      if (!ack.errno) {
        const done = rec;
        return new UndoLink(`${target} (cls_bpf over netlink, prio ${done.prio})`, () => {
          detachTc(done);
          removeRecord(name);
        });
      }
      removeRecord(name);
      if (ack.errno === EEXIST) continue; // that priority is taken: the next
      if (createdQdisc) removeQdiscIfEmpty(s, ifindex);
      throw netlinkError(what, "RTM_NEWTFILTER cls_bpf", ack);
    }
    if (createdQdisc) removeQdiscIfEmpty(s, ifindex);
    throw new Error(`${what}: filter priorities ${FIRST_PRIO}..${FIRST_PRIO + PRIO_TRIES - 1} are all taken`);
  });
}

export function listFilters(s: RouteSocket, ifindex: number, parent: number): TcObject[] {
  return s.dump((seq) => dumpFiltersRequest(seq, ifindex, parent)).filter((m) => m.type === RTM_NEWTFILTER).map(parseTc).filter((f) => f.kind !== undefined);
}

function hasClsact(s: RouteSocket, ifindex: number): boolean {
  return s.dump((seq) => dumpQdiscsRequest(seq, ifindex)).filter((m) => m.type === RTM_NEWQDISC).map(parseTc).some((q) => q.ifindex === ifindex && q.kind === "clsact");
}

function removeQdiscIfEmpty(s: RouteSocket, ifindex: number): boolean {
  if (!hasClsact(s, ifindex)) return false;
  if (listFilters(s, ifindex, TC_PARENT.ingress).length || listFilters(s, ifindex, TC_PARENT.egress).length) return false;
  const ack = s.request((seq) => clsactRequest(seq, ifindex, false));
  return ack.errno === 0;
}

/**
 * Removes the recorded filter if it still runs the recorded program (a filter someone put at the
 * same place later is left alone), then the qdisc if bpfload created it and it is empty.
 */
export function detachTc(rec: NetRecord & { kind: "tc" }): "removed" | "gone" {
  const what = `detach tc program '${rec.progName}' from ${rec.iface}`;
  return withRoute(what, (s) => {
    let filters: TcObject[];
    try {
      filters = listFilters(s, rec.ifindex, rec.parent);
    } catch (e) {
      const errno = (e as { errno?: number }).errno;
      if (errno === ENODEV || errno === EINVAL || errno === ENOENT) return "gone"; // interface or qdisc gone
      throw e;
    }
    const ours = filters.some((f) => f.prio === rec.prio && f.handle === rec.handle && f.progId === rec.progId);
    let result: "removed" | "gone" = "gone";
    if (ours) {
      const ack = s.request((seq) => deleteFilterRequest(seq, rec.ifindex, rec.parent, rec.prio, rec.handle));
      if (ack.errno && ack.errno !== ENOENT) throw netlinkError(what, "RTM_DELTFILTER", ack);
      result = "removed";
    }
    if (rec.createdQdisc) removeQdiscIfEmpty(s, rec.ifindex);
    return result;
  });
}

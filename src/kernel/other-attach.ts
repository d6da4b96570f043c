// The attach kinds that are one call each: raw tracepoints (BPF_RAW_TRACEPOINT_OPEN, 4.17+),
// perf_event sampling programs (a software cpu-clock event per CPU), and socket filters (a raw
// packet socket on an interface with SO_ATTACH_BPF, held open while bpfload runs).
import { formatAttachSpec, type AttachSpec } from "../attach-spec.ts";
import { SystemError, ERRNO } from "../errors.ts";
import { bpfRawTracepointOpen } from "../sys/bpf.ts";
import { tryReadText } from "../sys/files.ts";
import { attachBpfToSocket, bindToInterface, packetSocket } from "../sys/net.ts";
import { perfEventOpen } from "../sys/perf.ts";
import { PERF_COUNT_SW_CPU_CLOCK, PERF_TYPE_SOFTWARE } from "../uapi.ts";
import { requireFeature } from "./features/probes.ts";
import { possibleCpus } from "./map.ts";
import { attachError, attachToPerfFd, FdLink, MultiLink, type Link } from "./perf-link.ts";
import type { Program } from "./program.ts";
import { tracefs } from "./tracefs.ts";

export function attachRawTracepoint(prog: Program, spec: AttachSpec & { kind: "raw_tracepoint" }): Link {
  const target = formatAttachSpec(spec);
  const r = bpfRawTracepointOpen(spec.name, prog.fd);
  if (r.ret >= 0) return new FdLink(target, r.ret);
  requireFeature("rawTracepoints", "raw tracepoints"); // the attempt failed: say so when the kernel has none
  if (r.errno === ERRNO.ENOENT) throw new SystemError(`attach '${prog.name}' to ${target}: unknown tracepoint '${spec.name}' (raw tracepoints take the bare event name, e.g. sched_switch; see ${tracefs()}/available_events)`);
  throw attachError(prog, target, "BPF_RAW_TRACEPOINT_OPEN", r.errno);
}

/** Online CPUs as perf wants them (possible CPUs that are offline refuse with ENODEV: skipped). */
export function attachPerfEvent(prog: Program, spec: AttachSpec & { kind: "perf_event" }, freq: number): Link {
  const target = formatAttachSpec(spec);
  const links: Link[] = [];
  let lastErrno = 0;
  try {
    for (let cpu = 0; cpu < possibleCpus(); cpu++) {
      const open = perfEventOpen({ type: PERF_TYPE_SOFTWARE, config: PERF_COUNT_SW_CPU_CLOCK, sampleFreq: freq, cpu });
      if (open.ret < 0) {
        lastErrno = open.errno;
        continue;
      }
      links.push(attachToPerfFd(prog, open.ret, `${target} cpu ${cpu}`, {}));
    }
  } catch (e) {
    for (const l of links) l.close();
    throw e;
  }
  if (!links.length) throw attachError(prog, target, "perf_event_open", lastErrno || 19);
  return new MultiLink(`${target} at ${freq} Hz on ${links.length} CPUs`, links);
}

export function attachSocket(prog: Program, spec: AttachSpec & { kind: "socket" }): Link {
  const target = formatAttachSpec(spec);
  const index = tryReadText(`/sys/class/net/${spec.iface}/ifindex`);
  if (index === undefined) throw new SystemError(`attach '${prog.name}' to ${target}: no network interface '${spec.iface}' (see ip link)`);
  const ifindex = Number(index.trim());
  const sock = packetSocket();
  if (sock.ret < 0) throw attachError(prog, target, "socket(AF_PACKET)", sock.errno);
  const link = new FdLink(target, sock.ret);
  const bound = bindToInterface(sock.ret, ifindex);
  if (bound.ret < 0) {
    link.close();
    throw attachError(prog, target, "bind", bound.errno);
  }
  const set = attachBpfToSocket(sock.ret, prog.fd);
  if (set.ret < 0) {
    link.close();
    throw attachError(prog, target, "SO_ATTACH_BPF", set.errno);
  }
  return link;
}


// Raw tracepoints: BPF_RAW_TRACEPOINT_OPEN (4.17+), one call, the fd is the link.
import { formatAttachSpec, type AttachSpec } from "../../attach-spec.ts";
import { SystemError, ERRNO } from "../../errors.ts";
import { bpfRawTracepointOpen } from "../../sys/bpf.ts";
import { requireFeature } from "../features/probes.ts";
import { attachError, FdLink, type Link } from "./perf-link.ts";
import type { Program } from "../program.ts";
import { tracefs } from "../tracefs/tracefs.ts";

export function attachRawTracepoint(prog: Program, spec: AttachSpec & { kind: "raw_tracepoint" }): Link {
  const target = formatAttachSpec(spec);
  const r = bpfRawTracepointOpen(spec.name, prog.fd);
  if (r.ret >= 0) return new FdLink(target, r.ret);
  requireFeature("rawTracepoints", "raw tracepoints"); // the attempt failed: say so when the kernel has none
  if (r.errno === ERRNO.ENOENT) throw new SystemError(`attach '${prog.name}' to ${target}: unknown tracepoint '${spec.name}' (raw tracepoints take the bare event name, e.g. sched_switch; see ${tracefs()}/available_events)`);
  throw attachError(prog, target, "BPF_RAW_TRACEPOINT_OPEN", r.errno);
}

// Tracepoint programs on static trace events (events/CATEGORY/NAME/id in tracefs).
import { formatAttachSpec, type AttachSpec } from "../../attach-spec.ts";
import { NotSupportedError, SyscallError, SystemError, ERRNO } from "../../errors.ts";
import { FEATURE_SINCE, newerThan, since } from "../../since.ts";
import { attachToTraceEvent, type PerfEventLink } from "./perf-link.ts";
import { kernelVersion, type Program } from "../program.ts";
import { eventId, tracefs } from "../tracefs/tracefs.ts";

export function attachTracepoint(prog: Program, spec: AttachSpec & { kind: "tracepoint" }): PerfEventLink {
  const target = formatAttachSpec(spec);
  const id = eventId(spec.category, spec.name);
  if (id === undefined) {
    const hint = spec.category === "syscalls"
      ? "this kernel has no such syscall tracepoint (CONFIG_FTRACE_SYSCALLS off, or no such syscall on this architecture)"
      : "no such tracepoint";
    throw new SystemError(`attach '${prog.name}' to ${target}: unknown tracepoint ${spec.category}:${spec.name}: ${hint}; see ${tracefs()}/available_events`);
  }
  const kernel = kernelVersion().code;
  try {
    return attachToTraceEvent(prog, id, target, { kernel, syscallTracepoint: spec.category === "syscalls" });
  } catch (e) {
    const introduced = FEATURE_SINCE["BPF on syscalls:* tracepoints"];
    if (e instanceof SyscallError && e.errno === ERRNO.EINVAL && spec.category === "syscalls" && newerThan(introduced, kernel)) {
      throw new NotSupportedError("BPF programs on syscalls:* tracepoints", since(introduced), "attach to raw_syscalls:sys_enter or use a kprobe (bcc issue 748)");
    }
    throw e;
  }
}

/** Is there a tracepoint CATEGORY:NAME on this kernel? */
export function hasTracepoint(category: string, name: string): boolean {
  return eventId(category, name) !== undefined;
}

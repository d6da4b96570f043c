// kprobes and kretprobes through tracefs kprobe_events: the path that works from 4.9 on.
// The event gets a name bpfload owns (group `bpfload`, pid and sequence in the name), it is removed
// on every way out, and nothing else in kprobe_events is touched.
import { readFileSync } from "node:fs";
import { EVENT_GROUP, formatAttachSpec, probeEventName, type AttachSpec } from "../attach-spec.ts";
import { SyscallError, SystemError, errnoName } from "../errors.ts";
import { hintFor } from "../hints.ts";
import { kernelVersionCode } from "../uapi.ts";
import { attachToTraceEvent, type PerfEventLink } from "./perf-link.ts";
import { kernelVersion, type Program } from "./program.ts";
import { sweepStaleEvents } from "./sweep.ts";
import { TracefsWriteError, appendControl, eventId, hasControl } from "./tracefs.ts";

let sequence = 0;

/**
 * Names to try for a function the user wrote. A syscall written as the seed does (`sys_clone`) is
 * `sys_clone`/`SyS_clone` on 4.9, `__x64_sys_clone` on x86_64 from 4.17, `__arm64_sys_clone` on
 * arm64 from 4.19. The likeliest name for this kernel comes first, so the common case costs one
 * write and no read of /proc/kallsyms (≈45 ms).
 */
export function candidateSymbols(func: string, arch: string, kernel: number): string[] {
  const m = func.match(/^(?:sys|SyS)_(\w+)$/);
  if (!m) return [func];
  const base = m[1]!;
  const wrapped = arch === "arm64" ? `__arm64_sys_${base}` : `__x64_sys_${base}`;
  const wrappersFrom = arch === "arm64" ? kernelVersionCode(4, 19, 0) : kernelVersionCode(4, 17, 0);
  const plain = [func, `sys_${base}`, `SyS_${base}`].filter((s, i, all) => all.indexOf(s) === i);
  return kernel >= wrappersFrom ? [wrapped, ...plain] : [...plain, wrapped];
}

/** Is `name` a function in /proc/kallsyms? (undefined when kallsyms cannot be read) */
function inKallsyms(name: string): boolean | undefined {
  try {
    const syms = readFileSync("/proc/kallsyms", "latin1");
    return syms.includes(` ${name}\n`) || syms.includes(` ${name}\t`);
  } catch {
    return undefined;
  }
}

export interface KprobeLink extends PerfEventLink {}

export interface KprobeAttachInfo {
  /** The kernel symbol actually probed (differs from what the user wrote for syscalls). */
  symbol: string;
  event: string;
}

export function attachKprobe(prog: Program, spec: AttachSpec & { kind: "kprobe" | "kretprobe" }, info?: (i: KprobeAttachInfo) => void): PerfEventLink {
  const target = formatAttachSpec(spec);
  if (!hasControl("kprobe_events")) {
    throw new SystemError(
      `attach '${prog.name}' to ${target}: this kernel has no kprobes (no kprobe_events in tracefs: built without CONFIG_KPROBES or CONFIG_KPROBE_EVENTS): attach to a tracepoint instead, e.g. --attach tracepoint:syscalls:sys_enter_clone`,
    );
  }
  if (sequence === 0) sweepStaleEvents(); // leftovers of SIGKILLed runs, before adding ours
  const pid = process.pid;
  const event = probeEventName(pid, sequence++, spec.func);
  const probe = spec.kind === "kprobe" ? "p" : `r${spec.maxactive ?? ""}`;
  const where = (sym: string) => (spec.kind === "kprobe" && spec.offset ? `${sym}+${spec.offset}` : sym);

  let lastError: TracefsWriteError | undefined;
  let symbol: string | undefined;
  for (const candidate of candidateSymbols(spec.func, process.arch, kernelVersion().code)) {
    try {
      appendControl("kprobe_events", `${probe}:${EVENT_GROUP}/${event} ${where(candidate)}`);
      symbol = candidate;
      break;
    } catch (e) {
      if (!(e instanceof TracefsWriteError)) throw e;
      lastError = e;
    }
  }
  if (!symbol) {
    const known = candidateSymbols(spec.func, process.arch, kernelVersion().code).some((s) => inKallsyms(s));
    const errno = lastError?.errno ?? 22;
    const hint = known === false
      ? `unknown kernel function '${spec.func}': it is not in /proc/kallsyms`
      : hintFor("kprobe_events", errnoName(errno), { euid: process.geteuid?.() ?? 0 });
    throw new SyscallError(`attach '${prog.name}' to ${target}`, "kprobe_events", errno, `${hint}${lastError ? ` [${lastError.detail}]` : ""}`);
  }

  let removed = false;
  const remove = () => {
    if (removed) return;
    removed = true;
    appendControl("kprobe_events", `-:${EVENT_GROUP}/${event}`);
  };
  const id = eventId(EVENT_GROUP, event);
  if (id === undefined) {
    remove();
    throw new SystemError(`attach '${prog.name}' to ${target}: the probe was created but events/${EVENT_GROUP}/${event}/id cannot be read`);
  }
  info?.({ symbol, event });
  return attachToTraceEvent(prog, id, target, {}, remove);
}

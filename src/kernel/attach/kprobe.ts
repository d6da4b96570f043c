// kprobes and kretprobes, two ways: the perf kprobe PMU (4.17+; nothing left behind by a crash)
// and tracefs kprobe_events (every kernel from 4.9; needed for kretprobe maxactive).
import { formatAttachSpec, isGlob, type AttachSpec } from "../../attach-spec.ts";
import { SyscallError, SystemError, errnoName, ERRNO, opt, optionText } from "../../errors.ts";
import { hintFor } from "../../hints.ts";
import { perfEventOpen } from "../../sys/perf.ts";
import { kernelVersionCode } from "../../uapi.ts";
import { attachKprobeGlob, readFilterFunctions, readKernelText } from "./kprobe-multi.ts";
import { requireFeature } from "../features/probes.ts";
import { describeCandidates, kprobeCandidates, parseFilterFunctions, parseKallsyms } from "./kprobe-doctor.ts";
import { attachToPerfFd, type Link, type PerfEventLink } from "./perf-link.ts";
import { chooseProbeApi, type ProbeApi } from "./probe-pmu.ts";
import { kernelVersion, type Program } from "../program.ts";
import { TracefsCommand } from "../tracefs/command.ts";
import { TracefsWriteError, hasControl } from "../tracefs/tracefs.ts";
import { attachProbeEvent, createProbeEvent } from "../tracefs/probe-events.ts";

/**
 * Names to try for a function the user wrote. A syscall written as the seed does (`sys_clone`) is
 * `sys_clone`/`SyS_clone` on 4.9, `__x64_sys_clone` on x86_64 from 4.17, `__arm64_sys_clone` on
 * arm64 from 4.19. The likeliest name for this kernel comes first, so the common case costs one
 * attempt and no read of /proc/kallsyms (≈45 ms).
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

/**
 * The kprobe doctor's answer for a function that could not be probed: the names this kernel has
 * for it (kallsyms, available_filter_functions), or undefined when kallsyms cannot be read.
 */
export function doctorFor(func: string): string | undefined {
  const syms = readKernelText("/proc/kallsyms");
  if (syms === undefined) return undefined;
  const filter = readFilterFunctions();
  const candidates = kprobeCandidates(func, parseKallsyms(syms), filter === undefined ? undefined : parseFilterFunctions(filter), process.arch);
  return describeCandidates(func, candidates);
}

export interface KprobeAttachInfo {
  /** The kernel symbol actually probed (differs from what the user wrote for syscalls). */
  symbol: string;
  /** tracefs event name, or "pmu". */
  event: string;
  api: ProbeApi;
}

export interface KprobeOptions {
  api?: ProbeApi;
  /** kretprobe instances (tracefs only, 4.12+). */
  maxactive?: number;
  onInfo?: (i: KprobeAttachInfo) => void;
}

type KSpec = AttachSpec & { kind: "kprobe" | "kretprobe" | "ksyscall" | "kretsyscall" };

/** libbpf's ksyscall/NAME: a kprobe on the syscall's symbol, `sys_NAME` resolved as the seed's sys_clone is. */
function asKprobe(spec: KSpec): AttachSpec & { kind: "kprobe" | "kretprobe" } {
  if (spec.kind === "ksyscall") return { kind: "kprobe", func: `sys_${spec.name}`, offset: 0 };
  if (spec.kind === "kretsyscall") return { kind: "kretprobe", func: `sys_${spec.name}` };
  return spec as AttachSpec & { kind: "kprobe" | "kretprobe" };
}

export function attachKprobe(prog: Program, given: KSpec, opts: KprobeOptions = {}): PerfEventLink | Link {
  const target = formatAttachSpec(given);
  const spec = asKprobe(given);
  // the functions of a glob are named by the glob's link, not one by one
  if (isGlob(spec.func)) return attachKprobeGlob(prog, spec, (one) => attachKprobe(prog, one, { ...opts, onInfo: undefined }));
  if (opts.maxactive !== undefined) requireFeature("kretprobeMaxactive", "kretprobe maxactive", optionText`leave out ${opt("maxactive")}`);
  const { api, pmu } = chooseProbeApi("kprobe", opts.api, opts.maxactive !== undefined);
  if (api === "tracefs" && !hasControl("kprobe_events")) {
    throw new SystemError(
      optionText`attach '${prog.name}' to ${target}: this kernel has no kprobes (no kprobe PMU, no kprobe_events in tracefs: built without CONFIG_KPROBES or CONFIG_KPROBE_EVENTS): attach to a tracepoint instead, e.g. ${opt("attach", "tracepoint:syscalls:sys_enter_clone", "the attach point tracepoint:syscalls:sys_enter_clone")}`,
    );
  }
  const offset = spec.kind === "kprobe" ? spec.offset : 0;
  const candidates = candidateSymbols(spec.func, process.arch, kernelVersion().code);
  // a ksyscall's target says which symbol it is on this kernel
  const shown = (symbol: string) => (given.kind === "ksyscall" || given.kind === "kretsyscall" ? `${target} (${symbol})` : target);
  let lastErrno = 22;
  let lastDetail = "";
  for (const symbol of candidates) {
    if (api === "pmu") {
      const open = perfEventOpen({
        type: pmu!.type,
        config: spec.kind === "kretprobe" ? 1n << BigInt(pmu!.retprobeBit) : 0n,
        config1String: symbol,
        config2: offset,
        samplePeriod: 1,
        wakeupEvents: 1,
      });
      if (open.ret >= 0) {
        opts.onInfo?.({ symbol, event: "pmu", api });
        return attachToPerfFd(prog, open.ret, shown(symbol), {});
      }
      lastErrno = open.errno;
    } else {
      try {
        const probe = spec.kind === "kprobe" ? "p" : `r${opts.maxactive ?? ""}`;
        const created = createProbeEvent(spec.func, (event) => TracefsCommand.kprobe(probe, event, symbol, offset));
        opts.onInfo?.({ symbol, event: created.event, api });
        return attachProbeEvent(prog, created, shown(symbol));
      } catch (e) {
        if (!(e instanceof TracefsWriteError)) throw e;
        lastErrno = e.errno;
        lastDetail = ` [${e.detail}]`;
      }
    }
  }
  const call = api === "pmu" ? "perf_event_open(kprobe PMU)" : "kprobe_events";
  // ENOENT/EINVAL: no such probe point (a name this kernel does not have, or cannot probe);
  // EADDRNOTAVAIL (6.7+): the name is not unique. The doctor says which names the kernel has.
  const doctor = lastErrno === ERRNO.ENOENT || lastErrno === ERRNO.EINVAL || lastErrno === ERRNO.EADDRNOTAVAIL ? doctorFor(spec.func) : undefined;
  const hint = doctor ?? hintFor("kprobe_events", errnoName(lastErrno), { euid: process.geteuid?.() ?? 0 }) ?? "the kernel refused the probe";
  throw new SyscallError(`attach '${prog.name}' to ${target}`, call, lastErrno, optionText`${hint}${lastDetail}`);
}

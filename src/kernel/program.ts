// Loading a program. The fast path loads without a verifier log; only when that fails is the
// program loaded again with a log, growing the buffer on ENOSPC up to the kernel's limit (6.4+:
// straight to the size the kernel reports), so the user always sees the whole log (a 4.9 log of a
// 200-instruction program exceeds 64 KiB). Each load is a full verification (loop3 of the
// selftests: ~1 s each), so nothing is loaded twice for a reason known in advance.
import { InvalidArgumentError, NotSupportedError, SyscallError, VerifierError, errnoName, ERRNO, opt, optionText, type OptionText } from "../errors.ts";
import { PROG_TYPE_SINCE, newerThan, since } from "../since.ts";
import { hintFor } from "../hints.ts";
import { bpfProgGetInfo, bpfProgLoad, type ProgLoadResult } from "../sys/bpf.ts";
import { BPF_PROG_INFO, field } from "../sys/layout.ts";
import { close } from "../sys/fd.ts";
import { raiseMemlockLimit } from "../sys/process.ts";
import { ATTACH_TYPES, PROG_TYPES, formatVersionCode, type ProgTypeName } from "../uapi.ts";
import { resolveBtfTarget, type ResolvedTarget } from "./btf/attach-target.ts";
import { hasFeature, setFeatureAnswer } from "./features/probes.ts";
import { processPolicy } from "./policy.ts";
import { detectKernelVersion, type KernelVersion } from "./features/version.ts";

export interface ProgramSpecToLoad {
  /** Shown in errors; also the kernel-side name where the kernel supports names (4.15+). */
  name: string;
  type: ProgTypeName;
  insns: Uint8Array;
  license?: string;
  /** Defaults to the detected LINUX_VERSION_CODE. */
  kernVersion?: KernelVersion;
  /** Force a verifier log at this level even when the load succeeds (1, 2, or 4 for stats). */
  logLevel?: number;
  expectedAttachType?: number;
  /** prog_flags: BPF_F_SLEEPABLE (fentry.s/lsm.s/iter.s), BPF_F_XDP_HAS_FRAGS (from the section name). */
  progFlags?: number;
  /**
   * The kernel BTF type a tracing/lsm program is loaded against, prefixed as libbpf does
   * ("btf_trace_sched_switch", "bpf_lsm_file_open", "bpf_iter_task", "do_unlinkat"): resolved to
   * attach_btf_id (and a module's attach_btf_obj_fd) in kernel/btf/attach-target.ts.
   */
  btfTarget?: string;
  /** Already resolved: sent as is (freplace: with attachProgFd, an id of the target program's BTF). */
  attachBtfId?: number;
  attachProgFd?: number;
  /** The object's BTF and this program's func_info / line_info (encoded, insn offsets of the linked program). */
  btf?: ProgramBtf;
  /** Told what was decided on the program's behalf (BTF dropped): for --verbose. */
  note?: (text: string) => void;
  /** Adds what the kernel could not print itself (source lines before 5.0) to a rejection's log. */
  annotateLog?: (log: string) => string;
  /** fd_array (5.14+): module BTF fds that kfunc calls name by index (insn.off); sent only with more than the unused slot 0. */
  fdArray?: number[];
}

export interface ProgramBtf {
  fd: number;
  funcInfo?: Uint8Array;
  lineInfo?: Uint8Array;
  /** Why the program cannot load without func_info (callbacks, global functions): then BTF is never dropped. */
  required?: string;
}

/** Did the kernel refuse the BTF part of the load (func_info/line_info), not the program? */
function btfRefused(r: ProgLoadResult): boolean {
  // E2BIG before any verification (no log): a bpf_attr too short for the BTF fields; with a log it
  // is the verifier's "too large", which the BTF did not cause
  if (r.errno === ERRNO.E2BIG) return r.log.trim() === "";
  return /func_info|line_info|func info|line info|btf_id|\bBTF\b/i.test(r.log.trim().split("\n").slice(-3).join("\n"));
}

export class Program {
  constructor(
    readonly fd: number,
    readonly name: string,
    readonly type: ProgTypeName,
    readonly kernVersion: KernelVersion,
    /** Verifier log, when one was asked for. */
    readonly log: string,
  ) {}

  /** The kernel BTF type it was loaded against (attach_btf_id), for --verbose. */
  attachBtf?: { id: number; module?: string; name?: string };

  close(): void {
    if (this.fd >= 0) close(this.fd);
    (this as { fd: number }).fd = -1;
  }

  /**
   * What the verifier reported: instructions it verified (bpf_prog_info.verified_insns, 5.16+; 0
   * before), and from the log when there is one: "processed N insns", peak states, verification time.
   */
  verifierStats(): VerifierStats {
    const out: VerifierStats = {};
    const r = bpfProgGetInfo(this.fd);
    if (r.ret >= 0) {
      const v = r.info.getUint32(field(BPF_PROG_INFO, "verified_insns").offset, true);
      if (v > 0) out.verifiedInsns = v;
    }
    return { ...out, ...logStats(this.log) };
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

export interface VerifierStats {
  verifiedInsns?: number;
  processedInsns?: number;
  peakStates?: number;
  totalStates?: number;
  verificationTimeUsec?: number;
}

/** The verifier's summary lines of a log ("processed 22 insns (limit 1000000) ... peak_states 2", "verification time 31 usec"). */
export function logStats(log: string): VerifierStats {
  const out: VerifierStats = {};
  const p = /^processed (\d+) insns.*$/m.exec(log);
  if (p) {
    out.processedInsns = Number(p[1]);
    const total = /total_states (\d+)/.exec(p[0]);
    const peak = /peak_states (\d+)/.exec(p[0]);
    if (total) out.totalStates = Number(total[1]);
    if (peak) out.peakStates = Number(peak[1]);
  }
  const t = /^verification time (\d+) usec/m.exec(log);
  if (t) out.verificationTimeUsec = Number(t[1]);
  return out;
}

let runningKernel: KernelVersion | undefined;

/** LINUX_VERSION_CODE of the running kernel (detected once per process). */
export function kernelVersion(): KernelVersion {
  return (runningKernel ??= detectKernelVersion());
}

let memlockRaised = false;

/**
 * Kernels before 5.11 charge programs and maps to RLIMIT_MEMLOCK (64 KiB on older distributions):
 * raise it once, before the first program or map is created. Best effort: without CAP_SYS_RESOURCE
 * the soft limit goes up to the hard one. Only after `setup({ memlock: true })` (kernel/policy.ts).
 */
export function ensureMemlockLimit(): void {
  if (memlockRaised || !processPolicy.memlock) return; // only when the process owner asked (setup())
  raiseMemlockLimit();
  memlockRaised = true;
}
const FIRST_LOG_SIZE = 256 * 1024;
const { ENFILE, EMFILE, ENOSPC } = ERRNO;

/** The largest log buffer the kernel accepts: UINT_MAX >> 8 before 5.2, UINT_MAX >> 2 after (probed). */
function logSizeCap(): number {
  return hasFeature("bigVerifierLog") ? 0x3fffffff : 0xffffff;
}

// The verifier gives up with EAGAIN when a signal is pending (need_resched/fatal signal checks in
// long verifications): libbpf tries such a load up to 5 times, and so do we.
const PROG_LOAD_ATTEMPTS = 5;
function retryEagain(load: () => ProgLoadResult): ProgLoadResult {
  let r = load();
  for (let i = 1; i < PROG_LOAD_ATTEMPTS && r.ret < 0 && r.errno === ERRNO.EAGAIN; i++) r = load();
  return r;
}

/**
 * Every BPF_PROG_LOAD of this module goes through `load`: tests wrap it to count verifications
 * (or replace it with a fake kernel). Not for other uses.
 */
export const progLoadSeam = { load: bpfProgLoad };

/** Does this kernel take program and map names (4.15+)? Probed once per process (features/). */
export function objectNamesSupported(): boolean {
  return hasFeature("programNames") !== false;
}

/** Forgets the probed load features (tests that swap progLoadSeam for a fake kernel). */
export function resetLoadFeatures(): void {
  for (const id of ["programNames", "logTrueSize", "bigVerifierLog"] as const) setFeatureAnswer(id, undefined);
}

/** Program types that load only with a BTF attach target (attach_btf_id), and how it is named. */
const NEEDS_BTF_TARGET: Partial<Record<ProgTypeName, string | OptionText>> = {
  tracing: optionText`name the kernel function, BTF tracepoint or iterator in the section (fentry/FUNC, tp_btf/NAME, iter/TARGET) or with ${opt("attach", "fentry:FUNC, tp_btf:NAME, iter:TARGET", "the attach point fentry:FUNC, tp_btf:NAME, iter:TARGET")}`,
  lsm: optionText`name the LSM hook in the section (lsm/HOOK) or with ${opt("attach", "lsm:HOOK", "the attach point lsm:HOOK")}`,
  ext: optionText`freplace (ext) programs replace a function of another loaded program: load it from an object (section freplace/FUNC) with ${opt("freplaceTarget", "PROG_ID|PIN_PATH:FUNC")}`,
  struct_ops: "struct_ops programs implement a member of a kernel struct: load them from an object whose SEC(\".struct_ops\") variable points a member at them",
};

/** attach_btf_id (and a module's BTF fd) for a program that needs one; undefined for the others. */
function btfTargetOf(spec: ProgramSpecToLoad): ResolvedTarget | undefined {
  const how = NEEDS_BTF_TARGET[spec.type];
  if (!how) return undefined;
  if (spec.attachBtfId !== undefined) return { btfId: spec.attachBtfId };
  if ((spec.type !== "tracing" && spec.type !== "lsm") || spec.btfTarget === undefined) {
    // The kernel would refuse it in the verifier ("Tracing programs must provide btf_id"): say why first.
    throw new InvalidArgumentError(spec.type === "ext" ? "freplaceTarget" : "attach", optionText`load program '${spec.name}': program type ${spec.type} needs a BTF target (attach_btf_id): ${how}`);
  }
  const attachType = spec.expectedAttachType !== undefined ? ATTACH_TYPES[spec.expectedAttachType] : undefined;
  if (spec.type === "tracing" && attachType === undefined) {
    throw new InvalidArgumentError("attach", optionText`load program '${spec.name}': a tracing program needs its expected attach type (fentry, fexit, fmod_ret, tp_btf or iter): ${how}`);
  }
  return resolveBtfTarget(spec.btfTarget, attachType ?? "BPF_LSM_MAC");
}

/** Program types the kernel loads only with an expected_attach_type (bpf_prog_load_check_attach). */
const ATTACH_TYPE_REQUIRED = new Set<ProgTypeName>(["cgroup_sock_addr", "cgroup_sockopt", "sk_lookup", "netfilter"]);

/** Kernel program names: [A-Za-z0-9_] and at most 15 characters (dots only from 5.2: avoided). */
export function kernelObjectName(name: string): string {
  return name.replace(/[^A-Za-z0-9_]/g, "_").slice(0, 15);
}

export function loadProgram(spec: ProgramSpecToLoad): Program {
  const target = btfTargetOf(spec);
  try {
    return loadWithTarget(spec, target);
  } finally {
    if (target?.btfObjFd !== undefined) close(target.btfObjFd); // the program holds its own reference
  }
}

function loadWithTarget(spec: ProgramSpecToLoad, target: ResolvedTarget | undefined): Program {
  ensureMemlockLimit();
  const kernVersion = spec.kernVersion ?? kernelVersion();
  const progType = PROG_TYPES.indexOf(spec.type);
  const names = objectNamesSupported();
  let btf = spec.btf;
  const attempt = (logLevel: number, logSize: number): ProgLoadResult =>
    retryEagain(() => loadOnce(logLevel, logSize));
  const loadOnce = (logLevel: number, logSize: number): ProgLoadResult =>
    progLoadSeam.load({
      progType,
      insns: spec.insns,
      license: spec.license ?? "GPL",
      kernVersion: kernVersion.code,
      logLevel,
      logSize,
      name: names ? kernelObjectName(spec.name) : undefined,
      expectedAttachType: spec.expectedAttachType,
      progFlags: spec.progFlags,
      attachBtfId: target?.btfId,
      attachBtfObjFd: target?.btfObjFd,
      attachProgFd: spec.attachProgFd,
      fdArray: spec.fdArray && spec.fdArray.length > 1 ? spec.fdArray : undefined,
      ...(btf ? { progBtfFd: btf.fd, funcInfo: btf.funcInfo, funcInfoRecSize: 8, lineInfo: btf.lineInfo, lineInfoRecSize: 16 } : {}),
      // probed only when a log is wanted: the one-shot fast path loads without one
      askLogTrueSize: logSize > 0 && hasFeature("logTrueSize") === true,
    });

  let r = spec.logLevel ? withGrowingLog(attempt, spec.logLevel) : attempt(0, 0);
  // Only a failure the verifier can explain is worth a second verification with a log: running
  // out of fds happens after the verifier accepted the program.
  if (r.ret < 0 && !spec.logLevel && r.errno !== EMFILE && r.errno !== ENFILE) r = withGrowingLog(attempt, 1);
  if (r.ret < 0 && btf && !btf.required && btfRefused(r)) {
    // the program does not need its BTF: load it without, as libbpf does
    const why = r.log.trim().split("\n").pop()?.trim() || errnoName(r.errno);
    btf = undefined;
    const again = spec.logLevel ? withGrowingLog(attempt, spec.logLevel) : attempt(0, 0);
    if (again.ret >= 0) {
      spec.note?.(`program '${spec.name}' loaded without BTF: the kernel refused its func_info/line_info (${why})`);
      r = again;
    } else if (!spec.logLevel) r = withGrowingLog(attempt, 1);
    else r = again;
  }
  if (r.ret >= 0) {
    const prog = new Program(r.ret, spec.name, spec.type, kernVersion, spec.logLevel ? r.log : "");
    if (target) prog.attachBtf = { id: target.btfId, module: target.module, name: spec.btfTarget };
    return prog;
  }

  const what = `load program '${spec.name}'`;
  const ctx = {
    euid: process.geteuid?.() ?? 0,
    kernel: kernelVersion().code,
    progType: spec.type,
    kernVersion,
    logEmpty: r.log.trim() === "",
    attachTypeMissing: spec.expectedAttachType === undefined && ATTACH_TYPE_REQUIRED.has(spec.type),
    verifierPassed: /^processed \d+ insns/m.test(r.log) && r.log.trim().split("\n").every((l) => /^(processed|verification time|stack depth|func#|\s*$)/.test(l)),
  };
  const introduced = PROG_TYPE_SINCE[spec.type];
  if (r.errno === ERRNO.EINVAL && ctx.logEmpty && introduced && newerThan(introduced, ctx.kernel)) {
    throw new NotSupportedError(`program type ${spec.type}`, since(introduced), `${what} (this kernel is ${formatVersionCode(ctx.kernel)})`);
  }
  const hint = (r.errno === ERRNO.EPERM && trampolineRefused(spec, ctx.euid)) || hintFor("BPF_PROG_LOAD", errnoName(r.errno), ctx);
  if (r.log.trim() !== "" && !ctx.verifierPassed && r.errno !== ERRNO.EPERM /* about privileges, not the program */) {
    throw new VerifierError(what, r.errno, spec.annotateLog ? spec.annotateLog(r.log) : r.log, hint);
  }
  throw new SyscallError(what, "BPF_PROG_LOAD", r.errno, hint);
}

/** Attach types whose programs run through a BPF trampoline (the others of tracing/lsm do not). */
const TRAMPOLINE_ATTACH_TYPES = new Set(["BPF_TRACE_FENTRY", "BPF_TRACE_FEXIT", "BPF_MODIFY_RETURN", "BPF_LSM_MAC"]);

/**
 * EPERM for root on a trampoline program while this kernel loads other programs (the raw
 * tracepoint probe): not missing privileges, as the generic hint would say, but a policy on
 * trampolines (lockdown or a security module; libbpf is refused the same).
 */
function trampolineRefused(spec: ProgramSpecToLoad, euid: number): string | undefined {
  const attachType = spec.expectedAttachType !== undefined ? ATTACH_TYPES[spec.expectedAttachType] : undefined;
  // freplace (ext) programs run through a trampoline too
  const trampoline = spec.type === "ext" || ((spec.type === "tracing" || spec.type === "lsm") && TRAMPOLINE_ATTACH_TYPES.has(attachType ?? ""));
  if (euid !== 0 || !trampoline) return undefined;
  if (hasFeature("rawTracepoints") !== true) return undefined;
  const kinds = spec.type === "ext" ? "freplace" : "fentry/fexit/fmod_ret/lsm";
  return `this kernel loads other BPF programs for root but refuses ${kinds} ones, which run through BPF trampolines: kernel lockdown or a security module likely forbids them here; a tp_btf, raw_tracepoint or tracepoint program needs no trampoline`;
}

/**
 * Loads with a log, growing the buffer on ENOSPC up to the kernel's cap. 6.4+ reports the size it
 * needed (log_true_size): one more load with exactly that. Older kernels: guesses, 4x each time.
 */
function withGrowingLog(attempt: (level: number, size: number) => ProgLoadResult, level: number): ProgLoadResult {
  const cap = logSizeCap();
  let size = FIRST_LOG_SIZE;
  for (;;) {
    const r = attempt(level, size);
    if (r.errno !== ENOSPC || size >= cap) return r;
    size = Math.min(cap, r.logTrueSize > size ? r.logTrueSize : size * 4);
  }
}

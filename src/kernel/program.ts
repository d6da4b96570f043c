// Loading a program. The fast path loads without a verifier log; only when that fails is the
// program loaded again with a log, growing the buffer on ENOSPC up to the kernel's limit (6.4+:
// straight to the size the kernel reports), so the user always sees the whole log (a 4.9 log of a
// 200-instruction program exceeds 64 KiB). Each load is a full verification (loop3 of the
// selftests: ~1 s each), so nothing is loaded twice for a reason known in advance.
import { NotSupportedError, SyscallError, UsageError, VerifierError, errnoName } from "../errors.ts";
import { PROG_TYPE_SINCE, newerThan, since } from "../since.ts";
import { hintFor } from "../hints.ts";
import { bpfProgLoad, type ProgLoadResult } from "../sys/bpf.ts";
import { close, raiseMemlockLimit } from "../sys/perf.ts";
import { PROG_TYPES, formatVersionCode, kernelVersionCode, type ProgTypeName } from "../uapi.ts";
import { detectKernelVersion, type KernelVersion } from "./version.ts";

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

  close(): void {
    if (this.fd >= 0) close(this.fd);
    (this as { fd: number }).fd = -1;
  }

  [Symbol.dispose](): void {
    this.close();
  }
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
 * the soft limit goes up to the hard one.
 */
export function ensureMemlockLimit(): void {
  if (memlockRaised) return;
  raiseMemlockLimit();
  memlockRaised = true;
}
const FIRST_LOG_SIZE = 256 * 1024;
const ENFILE = 23;
const EMFILE = 24;
const ENOSPC = 28;

/** The largest log buffer the kernel accepts: UINT_MAX >> 8 before 5.2, UINT_MAX >> 2 after. */
function logSizeCap(): number {
  return kernelVersion().code < kernelVersionCode(5, 2, 0) ? 0xffffff : 0x3fffffff;
}

/**
 * Every BPF_PROG_LOAD of this module goes through `load`: tests wrap it to count verifications
 * (or replace it with a fake kernel). Not for other uses.
 */
export const progLoadSeam = { load: bpfProgLoad };

/** r0 = 0; exit */
const RETURN_0 = new Uint8Array([0xb7, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0]);

interface LoadFeatures {
  /** Program and map names (4.15+). */
  names: boolean;
  /** The kernel reports the log size it needed in log_true_size (6.4+). */
  logTrueSize: boolean;
}

let loadFeatures: LoadFeatures | undefined;

/**
 * What BPF_PROG_LOAD accepts, found once per process by loading a 2-instruction socket filter
 * (libbpf does the same), so that a real program is never loaded twice for a reason known in
 * advance. One load with a name, a log and the attr up to log_true_size: it loads on 4.15+, and
 * log_true_size comes back non-zero on 6.4+ (older kernels ignore the zero bytes past their attr).
 * Refused: a kernel before 4.15 (the name lies past its attr), confirmed by a load without both.
 */
function probeLoadFeatures(): LoadFeatures {
  if (loadFeatures) return loadFeatures;
  const tiny = { progType: PROG_TYPES.indexOf("socket_filter"), insns: RETURN_0, license: "GPL", kernVersion: kernelVersion().code, logLevel: 1, logSize: 4096 };
  const named = progLoadSeam.load({ ...tiny, name: "bpfload_probe", askLogTrueSize: true });
  if (named.ret >= 0) {
    close(named.ret);
    return (loadFeatures = { names: true, logTrueSize: named.logTrueSize > 0 });
  }
  const plain = progLoadSeam.load(tiny);
  if (plain.ret >= 0) close(plain.ret);
  // Both refused (no privileges, no bpf()): nothing learnt; the real load gives the reason.
  return (loadFeatures = { names: plain.ret < 0, logTrueSize: false });
}

/** Does this kernel take program and map names (4.15+)? Probed once per process. */
export function objectNamesSupported(): boolean {
  return probeLoadFeatures().names;
}

/** Forgets the probed features (tests that swap progLoadSeam for a fake kernel). */
export function resetLoadFeatures(): void {
  loadFeatures = undefined;
}

/** Program types that load only with a BTF attach target (attach_btf_id), which bpfload does not resolve. */
const NEEDS_BTF_TARGET: Partial<Record<ProgTypeName, string>> = {
  tracing: "fentry/fexit/fmod_ret, tp_btf and iter programs name a kernel function, tracepoint or iterator",
  lsm: "lsm programs name an LSM hook",
  ext: "freplace (ext) programs name a function of another loaded program",
  struct_ops: "struct_ops programs name a member of a kernel struct",
};

/** Kernel program names: [A-Za-z0-9_] and at most 15 characters (dots only from 5.2: avoided). */
export function kernelObjectName(name: string): string {
  return name.replace(/[^A-Za-z0-9_]/g, "_").slice(0, 15);
}

export function loadProgram(spec: ProgramSpecToLoad): Program {
  const btfTarget = NEEDS_BTF_TARGET[spec.type];
  if (btfTarget) {
    // The kernel would refuse it in the verifier ("Tracing programs must provide btf_id"): say why first.
    throw new UsageError(
      `load program '${spec.name}': program type ${spec.type} needs a BTF target (attach_btf_id: ${btfTarget} in the kernel's BTF), which bpfload does not resolve yet: load it with libbpf (bpftool prog load), or use a kprobe, tracepoint or raw_tracepoint program`,
    );
  }
  ensureMemlockLimit();
  const kernVersion = spec.kernVersion ?? kernelVersion();
  const progType = PROG_TYPES.indexOf(spec.type);
  const features = probeLoadFeatures();
  const attempt = (logLevel: number, logSize: number): ProgLoadResult =>
    progLoadSeam.load({
      progType,
      insns: spec.insns,
      license: spec.license ?? "GPL",
      kernVersion: kernVersion.code,
      logLevel,
      logSize,
      name: features.names ? kernelObjectName(spec.name) : undefined,
      expectedAttachType: spec.expectedAttachType,
      askLogTrueSize: logSize > 0 && features.logTrueSize,
    });

  let r = spec.logLevel ? withGrowingLog(attempt, spec.logLevel) : attempt(0, 0);
  // Only a failure the verifier can explain is worth a second verification with a log: running
  // out of fds happens after the verifier accepted the program.
  if (r.ret < 0 && !spec.logLevel && r.errno !== EMFILE && r.errno !== ENFILE) r = withGrowingLog(attempt, 1);
  if (r.ret >= 0) return new Program(r.ret, spec.name, spec.type, kernVersion, spec.logLevel ? r.log : "");

  const what = `load program '${spec.name}'`;
  const ctx = {
    euid: process.geteuid?.() ?? 0,
    kernel: kernelVersion().code,
    progType: spec.type,
    kernVersion,
    logEmpty: r.log.trim() === "",
    verifierPassed: /^processed \d+ insns/m.test(r.log) && r.log.trim().split("\n").every((l) => /^(processed|verification time|stack depth|func#|\s*$)/.test(l)),
  };
  const introduced = PROG_TYPE_SINCE[spec.type];
  if (r.errno === 22 && ctx.logEmpty && introduced && newerThan(introduced, ctx.kernel)) {
    throw new NotSupportedError(`program type ${spec.type}`, since(introduced), `${what} (this kernel is ${formatVersionCode(ctx.kernel)})`);
  }
  const hint = hintFor("BPF_PROG_LOAD", errnoName(r.errno), ctx);
  if (r.log.trim() !== "" && !ctx.verifierPassed && r.errno !== 1 /* EPERM is about privileges, not the program */) {
    throw new VerifierError(what, r.errno, r.log, hint);
  }
  throw new SyscallError(what, "BPF_PROG_LOAD", r.errno, hint);
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

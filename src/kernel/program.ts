// Loading a program. The fast path loads without a verifier log; only when that fails is the
// program loaded again with a log, growing the buffer on ENOSPC up to the kernel's limit, so the
// user always sees the whole log (a 4.9 log of a 200-instruction program exceeds 64 KiB).
import { NotSupportedError, SyscallError, VerifierError, errnoName } from "../errors.ts";
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
/** Names are known from 4.15 on; the first refusal of a name turns them off for this process. */
let namesSupported = true;

const FIRST_LOG_SIZE = 256 * 1024;

/** The largest log buffer the kernel accepts: UINT_MAX >> 8 before 5.2, UINT_MAX >> 2 after. */
function logSizeCap(): number {
  return kernelVersion().code < kernelVersionCode(5, 2, 0) ? 0xffffff : 0x3fffffff;
}

/** Kernel program names: [A-Za-z0-9_] and at most 15 characters (dots only from 5.2: avoided). */
export function kernelObjectName(name: string): string {
  return name.replace(/[^A-Za-z0-9_]/g, "_").slice(0, 15);
}

export function loadProgram(spec: ProgramSpecToLoad): Program {
  ensureMemlockLimit();
  const kernVersion = spec.kernVersion ?? kernelVersion();
  const progType = PROG_TYPES.indexOf(spec.type);
  const attempt = (logLevel: number, logSize: number): ProgLoadResult => {
    const args = {
      progType,
      insns: spec.insns,
      license: spec.license ?? "GPL",
      kernVersion: kernVersion.code,
      logLevel,
      logSize,
      name: namesSupported ? kernelObjectName(spec.name) : undefined,
      expectedAttachType: spec.expectedAttachType,
    };
    let r = bpfProgLoad(args);
    // A kernel that predates program names refuses the attribute (E2BIG past its union, EINVAL inside).
    if (r.ret < 0 && args.name && (r.errno === 7 || (r.errno === 22 && !r.log))) {
      const retry = bpfProgLoad({ ...args, name: undefined });
      if (retry.ret >= 0 || retry.errno !== r.errno || retry.log) {
        namesSupported = retry.ret < 0 ? namesSupported : false;
        r = retry;
      }
    }
    return r;
  };

  let r = spec.logLevel ? withGrowingLog(attempt, spec.logLevel) : attempt(0, 0);
  if (r.ret < 0 && !spec.logLevel) r = withGrowingLog(attempt, 1);
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

function withGrowingLog(attempt: (level: number, size: number) => ProgLoadResult, level: number): ProgLoadResult {
  const cap = logSizeCap();
  let size = FIRST_LOG_SIZE;
  for (;;) {
    const r = attempt(level, size);
    const ENOSPC = 28;
    if (r.errno !== ENOSPC || size >= cap) return r;
    size = Math.min(cap, Math.max(size * 4, r.logTrueSize));
  }
}

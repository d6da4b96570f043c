// "bpfload/test": helpers for `bun test` files that use the kernel (cilium/ebpf's testutils, made
// public): tests that skip with the reason when they cannot run here, and fail when the kernel
// claims to lack a feature its version has; collecting what programs print while code runs; a
// leak check for fds, probe events and pins.
import { test } from "bun:test";
import { probeEventOwner, EVENT_GROUP } from "./attach-spec.ts";
import { BpfloadError, InvalidArgumentError, quote, SystemError } from "./errors.ts";
import type { FeatureId } from "./kernel/features/ids.ts";
import { cleanupMark, runCleanupSince } from "./kernel/cleanup.ts";
import { detectKernelVersion, type KernelVersion } from "./kernel/features/version.ts";
import { listProbeEvents, selfOwner } from "./kernel/tracefs/sweep.ts";
import { lazy, lazyFunction } from "./lib/lazy.ts";
import { trackLeaks, type LeakReport } from "./lib/leaks.ts";
import { Program } from "./lib/program.ts";
import { openTrace, type Reader } from "./lib/readers.ts";
import { bpfProgLoad } from "./sys/bpf.ts";
import { close } from "./sys/fd.ts";
import { readLink } from "./sys/paths.ts";
import { formatVersionCode } from "./uapi.ts";

// The feature probes (and the loader they use) load when a test names a `feature:` (lib/lazy.ts):
// a test file's import of "bpfload/test" stays cheap.
const features = lazy(() => require("./kernel/features/probes.ts") as typeof import("./kernel/features/probes.ts"));
const liveKernel = () => (require("./kernel/features/kernel.ts") as typeof import("./kernel/features/kernel.ts")).liveKernel;

/**
 * Makes `hasFeature(id)` (and so kernelTest's `feature:`) answer `answer` in this process instead
 * of probing; undefined probes again. For tests of code that depends on a feature, and for a fake
 * lying probe. Pure: no kernel needed (process-local).
 *
 *     setFeatureAnswer("bpfLink", false); // kernelTest("...", { feature: "bpfLink" }, fn) now fails on 5.7+
 */
export const setFeatureAnswer = lazyFunction(() => features().setFeatureAnswer);
/** One of FEATURE_IDS: what `kernelTest`'s `feature:` and `setFeatureAnswer` take. */
export type { FeatureId };

/** When a kernelTest runs, is skipped (with why) or fails; its leak check and timeout. */
export interface KernelTestOptions {
  /** Needs root and a bpf() that works (default true): skipped otherwise, with the reason. */
  root?: boolean;
  /** Skipped on older kernels: "5.8". */
  minKernel?: string;
  /** Kernel features (probed, not guessed from the version): skipped when absent, FAILS when absent although this kernel's version has it. */
  feature?: FeatureId | FeatureId[];
  /** Fail the test when it leaves a bpf fd, a probe event or a pin behind (default true). */
  leakCheck?: boolean;
  /** bun test's timeout for it (ms). */
  timeout?: number;
}

let rootReason: string | undefined | null = null;

/** Why kernel tests cannot run here (not root, bpf() refused), or undefined when they can. Probed once (loads and closes a two-instruction program). Minimum kernel: 4.9. */
export function privilegeSkipReason(): string | undefined {
  if (rootReason !== null) return rootReason;
  if (process.geteuid?.() !== 0) return (rootReason = `not root (euid ${process.geteuid?.()}): kernel tests need root or CAP_BPF+CAP_PERFMON (a privileged container)`);
  // r0 = 0; exit: the smallest program every kernel takes
  const insns = new Uint8Array([0xb7, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0]);
  const r = bpfProgLoad({ progType: 1, insns, license: "GPL", kernVersion: 0, logLevel: 0, logSize: 0 });
  if (r.ret < 0) return (rootReason = `bpf() is refused here (errno ${r.errno}): a container without --privileged (CAP_SYS_ADMIN or CAP_BPF)?`);
  close(r.ret);
  return (rootReason = undefined);
}

let running: KernelVersion | undefined;
/** The running kernel's version code, detected once (as the loader's kernelVersion(), without loading the loader). */
function runningKernel(): number {
  return (running ??= detectKernelVersion()).code;
}

function versionCode(v: string): number {
  const [a = 0, b = 0, c = 0] = v.split(".").map(Number);
  return (a << 16) + (b << 8) + Math.min(c, 255);
}

/** Options a test file got wrong fail where the test is declared, on every machine (not only where it would run). */
function checkOptions(opts: Omit<KernelTestOptions, "timeout" | "leakCheck">): void {
  if (opts.minKernel !== undefined && !/^\d+\.\d+(\.\d+)?$/.test(opts.minKernel)) throw new InvalidArgumentError("minKernel", `kernelTest: minKernel ${quote(String(opts.minKernel))} is not a version like "5.8"`);
  for (const id of [opts.feature ?? []].flat()) {
    const { FEATURES } = features();
    if (!Object.hasOwn(FEATURES, id)) throw new InvalidArgumentError("feature", `kernelTest: unknown feature ${quote(String(id))} (${Object.keys(FEATURES).join(", ")})`);
  }
}

/** What kernelTest decides for `opts` on this machine: run, skip (with why), or fail (with why). Exported for tests of it. Minimum kernel: 4.9 (probes as privilegeSkipReason and hasFeature do). */
export function kernelTestVerdict(opts: Omit<KernelTestOptions, "timeout" | "leakCheck">): { run: true } | { skip: string } | { fail: string } {
  checkOptions(opts);
  if (opts.root !== false) {
    const why = privilegeSkipReason();
    if (why) return { skip: why };
  }
  const running = runningKernel();
  if (opts.minKernel && running < versionCode(opts.minKernel)) return { skip: `needs Linux >= ${opts.minKernel}, this is ${formatVersionCode(running)}` };
  for (const id of [opts.feature ?? []].flat()) {
    const { FEATURES, featureSince, hasFeature } = features();
    const answer = hasFeature(id);
    if (answer !== false) continue;
    const since = featureSince(id);
    const configured = FEATURES[id].configured?.(liveKernel()) !== false;
    if (running >= versionCode(since) && configured) {
      return { fail: `the kernel probe says '${id}' (${FEATURES[id].since}) is missing, but Linux ${formatVersionCode(running)} should have it (since ${since}): a broken probe, or a kernel built or locked down without it` };
    }
    return { skip: `needs ${FEATURES[id].since} (Linux >= ${since}${configured ? "" : "; this kernel is built without what it needs"}), which this kernel lacks` };
  }
  return { run: true };
}

/**
 * A `bun test` test that needs the kernel. Skipped, with the reason in its name, when not root
 * (or bpf() is refused), the kernel is older than `minKernel`, or a `feature` is absent; it FAILS
 * when a feature is reported absent although the running kernel's version brought it (a broken
 * probe must not turn into a silently skipped test). Checks for leaks after `fn` (leakCheck).
 * Minimum kernel: 4.9 (the test's own needs: `minKernel`, `feature`).
 *
 *     kernelTest("counts execs", { minKernel: "5.8", feature: "bpfLink" }, async () => { ... });
 */
export function kernelTest(name: string, opts: KernelTestOptions, fn: () => void | Promise<unknown>): void {
  const verdict = kernelTestVerdict(opts);
  if ("skip" in verdict) {
    test.skip(`${name} (skipped: ${verdict.skip})`, () => {});
    return;
  }
  if ("fail" in verdict) {
    test(name, () => {
      throw new SystemError(verdict.fail);
    });
    return;
  }
  test(name, opts.leakCheck === false ? fn : () => checkLeaks(fn), opts.timeout);
}

/** The resources a leak check compares: bpf/perf fds of this process, its probe events, the pins on bpffs. */
export interface ResourceSnapshot {
  fds: Map<string, string>;
  probeEvents: string[];
  pins: string[];
}

const RESOURCE_FD = /^anon_inode:(\[?bpf|btf|\[perf_event\])|\/trace_pipe$/;

/**
 * A directory's entries ([] when it is not one). Bun.Glob, not node:fs: loading node:fs costs a
 * `bun test` file ~2.5 ms, and the snapshot runs before every kernel test, the first one included.
 */
function listDir(dir: string): string[] {
  try {
    return [...new Bun.Glob("*").scanSync({ cwd: dir, onlyFiles: false, dot: true, followSymlinks: false })];
  } catch {
    return [];
  }
}

function pinsUnder(dir: string, depth: number, out: string[]): void {
  for (const name of listDir(dir)) {
    const path = `${dir}/${name}`;
    const sub = listDir(path);
    if (sub.length && depth < 6) pinsUnder(path, depth + 1, out);
    else if (!sub.length) out.push(path);
  }
}

/** This process's bpf fds, probe events and the pins under /sys/fs/bpf, now. Reads /proc and tracefs only. Minimum kernel: 4.9. */
export function snapshotResources(): ResourceSnapshot {
  const fds = new Map<string, string>();
  for (const fd of listDir("/proc/self/fd")) {
    const target = readLink(`/proc/self/fd/${fd}`) ?? "";
    if (RESOURCE_FD.test(target)) fds.set(fd, target);
  }
  const me = selfOwner().pid;
  let probeEvents: string[] = [];
  try {
    probeEvents = listProbeEvents().filter((e) => e.group === EVENT_GROUP && probeEventOwner(e.event)?.pid === me).map((e) => `${e.group}/${e.event}`);
  } catch {
    // no tracefs here: no probe events either
  }
  const pins: string[] = [];
  pinsUnder("/sys/fs/bpf", 0, pins);
  return { fds, probeEvents, pins };
}

/** What `after` has that `before` had not, as lines ("fd 12 (anon_inode:bpf-map)"). Pure. */
export function newResources(before: ResourceSnapshot, after: ResourceSnapshot): string[] {
  const out: string[] = [];
  for (const [fd, target] of after.fds) if (before.fds.get(fd) !== target) out.push(`fd ${fd} (${target})`);
  for (const e of after.probeEvents) if (!before.probeEvents.includes(e)) out.push(`probe event ${e}`);
  for (const p of after.pins) if (!before.pins.includes(p)) out.push(`pin ${p}`);
  return out;
}

/** A test that left resources behind: `leaks` lists them (as newResources says them). Pure. */
export class LeakError extends BpfloadError {
  readonly exitCode = 1;
  readonly kind = "leak";
  constructor(readonly leaks: string[]) {
    super(`the test left ${leaks.length} resource${leaks.length === 1 ? "" : "s"} behind: ${leaks.join(", ")} (close them, or create them with \`using\`)`);
  }
}

/**
 * Runs `fn` and throws a LeakError if it left a bpf/perf fd, a probe event of this process or a
 * new pin under /sys/fs/bpf behind, or if the garbage-collection safety net had to close
 * something it created. (kernelTest does this by default.) Then the links the test left open are
 * detached and their probe events removed (bun test exits without 'exit' listeners, so nothing
 * else would). Pins made by other processes meanwhile count too: run kernel tests one file at a
 * time on a shared machine. Minimum kernel: 4.9.
 *
 *     test("closes what it opens", () => checkLeaks(async () => { using m = createMap({ ... }); }));
 */
export async function checkLeaks<T>(fn: () => T | Promise<T>): Promise<T> {
  const collected: LeakReport[] = [];
  const before = snapshotResources();
  const mark = cleanupMark();
  const previous = trackLeaks({ onLeak: (l) => collected.push(l) });
  let result: T;
  try {
    result = await fn();
  } finally {
    trackLeaks(previous);
  }
  const leaks = [...newResources(before, snapshotResources()), ...collected.map((l) => `${l.what} (closed by the garbage collector)`)];
  if (leaks.length) {
    // bun test exits without running 'exit' listeners: what the test left attached (probe events
    // in tracefs) is undone here, or it would outlive the run
    runCleanupSince(mark);
    throw new LeakError(leaks);
  }
  return result;
}

/** How long collect() keeps reading and how often it polls. */
export interface CollectOptions {
  /** How long to keep reading after `fn` returned, for what is still on its way (default 50 ms). */
  settleMs?: number;
  /** Milliseconds between reads while `fn` runs (default 5). */
  pollMs?: number;
}

/**
 * Runs `fn` and gives back what arrived meanwhile: the records of an EventReader, the lines of a
 * TraceReader, or, given a Program, the trace_pipe lines printed while `fn` ran (trace_pipe is
 * shared by every program: filter by `pid`). A reader passed in stays open; one opened here is closed.
 * Minimum kernel: 4.9 (ring buffers 5.8).
 *
 *     const lines = await collect(prog, async () => { await Bun.spawn(["/bin/true"]).exited; });
 *     expect(lines.some((l) => l.message?.startsWith("execve by"))).toBe(true);
 */
export async function collect<T>(source: Reader<T>, fn: () => unknown, opts?: CollectOptions): Promise<T[]>;
export async function collect(source: Program, fn: () => unknown, opts?: CollectOptions): Promise<import("./lib/readers.ts").TraceEvent[]>;
export async function collect(source: Reader<unknown> | Program, fn: () => unknown, opts: CollectOptions = {}): Promise<unknown[]> {
  const own = source instanceof Program ? openTrace() : undefined;
  const reader = (own ?? source) as Reader<unknown>;
  const items: unknown[] = [];
  let pollError: unknown;
  const read = () => {
    try {
      items.push(...reader.poll());
    } catch (e) {
      pollError ??= e;
    }
  };
  const timer = setInterval(read, opts.pollMs ?? 5);
  try {
    await fn();
    const until = Date.now() + (opts.settleMs ?? 50);
    while (Date.now() < until) {
      read();
      await Bun.sleep(Math.min(5, opts.pollMs ?? 5));
    }
    read();
  } finally {
    clearInterval(timer);
    own?.close();
  }
  if (pollError) throw pollError;
  return items;
}

// The library API: what `import { ... } from "bpfload"` gives (and "bpfload/test": src/test.ts).
//
//   import { readObject, load } from "bpfload";
//   const spec = await readObject("prog.o");            // pure: programs, maps, variables to edit
//   spec.variables.get("target_pid")!.set(process.pid);
//   using coll = load(spec);                            // maps and programs in the kernel
//   using link = coll.programs.get("on_exec")!.attach(); // where its section says
//   console.log(coll.maps.get("counts")!.get(0));
//   // end of scope: link, programs and maps closed, probe events removed
//
// Everything that holds a kernel resource is disposable (`using`, `await using`), closes twice
// harmlessly, and is closed and reported by a safety net if it is garbage-collected while open
// (trackLeaks). Nothing here changes the process (rlimits, mounts, signal handlers) unless you
// call setup(); nothing here calls process.exit.

import { lazy, lazyFunction } from "./lib/lazy.ts";

// Heavy parts load on first call (lib/lazy.ts): `import "bpfload"` evaluates only the object
// model, the errors and the small pure modules, so every test file that imports it stays cheap.
const features = lazy(() => require("./kernel/features/probes.ts") as typeof import("./kernel/features/probes.ts"));
const elf = lazy(() => require("./elf/index.ts") as typeof import("./elf/index.ts"));
const kernelProgram = lazy(() => require("./kernel/program.ts") as typeof import("./kernel/program.ts"));
const kernelPin = lazy(() => require("./kernel/pin.ts") as typeof import("./kernel/pin.ts"));
const kernelTestRun = lazy(() => require("./kernel/test-run.ts") as typeof import("./kernel/test-run.ts"));

// --- The library: object model, disposable resources, maps, readers, process policy ---
export {
  readObject, load, CollectionSpec, Collection, ProgramSpec, MapSpec, VariableSpec, PIN_BY_NAME, type LoadOptions,
  Program, Link, attach, loadProgram, type AttachOptions, type TestRunOptions, type TestRunResult, type VerifierStats,
  BpfMap, createMap, openPinnedMap, type MapOptions, type UpdateMode, type Value,
  openTrace, openEvents, TraceReader, EventReader, type Reader, type ReadOptions, type TraceEvent, type EventRecord, type EventOptions,
  trackLeaks, type LeakReport, setup,
} from "./lib/index.ts";
/** What `setup()` may change in the process: `memlock` (raise RLIMIT_MEMLOCK: kernels before 5.11 charge BPF memory to it), `signals` (SIGINT/SIGTERM/SIGHUP undo probe events, then exit), `mounts` (tracefs, bpffs when missing). */
export type { SetupOptions } from "./lib/index.ts";

// --- Errors: every failure is a BpfloadError (errno/errnoName/hint on SyscallError and FileError, minKernel on NotSupportedError) ---
export { BpfloadError, InputError, NotSupportedError, ObjectError, SyscallError, SystemError, UsageError, VerifierError, logSummary } from "./errors.ts";
/** An errno's name for its number ("EPERM" for 1; "errno N" when unknown), as the errors' `errnoName` gives it. */
export { errnoName } from "./errors.ts";
export { FileError } from "./sys/files.ts";

// --- Kernel features: probed once per process, not guessed from the version ---
/**
 * Whether the running kernel has a feature (one of FEATURE_IDS), by a probe that loads, creates
 * or attaches something small and closes it at once (root), not by the version; undefined when it
 * cannot tell (not root). Answered once per process (setFeatureAnswer overrides). Minimum kernel: 4.9.
 *
 *     if (!hasFeature("ringbuf")) console.log(`ring buffers need Linux ${featureSince("ringbuf")}`);
 */
export const hasFeature = lazyFunction(() => features().hasFeature);
/** The Linux version that brought a feature of FEATURE_IDS ("5.8" for "ringbuf"), as skips and messages say it. Pure. */
export const featureSince = lazyFunction(() => features().featureSince);
/** The names of the kernel feature probes (`hasFeature(id)`, `kernelTest`'s `feature:`), each with the version that brought it (`featureSince`). */
export { FEATURE_IDS } from "./kernel/features/ids.ts";
/** One of FEATURE_IDS. */
export type { FeatureId } from "./kernel/features/ids.ts";

// --- Attach points and kernel facts (pure) ---
export { progTypeFor } from "./attach-spec.ts";
/** The attach-spec kinds and their syntax ("kprobe:FUNC[+OFF]", "tracepoint:CAT:NAME", ...), as `--attach` documents them. */
export { ATTACH_SYNTAX } from "./attach-spec.ts";
/** An AttachSpec back in attach-spec syntax (what `Link.target` shows). Pure. */
export { formatAttachSpec } from "./attach-spec.ts";
/** Parses attach-spec syntax ("uprobe:/bin/bash:readline") into an AttachSpec; a malformed one throws UsageError. Pure. */
export { parseAttachSpec } from "./attach-spec.ts";
/** A parsed attach point: `kind` ("kprobe", "tracepoint", "xdp", ...) and that kind's fields. */
export type { AttachSpec } from "./attach-spec.ts";
/** The Linux version that brought each named kernel feature ("bpf_link": "5.7"), for messages and skips. */
export { FEATURE_SINCE } from "./since.ts";
/** The Linux version that brought each map type (MAP_TYPES name → "4.6"). */
export { MAP_TYPE_SINCE } from "./since.ts";
/** The Linux version that brought each program type (PROG_TYPES name → "4.7"). */
export { PROG_TYPE_SINCE } from "./since.ts";
export { MAP_TYPES, PROG_TYPES, kernelVersionCode } from "./uapi.ts";
/** A KERNEL_VERSION code (major << 16 | minor << 8 | patch) as "5.8.0". */
export { formatVersionCode } from "./uapi.ts";
/** The helper functions' names by number (index 6: "trace_printk"), as the kernel's uapi lists them. */
export { helperNames } from "./uapi.ts";
/** One of MAP_TYPES ("hash", "ringbuf", ...). */
export type { MapTypeName } from "./uapi.ts";
/** One of PROG_TYPES ("kprobe", "xdp", ...). */
export type { ProgTypeName } from "./uapi.ts";
/** One trace_pipe line split into task, pid, cpu, flags, timestamp and message (undefined for a line of another shape). Pure. */
export { parseTraceLine } from "./trace-line.ts";
/** A trace_pipe line's fields, as parseTraceLine gives them. */
export type { TraceLine } from "./trace-line.ts";

// --- Objects and instructions (pure) ---
/** The raw ELF reader (bytes → ObjectSpec) under readObject; for tools that work on the object itself. */
export const parseObject = lazyFunction(() => elf().readObject);
/** A raw program's instructions with its relocations applied (maps, data sections, calls into other functions appended): what BPF_PROG_LOAD gets. Pure; `resolve` gives each map's fd. */
export const linkProgram = lazyFunction(() => elf().linkProgram);
/** What an ELF section name says about its program (libbpf's table): type, expected attach type, attach point, autoload ("?sec"); undefined for a name it does not know. Pure. */
export const sectionToProgram = lazyFunction(() => elf().sectionToProgram);
/** A program as the object file describes it (elf/types.ts): section, type, instructions, relocations. Pure data. */
export type { ProgramSpec as RawProgramSpec } from "./elf/index.ts";
/** A map as the object file describes it (elf/types.ts): name, type, sizes, flags, initial data. Pure data. */
export type { MapSpec as RawMapSpec } from "./elf/index.ts";
/** An object file's programs, maps, functions, relocations and sections as parseObject reads them. Pure data. */
export type { ObjectSpec } from "./elf/index.ts";
export { AsmError, assemble, decode, disassemble, disassembleObject, encode } from "./asm/index.ts";
/** One decoded eBPF instruction (opcode, dst, src, off, imm; ld_imm64 with its 64-bit imm). */
export type { Instruction } from "./asm/index.ts";

// --- The low-level kernel API the library is built on (kernel-level objects: close them yourself) ---
export { detectKernelVersion } from "./kernel/version.ts";
/** The running kernel's version code and where it was read (vDSO note, version_signature, uname). */
export type { KernelVersion } from "./kernel/version.ts";
/** The running kernel's LINUX_VERSION_CODE and where it was read, detected once per process (what loads send as kern_version). No privileges. */
export const kernelVersion = lazyFunction(() => kernelProgram().kernelVersion);
/** What loadProgram takes: name, type, instructions, license, kern_version, log level, BTF. */
export type { ProgramSpecToLoad } from "./kernel/program.ts";
/** The fields of BPF_MAP_CREATE: name, type, key/value size, max entries, flags. */
export type { MapDefinition } from "./kernel/map.ts";
/** The kernel-level loader under `load()`: an ObjectSpec's maps and programs, without the library's wrappers. Lifetime: the returned collection's fds are yours until its close(). Minimum kernel: 4.9. */
export const loadCollection = lazyFunction(() => (require("./kernel/collection.ts") as typeof import("./kernel/collection.ts")).loadCollection);
/** How loadCollection loads (which programs, type override, kern_version, log level, existing maps). */
export type { CollectionOptions } from "./kernel/collection.ts";
/** Pins an fd (program, map, link) at `path` on a BPF filesystem (an existing pin there is an error, not replaced). Lifetime: the pin stays until unlinked, beyond the process. Minimum kernel: 4.4. */
export const pinFd = lazyFunction(() => kernelPin().pinFd);
/** Makes sure `dir` lies on a BPF filesystem and exists (creating the directories, which stay); gives it back. Mounts nothing (setup({ mounts: true }) does). */
export const preparePinDir = lazyFunction(() => kernelPin().preparePinDir);
/** The kernel-level trace_pipe reader under openTrace(). Lifetime: one fd until close(); one reader at a time on recent kernels. */
export { TracePipe } from "./kernel/trace-pipe.ts";
/** Streams trace lines and event records until a duration, a count or an abort; installs SIGINT/SIGTERM/SIGHUP listeners while it runs (a signal stops the watch) and removes them after. */
export const watch = lazyFunction(() => (require("./kernel/watch.ts") as typeof import("./kernel/watch.ts")).watch);
/** What watch() streams and until when (duration, count, abort signal). */
export type { WatchOptions } from "./kernel/watch.ts";
/** How a watch() ended and what it saw. */
export type { WatchResult } from "./kernel/watch.ts";
export { runCleanup } from "./kernel/cleanup.ts";
export { sweepStaleEvents } from "./kernel/sweep.ts";
/** What `bpfload probe` prints: the kernel's version, JIT, program and map types, helpers, probes. Loads and closes small programs (root). */
export const probeKernel = lazyFunction(() => (require("./kernel/features.ts") as typeof import("./kernel/features.ts")).probeKernel);
/** probeKernel's answer. */
export type { KernelReport } from "./kernel/features.ts";
export { tracefs } from "./kernel/tracefs.ts";
export { decodeRecord, findEventType, type LostRecords } from "./kernel/events/index.ts";
/** The kernel-level reader of one event map (ring buffer 5.8+, perf event array). Lifetime: its fds and mmaps until you close() it. */
export { openEventReader } from "./kernel/events/index.ts";
/** openEventReader for every event map of a collection. Lifetime: as openEventReader, each closed by you. */
export { openEventReaders } from "./kernel/events/index.ts";
/** Whether a kernel-level map carries events (a ring buffer, 5.8+, or a perf event array). */
export { isEventMap } from "./kernel/events/index.ts";
/** The kernel-level perf event array reader (one perf buffer per CPU) under openEvents(). Lifetime: its fds and mmaps until close(). Minimum kernel: 4.4. */
export { PerfArrayReader } from "./kernel/events/index.ts";
/** The kernel-level ring buffer reader under openEvents(). Lifetime: its mmap until close(). Minimum kernel: 5.8. */
export { RingbufReader } from "./kernel/events/index.ts";
/** BPF_PROG_TEST_RUN on a kernel-level program (Program.testRun is the library's): packet programs 4.12+, tracing 5.5+, raw_tracepoint 5.10+. */
export const testRun = lazyFunction(() => kernelTestRun().testRun);
/** The refusals of a test run that the kernel version tells before anything runs (tracing programs before 5.5, raw_tracepoint ctx before 5.10...): throws NotSupportedError naming the version. Pure. */
export const checkTestRun = lazyFunction(() => kernelTestRun().checkTestRun);

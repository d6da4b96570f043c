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

// --- The library: object model, disposable resources, maps, readers, process policy ---
export {
  readObject, load, CollectionSpec, Collection, ProgramSpec, MapSpec, VariableSpec, PIN_BY_NAME, type LoadOptions,
  Program, Link, attach, loadProgram, type AttachOptions, type TestRunOptions, type TestRunResult, type VerifierStats,
  BpfMap, createMap, openPinnedMap, type MapOptions, type UpdateMode, type Value,
  openTrace, openEvents, TraceReader, EventReader, type Reader, type ReadOptions, type TraceEvent, type EventRecord, type EventOptions,
  trackLeaks, type LeakReport, setup, type SetupOptions,
} from "./lib/index.ts";

// --- Errors: every failure is a BpfloadError (errno/errnoName/hint on SyscallError and FileError, minKernel on NotSupportedError) ---
export { BpfloadError, InputError, NotSupportedError, ObjectError, SyscallError, SystemError, UsageError, VerifierError, errnoName, logSummary } from "./errors.ts";
export { FileError } from "./sys/files.ts";

// --- Kernel features: probed once per process, not guessed from the version ---
export { hasFeature, featureSince, FEATURE_IDS, type FeatureId } from "./kernel/features/probes.ts";

// --- Attach points and kernel facts (pure) ---
export { ATTACH_SYNTAX, formatAttachSpec, parseAttachSpec, progTypeFor, type AttachSpec } from "./attach-spec.ts";
export { FEATURE_SINCE, MAP_TYPE_SINCE, PROG_TYPE_SINCE } from "./since.ts";
export { MAP_TYPES, PROG_TYPES, formatVersionCode, helperNames, kernelVersionCode, type MapTypeName, type ProgTypeName } from "./uapi.ts";
export { parseTraceLine, type TraceLine } from "./trace-line.ts";

// --- Objects and instructions (pure) ---
/** The raw ELF reader (bytes → ObjectSpec) under readObject; for tools that work on the object itself. */
export { readObject as parseObject, linkProgram, sectionToProgram, type MapSpec as RawMapSpec, type ObjectSpec, type ProgramSpec as RawProgramSpec } from "./elf/index.ts";
export { AsmError, assemble, decode, disassemble, disassembleObject, encode, type Instruction } from "./asm/index.ts";

// --- The low-level kernel API the library is built on (kernel-level objects: close them yourself) ---
export { detectKernelVersion, type KernelVersion } from "./kernel/version.ts";
export { kernelVersion, type ProgramSpecToLoad } from "./kernel/program.ts";
export { type MapDefinition } from "./kernel/map.ts";
export { loadCollection, type CollectionOptions } from "./kernel/collection.ts";
export { pinFd, preparePinDir } from "./kernel/pin.ts";
export { TracePipe } from "./kernel/trace-pipe.ts";
/** Streams trace lines and event records until a duration, a count or an abort; installs SIGINT/SIGTERM/SIGHUP listeners while it runs (a signal stops the watch) and removes them after. */
export { watch, type WatchOptions, type WatchResult } from "./kernel/watch.ts";
export { runCleanup } from "./kernel/cleanup.ts";
export { sweepStaleEvents } from "./kernel/sweep.ts";
export { probeKernel, type KernelReport } from "./kernel/features.ts";
export { tracefs } from "./kernel/tracefs.ts";
export { openEventReader, openEventReaders, isEventMap, PerfArrayReader, RingbufReader, decodeRecord, findEventType, type LostRecords } from "./kernel/events/index.ts";
export { testRun, checkTestRun } from "./kernel/test-run.ts";

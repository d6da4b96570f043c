// The library API: what `import { ... } from "bpfload"` gives. The CLI is built on exactly this.
//
//   const prog = loadProgram({ name: "hello", type: "tracepoint", insns });
//   const link = attach(prog, parseAttachSpec("tracepoint:syscalls:sys_enter_clone"));
//   ...
//   link.close(); prog.close();

// Errors (every failure a caller can cause is one of these)
export { BpfloadError, InputError, NotSupportedError, ObjectError, SyscallError, SystemError, UsageError, VerifierError, errnoName } from "./errors.ts";

// Attach points and kernel facts (pure)
export { ATTACH_SYNTAX, formatAttachSpec, parseAttachSpec, progTypeFor, type AttachSpec } from "./attach-spec.ts";
export { FEATURE_SINCE, MAP_TYPE_SINCE, PROG_TYPE_SINCE } from "./since.ts";
export { MAP_TYPES, PROG_TYPES, formatVersionCode, helperNames, kernelVersionCode, type MapTypeName, type ProgTypeName } from "./uapi.ts";
export { parseTraceLine, type TraceLine } from "./trace-line.ts";

// Objects and instructions (pure)
export { linkProgram, readObject, sectionToProgram, type MapSpec, type ObjectSpec, type ProgramSpec } from "./elf/index.ts";
export { AsmError, assemble, decode, disassemble, disassembleObject, encode, type Instruction } from "./asm/index.ts";

// The running kernel
export { detectKernelVersion, type KernelVersion } from "./kernel/version.ts";
export { kernelVersion, loadProgram, Program, type ProgramSpecToLoad } from "./kernel/program.ts";
export { BpfMap, createMap, type MapDefinition } from "./kernel/map.ts";
export { Collection, loadCollection, type CollectionOptions } from "./kernel/collection.ts";
export { attach, type AttachOptions } from "./kernel/attach.ts";
export type { Link } from "./kernel/perf-link.ts";
export { openPinnedMap, pinFd, preparePinDir } from "./kernel/pin.ts";
export { TracePipe } from "./kernel/trace-pipe.ts";
export { watch, type WatchOptions, type WatchResult } from "./kernel/watch.ts";
export { runCleanup } from "./kernel/cleanup.ts";
export { sweepStaleEvents } from "./kernel/sweep.ts";
export { probeKernel, type KernelReport } from "./kernel/features.ts";
export { tracefs } from "./kernel/tracefs.ts";

// Events and test runs
export { openEventReader, openEventReaders, isEventMap, PerfArrayReader, RingbufReader, decodeRecord, findEventType, type EventReader, type EventRecord, type LostRecords } from "./kernel/events/index.ts";
export { testRun, checkTestRun, type TestRunOptions, type TestRunResult } from "./kernel/test-run.ts";

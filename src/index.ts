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

import { lazy, lazyClass, lazyFunction } from "./lib/lazy.ts";

// Heavy parts load on first call (lib/lazy.ts): `import "bpfload"` evaluates only the object
// model, the errors and the small pure modules, so every test file that imports it stays cheap.
const features = lazy(() => require("./kernel/features/probes.ts") as typeof import("./kernel/features/probes.ts"));
const elf = lazy(() => require("./elf/index.ts") as typeof import("./elf/index.ts"));
const kernelProgram = lazy(() => require("./kernel/program.ts") as typeof import("./kernel/program.ts"));
const kernelPin = lazy(() => require("./kernel/pin.ts") as typeof import("./kernel/pin.ts"));
const kernelTestRun = lazy(() => require("./kernel/test-run.ts") as typeof import("./kernel/test-run.ts"));
const sysFiles = lazy(() => require("./sys/files.ts") as typeof import("./sys/files.ts"));
const asm = lazy(() => require("./asm/index.ts") as typeof import("./asm/index.ts"));
const kernelVersionModule = lazy(() => require("./kernel/features/version.ts") as typeof import("./kernel/features/version.ts"));
const tracePipe = lazy(() => require("./kernel/tracefs/trace-pipe.ts") as typeof import("./kernel/tracefs/trace-pipe.ts"));
const tracefsModule = lazy(() => require("./kernel/tracefs/tracefs.ts") as typeof import("./kernel/tracefs/tracefs.ts"));
const sweep = lazy(() => require("./kernel/tracefs/sweep.ts") as typeof import("./kernel/tracefs/sweep.ts"));
const events = lazy(() => require("./kernel/events/index.ts") as typeof import("./kernel/events/index.ts"));

// --- The library: object model, disposable resources, maps, readers, process policy ---
export {
  readObject, programSections, load, CollectionSpec, Collection, ProgramSpec, MapSpec, VariableSpec, PIN_BY_NAME, type LoadOptions,
  Program, Link, attach, loadProgram, countRuns, runStatusLine, checkAttach, attachLoadFields, hasProbes, hasTracepoint, type RunCounter, type AttachOptions, type TestRunOptions, type TestRunResult, type VerifierStats,
  BpfMap, createMap, openPinnedMap, type MapOptions, type UpdateMode, type Value,
  openTrace, openEvents, TraceReader, EventReader, type Reader, type ReadOptions, type TraceEvent, type EventRecord, type EventOptions,
  trackLeaks, type LeakReport, setup,
  listMaps, listPrograms, openMap, openProgram, mapInfo, programInfo, isOnBpfFs, type MapInfo, type ProgInfo,
  objectRelocations, openCoreTarget, btfFilesUnder, relocationReport, type ObjectCore, type ProgramReport, type RelocReport, type Verdict, type TargetBtf, type TargetModule,
  objectBtf,
} from "./lib/index.ts";
/** What `setup()` may change in the process: `memlock` (raise RLIMIT_MEMLOCK: kernels before 5.11 charge BPF memory to it), `signals` (SIGINT/SIGTERM/SIGHUP undo probe events, then exit), `mounts` (tracefs, bpffs when missing). */
export type { SetupOptions } from "./lib/index.ts";

// --- Errors: every failure is a BpfloadError (errno/errnoName/hint on SyscallError and FileError, minKernel on NotSupportedError) ---
/** The base of every failure bpfload raises: `errno`/`errnoName` (a syscall or file operation failed), `hint` (what to do), `minKernel` (a missing kernel feature), `cause` (what it wraps); absent fields are undefined. Pure. */
export { BpfloadError } from "./errors.ts";
/** A file the user gave cannot be used (missing, empty, wrong size, not an ELF object). Pure. */
export { InputError } from "./errors.ts";
/** The running kernel lacks a feature; `minKernel` names the version that brings it ("5.8"). Pure. */
export { NotSupportedError } from "./errors.ts";
/** A malformed or unsupported object file; the message says where in the file. Pure. */
export { ObjectError } from "./errors.ts";
/** A system call failed: `what` (the intent, "load program 'x'"), `call` (the syscall or bpf command), `errno`/`errnoName`, `hint`. Pure. */
export { SyscallError } from "./errors.ts";
/** Something about the system is missing or refused that is not one syscall's errno (no tracefs, trace_pipe busy...). Pure. */
export { SystemError } from "./errors.ts";
/** Bad arguments: an unknown option or name, a value out of range. Pure. */
export { UsageError } from "./errors.ts";
/** A library call was given an argument or option it cannot use (a malformed attach point, an freplace target that is not loaded, a value that does not fit a variable): `option` names it as the library does ("attach", "btf", "freplaceTarget", "variable"); exit code 2. Pure. */
export { InvalidArgumentError } from "./errors.ts";
/** The verifier refused a program: `log` is the whole verifier log; the message ends with its last meaningful line and "(N lines omitted)". Pure. */
export { VerifierError } from "./errors.ts";
/** A verifier log's "last meaningful line (N lines omitted)", as VerifierError's message ends. Pure. */
export { logSummary } from "./errors.ts";
/** An errno's name for its number ("EPERM" for 1; "errno N" when unknown), as the errors' `errnoName` gives it. Pure. */
export { errnoName } from "./errors.ts";
/** A failed file operation (open, read, write), with the path and the errno by name; bad input (exit 2) for a wrong path, a system refusal (1) for EMFILE, ENOSPC, EACCES. Pure. */
export const FileError = lazyClass(() => sysFiles().FileError);
export type FileError = import("./sys/files.ts").FileError;
/** Reads a file a user named, whole: opened non-blocking (a FIFO with no writer does not wait), refused with a FileError unless it is a regular file of at most `limit` bytes (256 MiB; EFBIG beyond). No privileges. Pure of side effects (reads only). */
export const readUserFile = lazyFunction(() => sysFiles().readUserFile);
/** Creates or truncates `path` and writes all of `bytes`, or throws a FileError (opened non-blocking: a FIFO nobody reads is ENXIO at once, not a wait). Lifetime: the file stays. No privileges; any kernel: Minimum kernel: 4.9. */
export const writeFile = lazyFunction(() => sysFiles().writeFile);

// --- Kernel features: probed once per process, not guessed from the version ---
/**
 * Whether the running kernel has a feature (one of FEATURE_IDS), by a probe that loads, creates
 * or attaches something small and closes it at once (root), not by the version; undefined when it
 * cannot tell (not root). Answered once per process (setFeatureAnswer overrides). Minimum kernel: 4.9.
 *
 *     if (!hasFeature("bpfLink")) console.log(`links need Linux ${featureSince("bpfLink")}`); // "5.7"
 */
export const hasFeature = lazyFunction(() => features().hasFeature);
/** The Linux version that brought a feature of FEATURE_IDS ("5.7" for "bpfLink"), as skips and messages say it. Pure. */
export const featureSince = lazyFunction(() => features().featureSince);
/** The names of the kernel feature probes (`hasFeature(id)`, `kernelTest`'s `feature:`), each with the version that brought it (`featureSince`). Pure data. */
export { FEATURE_IDS } from "./kernel/features/ids.ts";
/** One of FEATURE_IDS. */
export type { FeatureId } from "./kernel/features/ids.ts";

// --- Attach points and kernel facts (pure) ---
/** The program type an attach point needs when nobody said ("tracepoint:..." → "tracepoint"). Pure. */
export { progTypeFor } from "./attach-spec.ts";
/** The attach-spec kinds and their syntax ("kprobe:FUNC[+OFF]", "tracepoint:CAT:NAME", ...), as `--attach` documents them. Pure data. */
export { ATTACH_SYNTAX } from "./attach-spec.ts";
/** An AttachSpec back in attach-spec syntax (what `Link.target` shows). Pure. */
export { formatAttachSpec } from "./attach-spec.ts";
/** Parses attach-spec syntax ("uprobe:/bin/bash:readline") into an AttachSpec; a malformed one throws InvalidArgumentError (option "attach"). Pure. */
export { parseAttachSpec } from "./attach-spec.ts";
/** A parsed attach point: `kind` ("kprobe", "tracepoint", "xdp", ...) and that kind's fields. */
export type { AttachSpec } from "./attach-spec.ts";
/** The probeApi option ("pmu", "tracefs", or "auto"/undefined: the PMU where the kernel has it) as AttachOptions takes it; anything else is an InvalidArgumentError (option "probeApi"). Pure. */
export const parseProbeApi = lazyFunction(() => (require("./kernel/attach/probe-pmu.ts") as typeof import("./kernel/attach/probe-pmu.ts")).parseProbeApi);
/** The seed article's program (samples/bpf's "Hello World!" through bpf_trace_printk): 13 instructions, 104 bytes, for a kprobe or tracepoint (what `bpfload hello` loads). Pure data. */
export { HELLO_INSNS } from "./examples/hello.ts";
/** The text HELLO_INSNS prints to trace_pipe on every run ("Hello World!"). Pure data. */
export { HELLO_MESSAGE } from "./examples/hello.ts";
/** The Linux version that brought each named kernel feature ("bpf_link": [5, 7]), for messages and skips. Pure data. */
export { FEATURE_SINCE } from "./since.ts";
/** The Linux version that brought each map type (MAP_TYPES name → [4, 6]). Pure data. */
export { MAP_TYPE_SINCE } from "./since.ts";
/** The Linux version that brought each program type (PROG_TYPES name → [4, 7]). Pure data. */
export { PROG_TYPE_SINCE } from "./since.ts";
/** The map types' names in the kernel's order (index = BPF_MAP_TYPE_* value: MAP_TYPES[27] is "ringbuf"). Pure data. */
export { MAP_TYPES } from "./uapi.ts";
/** The program types' names in the kernel's order (index = BPF_PROG_TYPE_* value: PROG_TYPES[6] is "xdp"). Pure data. */
export { PROG_TYPES } from "./uapi.ts";
/** LINUX_VERSION_CODE of major, minor, patch (the patch capped at 255 as the kernel does since 4.9.256). Pure. */
export { kernelVersionCode } from "./uapi.ts";
/** A KERNEL_VERSION code (major << 16 | minor << 8 | patch) as "5.8.0". Pure. */
export { formatVersionCode } from "./uapi.ts";
/** The helper functions' names by number (index 6: "trace_printk"), as the kernel's uapi lists them. Pure data. */
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
/** The raw ELF reader (bytes → ObjectSpec) under readObject; for tools that work on the object itself. Pure (async). */
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
/** An assembly error; the message reads `file:line:column: problem` (bad input: exit 2). Pure. */
export const AsmError = lazyClass(() => asm().AsmError);
export type AsmError = import("./asm/index.ts").AsmError;
/** Assembles bpfload's assembly text (the disassembler's syntax) into instruction bytes, all sections in order of appearance; AsmError on a mistake. Pure. */
export const assemble = lazyFunction(() => asm().assemble);
/** Decodes instruction bytes (a multiple of 8; an ld_imm64 whole) into Instructions; a DecodeError says where otherwise. Pure. */
export const decode = lazyFunction(() => asm().decode);
/** One section's instructions as llvm-objdump prints them (or as the verifier log does, `syntax: "kernel"`). Pure. */
export const disassemble = lazyFunction(() => asm().disassemble);
/** A whole object as `llvm-objdump -d` (`-dr` with relocations) prints it: headings, symbols, instructions. Pure. */
export const disassembleObject = lazyFunction(() => asm().disassembleObject);
/** Encodes Instructions to bytes (an ld_imm64 takes 16). Pure. */
export const encode = lazyFunction(() => asm().encode);
/** Assembles into one section per `.section`/heading, with symbols and relocations: the shape disassembleObject takes (`bpfload asm` writes it). Pure. */
export const assembleObject = lazyFunction(() => asm().assembleObject);
/** Every section's bytes of an assembleObject result, concatenated in order (what assemble gives). Pure. */
export const sectionBytes = lazyFunction(() => asm().sectionBytes);
/** assembleObject's result: sections with their bytes, symbols and relocations. */
export type { AsmObject } from "./asm/index.ts";
/** How disassemble/disassembleObject print: syntax ("llvm" as llvm-objdump 14, or "kernel" as the verifier log), alu32, raw bytes and index columns. */
export type { DisasmOptions } from "./asm/index.ts";
/** What disassembleObject prints: a file name for the heading and the sections with their bytes, symbols and relocations. */
export type { DisasmObject } from "./asm/index.ts";
/** One decoded eBPF instruction (opcode, dst, src, off, imm; ld_imm64 with its 64-bit imm). */
export type { Instruction } from "./asm/index.ts";

// --- The low-level kernel API the library is built on (kernel-level objects: close them yourself) ---
/** Detects the running kernel's LINUX_VERSION_CODE, each call anew: the vDSO's note, then Ubuntu's /proc/version_signature, then Debian's `uname -v`, then `uname -r`. No privileges; any kernel. Pure of side effects (reads only). */
export const detectKernelVersion = lazyFunction(() => kernelVersionModule().detectKernelVersion);
/** LINUX_VERSION_CODE of "MAJOR.MINOR[.PATCH]" (each part 0..255) or a u32 number (decimal or 0x hex), as `bpfload --kern-version` takes it; undefined when it is neither form, a UsageError when a part is out of range. Pure. */
export const parseKernVersion = lazyFunction(() => kernelVersionModule().parseKernVersionOption);
/** The running kernel's version code and where it was read (vDSO note, version_signature, uname). */
export type { KernelVersion } from "./kernel/features/version.ts";
/** The running kernel's LINUX_VERSION_CODE and where it was read, detected once per process (what loads send as kern_version). No privileges; reads only: pure of side effects. */
export const kernelVersion = lazyFunction(() => kernelProgram().kernelVersion);
/** What loadProgram takes: name, type, instructions, license, kern_version, log level, BTF. */
export type { ProgramSpecToLoad } from "./kernel/program.ts";
/** The fields of BPF_MAP_CREATE: name, type, key/value size, max entries, flags. */
export type { MapDefinition } from "./kernel/map.ts";
/** The kernel-level loader under `load()`: an ObjectSpec's maps and programs, without the library's wrappers. Lifetime: the returned collection's fds are yours until its close(). Minimum kernel: 4.9 (global data 5.2, BPF-to-BPF calls 4.16, BTF 4.18). */
export const loadCollection = lazyFunction(() => (require("./kernel/collection.ts") as typeof import("./kernel/collection.ts")).loadCollection);
/** How loadCollection loads (which programs, type override, kern_version, log level, existing maps). */
export type { CollectionOptions } from "./kernel/collection.ts";
/** Pins an fd (program, map, link) at `path` on a BPF filesystem (an existing pin there is an error, not replaced). Lifetime: the pin stays until unlinked, beyond the process. Minimum kernel: 4.9 (BPF_OBJ_PIN 4.4). */
export const pinFd = lazyFunction(() => kernelPin().pinFd);
/** Checks, before anything is loaded, that `dir` can hold pins: on a BPF filesystem (mounting /sys/fs/bpf only after setup({ mounts: true })), no symbolic link on the way, no '.' in the names to create; creates nothing. Give the plan to createPinDir once there is something to pin. Minimum kernel: 4.9. */
export const planPinDir = lazyFunction(() => kernelPin().planPinDir);
/** Makes the missing directories of a planPinDir plan (never through a symbolic link) and gives a PinDir: `pin(fd, name, what)` pins into it, `undo()` removes the pins and directories it made (newest first), `close()` closes its directory fds (the pins stay). Lifetime: the directory fds until close(); the pins beyond the process. Minimum kernel: 4.9. */
export const createPinDir = lazyFunction(() => kernelPin().createPinDir);
/** A checked pin directory (planPinDir) and the made one (createPinDir). */
export type { PinPlan, PinDir } from "./kernel/pin.ts";
/** A name bpffs accepts for a pin: '.' and anything outside [A-Za-z0-9_-] become '_' (as libbpf names `.rodata` pins). Pure. */
export const pinName = lazyFunction(() => kernelPin().pinName);
/** Makes sure `dir` lies on a BPF filesystem and exists (creating the directories, which stay); gives it back. Mounts bpffs only after setup({ mounts: true }). Minimum kernel: 4.9. */
export const preparePinDir = lazyFunction(() => kernelPin().preparePinDir);
/** The kernel-level trace_pipe reader under openTrace(). Lifetime: one fd until close(); one reader at a time on recent kernels. Needs root. Minimum kernel: 4.9. */
export const TracePipe = lazyClass(() => tracePipe().TracePipe);
export type TracePipe = import("./kernel/tracefs/trace-pipe.ts").TracePipe;
/** trace_pipe is held by another process (recent kernels allow one reader): the message names it. Bad state of the system (exit 1). Pure. */
export const TracePipeBusy = lazyClass(() => tracePipe().TracePipeBusy);
export type TracePipeBusy = import("./kernel/tracefs/trace-pipe.ts").TracePipeBusy;
/** Streams trace lines and event records until a duration, a count or an abort; installs SIGINT/SIGTERM/SIGHUP listeners while it runs (a signal stops the watch) and removes them after. Lifetime: what it opens is closed when it returns. Minimum kernel: 4.9 (ring buffers 5.8). */
export const watch = lazyFunction(() => (require("./kernel/tracefs/watch.ts") as typeof import("./kernel/tracefs/watch.ts")).watch);
/** What watch() streams and until when (duration, count, abort signal). */
export type { WatchOptions } from "./kernel/tracefs/watch.ts";
/** How a watch() ended and what it saw. */
export type { WatchResult } from "./kernel/tracefs/watch.ts";
/** Runs every pending undo action of this process (probe events to remove, netlink attachments to undo), newest first; errors are collected and returned, not thrown mid-way. What the `exit` listener runs. Minimum kernel: 4.9. */
export { runCleanup } from "./kernel/cleanup.ts";
/** Removes the probe events (tracefs kprobe_events/uprobe_events) that dead bpfload processes of this PID namespace left; live ones' and other tools' stay. Needs root. Minimum kernel: 4.9. */
export const sweepStaleEvents = lazyFunction(() => sweep().sweepStaleEvents);
const sweepNet = lazy(() => require("./kernel/attach/sweep-net.ts") as typeof import("./kernel/attach/sweep-net.ts"));
/** Detaches what dead bpfload processes attached over netlink or BPF_PROG_ATTACH (XDP, tc, cgroup: recorded under /run/bpfload) and removes their records; live ones' stay. What `bpfload cleanup` does after the probe events. Needs root. Minimum kernel: 4.9. */
export const sweepNetRecords = lazyFunction(() => sweepNet().sweepNetRecords);
/** One line for a netlink/BPF_PROG_ATTACH attachment record of sweepNetRecords ("XDP program 'x' (id 12) on eth0"). Pure. */
export const describeRecord = lazyFunction(() => sweepNet().describeRecord);
/** What `bpfload probe` prints: the kernel's version, JIT, program and map types, helpers, probes. Loads and closes small programs (root); nothing stays. Minimum kernel: 4.9. */
export const probeKernel = lazyFunction(() => (require("./kernel/features/report.ts") as typeof import("./kernel/features/report.ts")).probeKernel);
/** probeKernel's answer. */
export type { KernelReport } from "./kernel/features/report.ts";
/** One probed item of probeKernel's report (a program type, map type, helper): yes, no, or why it could not tell. */
export type { Probe } from "./kernel/features/report.ts";
/** A feature probe's answer in probeKernel's report: supported, the version that brought it, configured. */
export type { FeatureAnswer } from "./kernel/features/probes.ts";
/** The tracefs directory (/sys/kernel/tracing, or debugfs's tracing/); mounts tracefs when none is and setup({ mounts: true }) allowed it, else a SystemError says so. Minimum kernel: 4.9. */
export const tracefs = lazyFunction(() => tracefsModule().tracefs);
/** Where mountinfo says tracefs (or debugfs's tracing directory) is mounted, readable or not; undefined when nowhere. Mounts nothing; reads /proc only. Minimum kernel: 4.9. */
export const tracefsMountPoint = lazyFunction(() => tracefsModule().tracefsMountPoint);
/** An event record's fields as the BTF struct `typeId` lays them out (integers, enums by name, char arrays as strings). Pure. */
export const decodeRecord = lazyFunction(() => events().decodeRecord);
/** The struct an event map's records are: the one named `name`, else the one struct named `event` or `*_event`; undefined when none or several. Pure. */
export const findEventType = lazyFunction(() => events().findEventType);
/** decodeRecord's fields as one line of text: `pid=123 comm="bash" args=[1,2]`. Pure. */
export const formatFields = lazyFunction(() => events().formatFields);
/** The text formatFields(decodeRecord(btf, typeId, bytes)) gives, as one function built once per record type (offsets worked out once, not per record); for records at least `size` bytes; undefined when a member does not fit its container (use decodeRecord then). Pure. */
export const compileFormatter = lazyFunction(() => (require("./kernel/events/decode.ts") as typeof import("./kernel/events/decode.ts")).compileFormatter);
/** One field of a decoded record: its name and value. */
export type { DecodedField } from "./kernel/events/index.ts";
/** A decoded value: a number (u64/s64 as bigint), a string (char arrays), an array, or an object (nested structs). */
export type { DecodedValue } from "./kernel/events/index.ts";
/** A BTF type section as bpfload reads it (an object's .BTF, a kernel's vmlinux): types by id, names, sizes. */
export type { Btf } from "./elf/btf.ts";
/** Records lost: perf's PERF_RECORD_LOST counts (per CPU), or a ringbuf program's own drop counter. */
export type { LostRecords } from "./kernel/events/index.ts";
/** The kernel-level reader of one event map (ring buffer 5.8+, perf event array). Lifetime: its fds and mmaps until you close() it. Minimum kernel: 4.9 (perf event arrays, 4.3+), 5.8 for ring buffers. */
export const openEventReader = lazyFunction(() => events().openEventReader);
/** openEventReader for every event map of a collection. Lifetime: as openEventReader, each closed by you. Minimum kernel: 4.9 (perf event arrays, 4.3+), 5.8 for ring buffers. */
export const openEventReaders = lazyFunction(() => events().openEventReaders);
/** Whether a kernel-level map carries events (a ring buffer, 5.8+, or a perf event array). Pure (reads the map's type). */
export const isEventMap = lazyFunction(() => events().isEventMap);
/** The kernel-level perf event array reader (one perf buffer per CPU) under openEvents(). Lifetime: its fds and mmaps until close(). Minimum kernel: 4.9 (the map type 4.3, bpf_perf_event_output 4.4). */
export const PerfArrayReader = lazyClass(() => events().PerfArrayReader);
export type PerfArrayReader = import("./kernel/events/index.ts").PerfArrayReader;
/** The kernel-level ring buffer reader under openEvents(). Lifetime: its mmap until close(). Minimum kernel: 5.8. */
export const RingbufReader = lazyClass(() => events().RingbufReader);
export type RingbufReader = import("./kernel/events/index.ts").RingbufReader;
/** BPF_PROG_TEST_RUN on a kernel-level program (Program.testRun is the library's). Minimum kernel: 4.12 (packet programs; tracing 5.5, raw_tracepoint 5.10). */
export const testRun = lazyFunction(() => kernelTestRun().testRun);
/** Whether BPF_PROG_TEST_RUN of a program type takes a packet (`data`: socket_filter, sched_cls, xdp, cgroup_skb, flow_dissector, ...). Pure. */
export const takesPackets = lazyFunction(() => (type: import("./uapi.ts").ProgTypeName): boolean => kernelTestRun().PACKET_TYPES.has(type));
/** The refusals of a test run that the kernel version tells before anything runs (tracing programs before 5.5, raw_tracepoint ctx before 5.10...): throws NotSupportedError naming the version. Pure. */
export const checkTestRun = lazyFunction(() => kernelTestRun().checkTestRun);

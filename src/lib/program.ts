// A loaded program, disposable, and the attach helpers that return disposable links.
import { btfLoadTarget, isBtfAttachKind, parseAttachSpec, type AttachSpec, type BtfAttachKind } from "../attach-spec.ts";
import type { ProgramSpec } from "../elf/types.ts";
import { InvalidArgumentError } from "../errors.ts";
import type { AttachOptions } from "../kernel/attach/index.ts";
import type { Link as KernelLink } from "../kernel/attach/perf-link.ts";
import type { Program as KernelProgram, ProgramSpecToLoad, VerifierStats } from "../kernel/program.ts";
import type { TestRunOptions, TestRunResult } from "../kernel/test-run.ts";
import { attachTypeValue, type ProgTypeName } from "../uapi.ts";
import { lazy } from "./lazy.ts";
import { Closeable, closedError, watchLeak } from "./leaks.ts";

// Loaded on first use (lib/lazy.ts): every attach kind, the loader and test runs are most of the
// library's code, and importing "bpfload" must stay cheap.
const kernelAttach = lazy(() => require("../kernel/attach/index.ts") as typeof import("../kernel/attach/index.ts"));
const kernelPin = lazy(() => require("../kernel/pin.ts") as typeof import("../kernel/pin.ts"));
const kernelProgram = lazy(() => require("../kernel/program.ts") as typeof import("../kernel/program.ts"));
const kernelTestRun = lazy(() => require("../kernel/test-run.ts") as typeof import("../kernel/test-run.ts"));
const kernelStats = lazy(() => require("../kernel/stats.ts") as typeof import("../kernel/stats.ts"));
const kernelIter = lazy(() => require("../kernel/attach/iter.ts") as typeof import("../kernel/attach/iter.ts"));
const kernelUprobe = lazy(() => require("../kernel/attach/uprobe.ts") as typeof import("../kernel/attach/uprobe.ts"));
const kernelUsdt = lazy(() => require("../kernel/attach/usdt.ts") as typeof import("../kernel/attach/usdt.ts"));
const probePmuModule = lazy(() => require("../kernel/attach/probe-pmu.ts") as typeof import("../kernel/attach/probe-pmu.ts"));
const tracefsModule = lazy(() => require("../kernel/tracefs/tracefs.ts") as typeof import("../kernel/tracefs/tracefs.ts"));
const tracepointModule = lazy(() => require("../kernel/attach/tracepoint.ts") as typeof import("../kernel/attach/tracepoint.ts"));
const netAttachTypes = lazy(() => require("../net/attach-types.ts") as typeof import("../net/attach-types.ts"));
const kernelUprobeMulti = lazy(() => require("../kernel/attach/uprobe-multi.ts") as typeof import("../kernel/attach/uprobe-multi.ts"));

/** How Program.attach attaches (probe API pmu/tracefs, kretprobe maxactive, net API link/netlink, bpf cookie...). */
export type { AttachOptions };
/** What Program.testRun sends: `data` (a packet), `ctx`, `repeat`, `dataSizeOut`. */
export type { TestRunOptions };
/** What Program.testRun gives back: `retval`, `duration` (ns per run), `data` out, `ctx` out. */
export type { TestRunResult };
/** Program.verifierStats(): instructions processed, states, verification time. */
export type { VerifierStats };

/**
 * A program loaded into the kernel. Lifetime: owns one fd until `close()` or the end of its
 * `using` block (or of its Collection); an attached program stays in the kernel while its Link
 * is open. Closing twice is harmless. Minimum kernel: 4.9 (bpfload's oldest), and the program
 * type's own (PROG_TYPE_SINCE: kprobe 4.1, tracepoint 4.7, raw_tracepoint 4.17, tracing 5.5, ...).
 *
 *     using prog = coll.programs.get("count")!;
 *     using link = prog.attach();            // the section's attach point
 *     const r = prog.testRun({ data });      // packet programs: BPF_PROG_TEST_RUN (4.12+)
 */
export class Program extends Closeable {
  readonly #inner: KernelProgram;
  readonly #release: () => void;
  /** The object's description of it (section, attach point), when it came from an object. */
  readonly spec?: ProgramSpec;

  /** Instructions loaded (after linking: BPF-to-BPF callees appended), when it came from an object. */
  readonly insnCount?: number;

  /** Adopts a kernel-level program (its fd is owned from here on). */
  constructor(inner: KernelProgram, spec?: ProgramSpec, insnCount?: number) {
    super();
    this.#inner = inner;
    this.spec = spec;
    this.insnCount = insnCount;
    this.#release = watchLeak(this, `program '${inner.name}'`, () => inner.close());
  }

  /** The fd (-1 once closed). */
  get fd(): number {
    return this.#inner.fd;
  }
  get name(): string {
    return this.#inner.name;
  }
  get type(): ProgTypeName {
    return this.#inner.type;
  }
  /** The verifier log, when `logLevel` asked for one. */
  get log(): string {
    return this.#inner.log;
  }
  /** The BTF type it was loaded against (attach_btf_id: fentry/fexit/lsm/tp_btf/freplace/struct_ops), else undefined. */
  get attachBtf(): KernelProgram["attachBtf"] {
    return this.#inner.attachBtf;
  }
  /** The kernel-level program, for the low-level API. */
  get raw(): KernelProgram {
    this.#check();
    return this.#inner;
  }

  /**
   * Attaches the program: to `target` (attach-spec syntax, "tracepoint:syscalls:sys_enter_execve",
   * "uprobe:/bin/bash:readline", or a parsed AttachSpec), or by default where its section says
   * (SEC("tracepoint/syscalls/sys_enter_execve")). The Link detaches when closed.
   */
  attach(target?: string | AttachSpec, opts?: AttachOptions): Link {
    return attach(this, target ?? this.spec?.attach ?? "", opts);
  }

  /** Runs the program once (or `repeat` times) on `data`/`ctx` in the kernel (BPF_PROG_TEST_RUN). Minimum kernel: 4.12 (packet programs; tracing 5.5, raw_tracepoint 5.10). */
  testRun(opts: TestRunOptions = {}): TestRunResult {
    this.#check();
    return kernelTestRun().testRun(this.#inner, opts);
  }

  /** Instructions the verifier processed, states, time (from bpf_prog_info, 5.16+, and the log). */
  verifierStats(): VerifierStats {
    this.#check();
    return this.#inner.verifierStats();
  }

  /** Pins the program at `path` on a BPF filesystem. */
  pin(path: string): void {
    this.#check();
    kernelPin().pinFd(this.fd, path, `program '${this.name}'`);
  }

  close(): void {
    this.#release();
    this.#inner.close();
  }

  #check(): void {
    if (this.#inner.fd < 0) throw closedError(`program '${this.name}'`);
  }
}

/**
 * Loads one program from instructions (BPF_PROG_LOAD; a rejection throws a VerifierError with the
 * whole log). Lifetime: as Program. Minimum kernel: 4.9, and the program type's (PROG_TYPE_SINCE:
 * kprobe 4.1, tracepoint 4.7, raw_tracepoint 4.17, tracing 5.5), refused with that version when older.
 *
 *     using prog = loadProgram({ name: "ok", type: "socket_filter", insns: assemble("r0 = 0\nexit") });
 */
export function loadProgram(spec: ProgramSpecToLoad): Program {
  return new Program(kernelProgram().loadProgram(spec));
}

/**
 * A program attached somewhere. Lifetime: until `close()` or the end of its `using` block; the
 * probe events bpfload created for it (tracefs) are removed on close, and on process exit if it
 * is never closed. Closing twice is harmless. Minimum kernel: 4.9 (kprobes through tracefs; the
 * perf PMU 4.17, bpf_link 5.7: each used where the kernel has it).
 *
 *     using link = prog.attach("tracepoint:syscalls:sys_enter_execve");
 *     console.log(link.target, link.hits());
 */
export class Link extends Closeable {
  readonly #inner: KernelLink;
  readonly #release: () => void;
  #closed = false;

  constructor(inner: KernelLink) {
    super();
    this.#inner = inner;
    this.#release = watchLeak(this, `link ${inner.target}`, () => inner.close());
  }

  /** Where it is attached, in attach-spec syntax. */
  get target(): string {
    return this.#inner.target;
  }
  /** How many times the program ran there, when the kernel can tell (perf-event links; every kind: `countRuns` of its program). */
  hits(): bigint | undefined {
    return this.#inner.hits();
  }
  /** The bpf_link's id (`bpftool link show id N`) when the attachment is a bpf_link (5.7+), else undefined. */
  get linkId(): number | undefined {
    const id = (this.#inner as { linkId?: number }).linkId;
    return id || undefined;
  }
  /** An iterator (SEC("iter/...")): `runIterator()` gives its text. */
  get iterator(): boolean {
    return this.#inner instanceof kernelIter().IterLink;
  }
  /** Runs an iterator once to its end (BPF_ITER_CREATE, read to EOF): the bytes its program wrote (bpf_seq_printf). Minimum kernel: 5.8. */
  runIterator(): Uint8Array {
    if (this.#closed) throw closedError(`link ${this.target}`);
    if (!(this.#inner instanceof kernelIter().IterLink)) throw new InvalidArgumentError("link", `link ${this.target} is not an iterator: only iter/ programs run to an end`);
    return this.#inner.run();
  }
  /** The kernel-level link, for the low-level API. */
  get raw(): KernelLink {
    return this.#inner;
  }
  get closed(): boolean {
    return this.#closed;
  }
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#release();
    this.#inner.close();
  }
}

/**
 * Attaches `prog` to `target` (attach-spec syntax or a parsed AttachSpec): kprobes/uprobes through
 * the perf PMU (4.17+) or tracefs, tracepoints (4.7+), raw tracepoints (4.17+), xdp/tc/cgroup
 * (bpf_link, 5.7, where the kernel has it), fentry/fexit/lsm/tp_btf (5.5+ through BTF), iterators.
 * Lifetime: the Link's, until its close() or the end of its
 * `using` block (see Link). Minimum kernel: 4.9, and the attach kind's (as above).
 *
 *     using link = attach(prog, "tracepoint:syscalls:sys_enter_execve");
 */
export function attach(prog: Program | KernelProgram, target: string | AttachSpec, opts: AttachOptions = {}): Link {
  if (target === "") throw new InvalidArgumentError("attach", `attach '${prog.name}': its section names no attach point: give one ("tracepoint:CAT:NAME", "kprobe:FUNC", ...)`);
  const spec = withSectionHook(typeof target === "string" ? parseAttachSpec(target) : target, prog instanceof Program ? prog.spec?.section : undefined);
  const kernelProg = prog instanceof Program ? prog.raw : prog;
  return new Link(kernelAttach().attach(kernelProg, spec, opts));
}

/** A cgroup attach point takes its hook (ingress, egress, connect4...) from the program's section when it does not say. */
function withSectionHook(spec: AttachSpec, section: string | undefined): AttachSpec {
  if (spec.kind !== "cgroup" || spec.attachType || !section) return spec;
  const hook = netAttachTypes().cgroupAttachFromSection(section);
  return hook ? { ...spec, attachType: hook } : spec;
}

/**
 * What BPF_PROG_LOAD must know of where a program will attach, for a program loaded from bare
 * instructions: the expected attach type (kprobe.multi/uprobe.multi links, BTF attach points) and
 * the BTF type it is loaded against (fentry:FUNC → FUNC, tp_btf:NAME → btf_trace_NAME, lsm:HOOK →
 * bpf_lsm_HOOK, iter:T → bpf_iter_T); empty for other kinds. Spread it into loadProgram's spec. Pure.
 *
 *     using prog = loadProgram({ name: "f", type: "tracing", insns, ...attachLoadFields(parseAttachSpec("fentry:do_unlinkat")) });
 */
export function attachLoadFields(target: AttachSpec): { expectedAttachType?: number; btfTarget?: string } {
  if (target.kind === "kprobe.multi" || target.kind === "kretprobe.multi") return { expectedAttachType: attachTypeValue("BPF_TRACE_KPROBE_MULTI") };
  if (target.kind === "uprobe.multi" || target.kind === "uretprobe.multi") return { expectedAttachType: attachTypeValue("BPF_TRACE_UPROBE_MULTI") };
  if (!isBtfAttachKind(target.kind)) return {};
  const t = btfLoadTarget(target as AttachSpec & { kind: BtfAttachKind });
  return { expectedAttachType: attachTypeValue(t.attachType), btfTarget: t.btfTarget };
}

/** Runs counted for a set of programs: `count()` (undefined when the kernel does not answer), `stop()`. */
export type RunCounter = import("../kernel/stats.ts").RunCounter;

/**
 * Counts the runs of `programs` on every attach kind (bpf_prog_info.run_cnt, the only true count:
 * a perf event's hits miss runs that returned 0): turns the kernel's statistics on with
 * BPF_ENABLE_STATS (5.8+) until `stop()` (or process exit), or uses kernel.bpf_stats_enabled when
 * someone else turned it on; undefined when neither (bpfload never flips the system-wide switch).
 * Minimum kernel: 5.1 (run_cnt), 5.8 to count without the sysctl.
 *
 *     const runs = countRuns([prog]);
 *     ...; console.log(runs?.count()); runs?.stop();
 */
export function countRuns(programs: Program[]): RunCounter | undefined {
  return kernelStats().startRunCounter(programs.map((p) => p.raw));
}

/** The live status line of a watch: runs only when they are really counted ("  3 runs of the program, 2 trace lines (Ctrl-C to stop)"). Pure. */
export function runStatusLine(runs: bigint | undefined, lines: number, what: "trace" | "trace and record" = "trace"): string {
  return kernelStats().statusLine(runs, lines, what);
}

/**
 * What an attach point can be refused for before anything is loaded: a uprobe's file and symbol
 * (and the tracefs command when `probeApi` is tracefs), a usdt's probe sites, a uprobe.multi's
 * symbols, a hook's target (interface, cgroup). Throws the error attaching would; reads only.
 * Minimum kernel: 4.9.
 *
 *     checkAttach(parseAttachSpec("uprobe:/bin/bash:readline"));
 */
export function checkAttach(spec: AttachSpec, opts: Pick<AttachOptions, "probeApi"> = {}): void {
  if (spec.kind === "uprobe" || spec.kind === "uretprobe") kernelUprobe().checkUprobe(spec, opts.probeApi);
  if (spec.kind === "usdt") kernelUsdt().usdtSites(spec);
  if (spec.kind === "uprobe.multi" || spec.kind === "uretprobe.multi") kernelUprobeMulti().uprobeMultiTargets(spec);
  kernelAttach().checkHookTarget(spec);
}

/**
 * Whether this kernel can create kprobes (or uprobes): through the perf PMU (4.17+) or tracefs's
 * kprobe_events/uprobe_events (a kernel built without CONFIG_KPROBE_EVENTS has neither). Reads
 * sysfs and tracefs only (tracefs: root; a SystemError when it is not there). Minimum kernel: 4.9.
 *
 *     const target = hasProbes("kprobe") ? "kprobe:do_sys_openat2" : "tracepoint:syscalls:sys_enter_openat";
 */
export function hasProbes(kind: "kprobe" | "uprobe"): boolean {
  return probePmuModule().probePmu(kind) !== undefined || tracefsModule().hasControl(`${kind}_events`);
}

/** Whether the kernel has the tracepoint CATEGORY:NAME (tracefs events/CATEGORY/NAME). Reads tracefs only (root). Minimum kernel: 4.9. */
export function hasTracepoint(category: string, name: string): boolean {
  return tracepointModule().hasTracepoint(category, name);
}

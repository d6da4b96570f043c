// `bpfload load FILE`: load programs from raw instructions, assembler source or an ELF object,
// attach them, stream trace_pipe, and print the object's maps at exit.
import {
  attachLoadFields, ATTACH_SYNTAX, BpfloadError, createPinDir, pinName, planPinDir, type PinPlan, formatAttachSpec, formatVersionCode, isEventMap, kernelVersion, loadProgram, openEventReaders, parseAttachSpec, parseKernVersion,
  parseProbeApi, programSections, progTypeFor, PROG_TYPES, UsageError, VerifierError, type AttachSpec, type Collection, type KernelVersion, type Program, type ProgTypeName,
} from "../index.ts";
import { parseHistSpec } from "./hist.ts";
import { readInput } from "./input.ts";

import { cliKind, cliMessage } from "./flags.ts";
import type { Output } from "./output.ts";
import type { AttachTarget } from "./session.ts";
import type { PreparedObject } from "./object.ts";

export interface LoadOptions {
  section?: string;
  program?: string;
  type?: string;
  attach?: string;
  license?: string;
  kernVersion?: string;
  logLevel?: number;
  duration?: number;
  count?: number;
  /** false: load only (--no-attach / --load-only). */
  attachProgram?: boolean;
  probeApi?: string;
  maxactive?: number;
  freq?: number;
  /** Pin programs and maps in this bpffs directory. */
  pin?: string;
  /** --set NAME=VALUE: global variables written before loading. */
  set?: string[];
  /** --map NAME:max_entries=N,...: map sizes. */
  maps?: string[];
  /** --decode MAP=TYPE: record types of ringbuf / perf_event_array maps. */
  decode?: string[];
  /** xdp/tc/cgroup: "link" or "netlink" (the pre-link way); default: link where the kernel has it. */
  netApi?: string;
  /** --hist MAP[:log2|linear[:STEP]]: maps drawn as histograms. */
  hist?: string[];
  /** --interval S: reprint histograms (and counters as rates) every S seconds while watching. */
  interval?: number;
  /** --target PROG_ID|PIN_PATH:FUNC: the function freplace programs replace. */
  target?: string;
  /** --btf FILE: target BTF for CO-RE relocations (default: $BPFLOAD_BTF, else the kernel's). */
  btf?: string;
}

export function parseProgType(text: string): ProgTypeName {
  const t = text.toLowerCase().replace(/^bpf_prog_type_/, "").replace(/-/g, "_");
  const alias: Record<string, ProgTypeName> = { socket: "socket_filter", tp: "tracepoint", raw_tp: "raw_tracepoint", kretprobe: "kprobe" };
  const name = alias[t] ?? t;
  if ((PROG_TYPES as readonly string[]).includes(name) && name !== "unspec") return name as ProgTypeName;
  throw new UsageError(`unknown program type '${text}' (known: ${PROG_TYPES.slice(1).join(", ")})`);
}

export function resolveKernVersion(option: string | undefined): KernelVersion {
  if (option === undefined) return kernelVersion();
  const code = parseKernVersion(String(option));
  if (code === undefined) throw new UsageError(`bad --kern-version '${option}': give MAJOR.MINOR.PATCH (4.9.228) or LINUX_VERSION_CODE (264676 or 0x409e4)`);
  return { code, source: "--kern-version" };
}

/** Some programs of an object did not load (each was reported on its own line already). */
class LoadFailures extends BpfloadError {
  readonly kind = "load";
  constructor(message: string, readonly exitCode: 1 | 2) {
    super(message);
  }
}

/** What got loaded, whatever the input: programs with their attach points, and the maps if any. */
interface Loaded {
  programs: { prog: Program; insns: number; origin: string; attach?: string; section?: string }[];
  collection?: Collection;
  /** The object file's bytes (for its BTF when records are decoded). */
  bytes?: Uint8Array;
  close(): void;
}

/** Are all the programs of this object (or of --section) iterators? A quick look at section names. */
function iteratorsOnly(bytes: Uint8Array, file: string, section: string | undefined): boolean {
  let sections: { section: string; attachTo?: string }[];
  try {
    sections = programSections(bytes, file);
  } catch {
    return false; // the real read says what is wrong with it
  }
  const programs = sections.filter((s) => section === undefined || s.section === section);
  return programs.length > 0 && programs.every((s) => s.attachTo?.startsWith("iter:"));
}

/**
 * A BTF program's target is fixed at load (attach_btf_id): an --attach naming another target, or
 * a BTF kind for a program loaded without one, would attach somewhere else than it says.
 */
function checkBtfAttach(prog: Program, spec: AttachSpec): void {
  if (spec.kind === "freplace" && prog.type === "ext") return; // made from the load's own target
  const wanted = attachLoadFields(spec).btfTarget; // defined for the BTF attach kinds only
  if (wanted === undefined && !prog.attachBtf) return;
  const loadedAgainst = prog.attachBtf?.name;
  if (loadedAgainst !== undefined && loadedAgainst === wanted) return;
  const what = loadedAgainst !== undefined ? `was loaded against '${loadedAgainst}' (attach_btf_id, fixed at load)` : `is a ${prog.type} program without a BTF target`;
  throw new UsageError(`--attach ${formatAttachSpec(spec)} does not fit program '${prog.name}': it ${what}; give the attach point in the section name (fentry/FUNC, tp_btf/NAME, ...) and leave out --attach`);
}

async function loadInput(out: Output, file: string, input: ReturnType<typeof readInput>, prepared: PreparedObject | undefined, opts: LoadOptions, type: ProgTypeName | undefined, kernVersion: KernelVersion, attachSpec?: AttachSpec): Promise<Loaded> {
  const logLevel = opts.logLevel;
  if (input.kind === "elf") {
    const { loadPrepared } = await import("./object.ts");
    const col = loadPrepared(out, input.file, prepared!, { ...opts, type, kernVersion });
    return {
      programs: [...col.programs.values()].map((p) => ({
        prog: p,
        insns: p.insnCount!,
        origin: `section '${p.spec!.section}' of ${file}`,
        attach: p.spec!.attach,
        section: p.spec!.section,
      })),
      collection: col,
      bytes: input.bytes,
      close: () => col.close(),
    };
  }
  if (opts.section || opts.program) throw new UsageError(`${file} is not an ELF object: --section and --program do not apply`);
  if (opts.set?.length || opts.maps?.length) throw new UsageError(`${file} is not an ELF object: --set and --map apply to an object's variables and maps`);
  if (opts.target !== undefined) throw new UsageError(`${file} is not an ELF object: --target applies to an object's freplace programs (their BTF is needed)`);
  let insns: Uint8Array;
  let origin: string;
  if (input.kind === "asm") {
    const { assembleProgram } = await import("./asm.ts");
    insns = assembleProgram(input.text, file);
    origin = `assembled from ${file}`;
  } else {
    insns = input.insns;
    origin = `raw instructions from ${file}`;
  }
  if (!type) throw new UsageError(`cannot tell the program type of ${file}: give --type (e.g. kprobe, tracepoint, socket_filter) or --attach`);
  const name = (file.split("/").pop() ?? "").replace(/\.[^.]*$/, "") || "prog";
  const prog = loadProgram({ name, type, insns, license: opts.license, kernVersion, logLevel, ...(attachSpec ? attachLoadFields(attachSpec) : {}) });
  return { programs: [{ prog, insns: insns.length / 8, origin }], close: () => prog.close() };
}

export async function runLoad(out: Output, file: string, opts: LoadOptions): Promise<number> {
  const attachSpec = opts.attach !== undefined ? parseAttachSpec(String(opts.attach)) : undefined;
  const type = opts.type !== undefined ? parseProgType(String(opts.type)) : attachSpec ? progTypeFor(attachSpec) : undefined;
  const kernVersion = resolveKernVersion(opts.kernVersion);
  parseProbeApi(opts.probeApi); // a typo is a usage error before anything is loaded
  if (opts.logLevel !== undefined && !(opts.logLevel >= 1 && opts.logLevel <= 7)) {
    throw new UsageError(`bad --log-level '${opts.logLevel}': 1 (verifier steps), 2 (with states) or 4 (statistics)`);
  }
  const histSpecs = (opts.hist ?? []).map(parseHistSpec);
  if (opts.interval !== undefined && !(opts.interval >= 0.1)) throw new UsageError(`bad --interval '${opts.interval}': give at least 0.1 seconds`);
  out.detail(`kern_version 0x${kernVersion.code.toString(16)} (${formatVersionCode(kernVersion.code)}, from ${kernVersion.source})`);

  // The pinning module loads only when asked for (a lazy export): start-up is most of a one-shot load.
  const pinPlan = opts.pin !== undefined ? planPinDir(opts.pin) : undefined; // checked before loading anything, created after
  const input = readInput(file); // a bad file is said first
  // an object is read and edited (sections, --map, --set checked) before trace_pipe is opened
  const prepared = input.kind === "elf" ? await (await import("./object.ts")).prepareObject(out, input.file, input.bytes, { ...opts, type, kernVersion }) : undefined;
  // Refusals that need no program come before loading: uprobe targets, a busy trace_pipe.
  if (opts.netApi !== undefined && opts.netApi !== "link" && opts.netApi !== "netlink") throw new UsageError(`bad --net-api '${opts.netApi}': link (bpf_link) or netlink (netlink and BPF_PROG_ATTACH, as before links)`);
  const attachOpts = { probeApi: parseProbeApi(opts.probeApi), maxactive: opts.maxactive, freq: opts.freq, netApi: opts.netApi as "link" | "netlink" | undefined };
  // An object of iterators only prints their text: no trace_pipe (which another reader may hold).
  const watches = opts.attachProgram !== false && opts.duration !== 0 && !(attachSpec ? attachSpec.kind === "iter" : input.kind === "elf" && iteratorsOnly(input.bytes, input.file, opts.section));
  // The attach and watch machinery (probes, trace_pipe, links) loads only when it is used: a
  // --no-attach load without --attach needs none of it (~1-2 ms of module start-up)
  const session = opts.attachProgram !== false || attachSpec ? await import("./session.ts") : undefined;
  const pipe = session?.prepareSession(out, [attachSpec], { watch: watches, attach: attachOpts });
  let loaded: Loaded;
  try {
    loaded = await loadInput(out, file, input, prepared, opts, type, kernVersion, attachSpec);
  } catch (e) {
    pipe?.close();
    throw e;
  }
  try {
    for (const { prog, insns, origin } of loaded.programs) {
      out.event(
        "loaded",
        { program: prog.name, progType: prog.type, insns, fd: prog.fd, kernVersion: kernVersion.code, kernVersionSource: kernVersion.source, ...(out.json ? { verifier: prog.verifierStats() } : {}) },
        `loaded '${prog.name}' as a ${prog.type} program (${insns} instructions, ${origin}); kern_version ${formatVersionCode(kernVersion.code)} from ${kernVersion.source}`,
      );
      if (prog.attachBtf) {
        const { id, module, name } = prog.attachBtf;
        if (prog.type === "ext") out.detail(`'${prog.name}' replaces function '${name}' of the --target program (attach_btf_id ${id} in that program's BTF)`);
        else out.detail(`'${prog.name}' loaded against BTF type ${name ? `'${name}' ` : ""}(attach_btf_id ${id} in ${module ? `module ${module}` : "vmlinux"})`);
      }
      if (prog.log) out.event("verifier-log", { program: prog.name, log: prog.log }, prog.log.trimEnd());
    }
    const failed = loaded.collection?.failures ?? [];
    for (const f of failed) {
      const e = f.error as Error & { kind?: string; exitCode?: number; log?: string };
      out.error({ kind: e instanceof BpfloadError ? cliKind(e) : (e.kind ?? "internal"), message: e instanceof BpfloadError ? cliMessage(e) : e.message, exitCode: e.exitCode ?? 1, log: e instanceof VerifierError ? e.log : undefined });
    }
    if (failed.length) {
      // 1 when the kernel refused any of them, 2 when only the input was at fault
      const exitCode = Math.min(...failed.map((f) => (f.error as { exitCode?: number }).exitCode ?? 1)) as 1 | 2;
      const total = new Set([...loaded.programs.map((p) => p.prog.name), ...failed.map((f) => f.name)]).size;
      throw new LoadFailures(`${new Set(failed.map((f) => f.name)).size} of ${total} programs of ${file} did not load (${failed.map((f) => f.name).join(", ")}): nothing attached`, exitCode);
    }
    if (attachSpec && loaded.programs.length > 1) {
      throw new UsageError(`--attach applies to one program, and ${file} has ${loaded.programs.length}: pick one with --section or --program`);
    }

    if (pinPlan) pinAll(out, pinPlan, loaded);
    const histMaps = histSpecs.length || opts.interval ? await import("./hist-maps.ts") : undefined;
    histMaps?.checkHistSpecs(histSpecs, loaded.collection);
    const printer = opts.interval && loaded.collection ? new histMaps!.IntervalPrinter(out, loaded.collection, histSpecs, opts.interval) : undefined;

    const targets: AttachTarget[] = [];
    if (opts.attachProgram !== false) {
      for (const p of loaded.programs) {
        const replaces = p.prog.type === "ext" && !attachSpec ? p.prog.attachBtf?.name : undefined;
        const spec = replaces ? ({ kind: "freplace", func: replaces } as const) : (attachSpec ?? attachPointOf(out, p.prog, p.attach)) // a cgroup hook from the section: Program.attach adds it;
        if (spec) checkBtfAttach(p.prog, spec);
        if (spec) targets.push({ prog: p.prog, spec });
      }
      // struct_ops variables are registered, each as one target (named by its first loaded program)
      for (const so of loaded.collection?.structOps ?? []) {
        const prog = loaded.programs.find((p) => so.programs.includes(p.prog.name))?.prog;
        if (prog) targets.push({ prog, spec: { kind: "struct_ops", map: so.name } });
      }
    }
    if (opts.attachProgram === false) {
      out.info("loaded only (--no-attach)");
    } else if (!targets.length) {
      out.info(`nothing to attach: give --attach (${ATTACH_SYNTAX})`);
    } else {
      const events = await startEventReaders(out, file, loaded, opts);
      try {
        const result = await session!.attachAndWatch(out, targets, { duration: opts.duration, count: opts.count, attach: { ...attachOpts, ...loaded.collection?.attachOptions() }, pipe, readers: events?.readers, records: events?.printer, onReady: () => printer?.start() });
        const recs = result.records !== undefined ? `, ${result.records} records, ${result.lost ?? 0} lost` : "";
        out.event("exit", { reason: result.reason, signal: result.signal, lines: result.lines, records: result.records, lost: result.lost }, result.reason === "iterator" ? "detached (the iterator ran to its end)" : `detached (${result.signal ?? result.reason}); ${result.lines} trace lines${recs}`);
      } finally {
        printer?.stop();
        for (const r of events?.readers ?? []) r.close();
      }
    }
    if (loaded.collection) {
      const { printMapAtExit } = await import("./maps.ts");
      for (const [name, map] of loaded.collection.maps) {
        const hist = histSpecs.find((h) => h.map === name);
        if (hist) histMaps!.printHist(out, hist, map);
        else printMapAtExit(out, name, map);
      }
    }
    return 0;
  } finally {
    pipe?.close();
    loaded.close();
  }
}

/**
 * Readers for the object's ringbuf and perf_event_array maps, started before attaching so that
 * no record is missed; undefined when it has none. The event modules load only then.
 */
async function startEventReaders(out: Output, file: string, loaded: Loaded, opts: LoadOptions) {
  // the kernel-level readers, for the watch (kernel/tracefs/watch.ts) and the records' drop counters; closed by the caller
  const maps = loaded.collection && new Map([...loaded.collection.maps].map(([n, m]) => [n, m.raw]));
  const names = [...(maps ?? new Map()).entries()].filter(([, m]) => isEventMap(m)).map(([n]) => n);
  if (!maps || !names.length) {
    if (opts.decode?.length) throw new UsageError(`--decode: ${file} has no ringbuf or perf_event_array map`);
    return undefined;
  }
  const { objectBtf, parseDecodeOptions, recordPrinter } = await import("./records.ts");
  const printer = recordPrinter(out, objectBtf(loaded.bytes, file), parseDecodeOptions(opts.decode ?? []), names, file);
  const readers = openEventReaders(maps);
  return { readers, printer };
}

/**
 * Pins every program and map: the directory is made only now that everything loaded, and if any
 * pin fails, the pins and directories made by this run are removed again (only those).
 */
function pinAll(out: Output, plan: PinPlan, loaded: Loaded): void {
  const wanted = [
    ...loaded.programs.map(({ prog }) => ({ fd: prog.fd, name: prog.name, kind: "program" as const })),
    ...[...(loaded.collection?.maps ?? [])].map(([name, map]) => ({ fd: map.fd, name, kind: "map" as const })),
  ].map((w) => ({ ...w, file: pinName(w.name) }));
  const seen = new Map<string, string>();
  for (const w of wanted) {
    const other = seen.get(w.file);
    if (other !== undefined) throw new UsageError(`--pin: ${other} and ${w.kind} '${w.name}' would both be pinned as ${plan.path}/${w.file}: rename one of them`);
    seen.set(w.file, `${w.kind} '${w.name}'`);
  }
  const dir = createPinDir(plan);
  try {
    for (const w of wanted) {
      const path = dir.pin(w.fd, w.file, `${w.kind} '${w.name}'`);
      const text = w.kind === "map" ? `pinned map '${w.name}' at ${path} (bpfload map dump ${path})` : `pinned program '${w.name}' at ${path}`;
      out.event("pinned", { kind: w.kind, name: w.name, path }, text);
    }
  } catch (e) {
    dir.undo();
    throw e;
  } finally {
    dir.close();
  }
}

const ATTACH_KINDS = "kprobes, uprobes, tracepoints, raw tracepoints, perf events, socket filters, xdp, tc, cgroup, flow_dissector, sk_lookup and netfilter hooks, tp_btf, fentry/fexit/fmod_ret, lsm and iterators";

/** The attach point a section name gives, when bpfload can attach that kind. */
function attachPointOf(out: Output, prog: Program, attach: string | undefined): AttachSpec | undefined {
  if (!attach) return undefined;
  if (attach === "xdp") {
    out.info(`'${prog.name}' stays loaded but unattached: an XDP program needs an interface: --attach xdp:IFACE[:generic|native]`);
    return undefined;
  }
  try {
    return parseAttachSpec(attach);
  } catch (e) {
    if (!(e instanceof BpfloadError)) throw e;
    out.info(`'${prog.name}' stays loaded but unattached: bpfload does not attach '${attach.split(/[:/]/)[0]}' programs (it attaches ${ATTACH_KINDS})`);
    return undefined;
  }
}

// Loading an object: its BTF into the kernel (when it has and takes it), maps (data sections filled
// in, .rodata frozen, map-in-map values set), then each selected program linked against them and
// loaded with its func_info/line_info, then prog-array values and 4.9-samples tail-call targets.
import { annotateVerifierLog } from "../elf/annotate-log.ts";
import { encodeFuncInfo, encodeLineInfo, programExtInfo } from "../elf/btf-ext-link.ts";
import { BTF_KIND_ARRAY, BTF_KIND_CONST, BTF_KIND_RESTRICT, BTF_KIND_STRUCT, BTF_KIND_TYPE_TAG, BTF_KIND_TYPEDEF, BTF_KIND_UNION, BTF_KIND_VOLATILE, type Btf } from "../elf/btf.ts";
import { FoldError, foldRodata, type RodataSite } from "../elf/fold-rodata.ts";
import type { MapSpec, ObjectSpec, ProgramSpec } from "../elf/index.ts";
import { linkProgramPieces, sectionToProgram, type LinkedPiece } from "../elf/index.ts";
import { NotSupportedError, ObjectError, SyscallError, UsageError } from "../errors.ts";
import { BPF_F_RDONLY_PROG, BPF_MAP_TYPE_PROG_ARRAY, MAP_TYPES, type ProgTypeName } from "../uapi.ts";
import { loadObjectBtf, readObjectExt, type ObjectBtf } from "./btf-load.ts";
import { featureSince, hasFeature, requireFeature } from "./features/probes.ts";
import { createMap, type BpfMap, type MapDefinition } from "./map.ts";
import { loadProgram, type Program, type ProgramBtf } from "./program.ts";
import type { KernelVersion } from "./version.ts";

export interface LoadedProgram {
  spec: ProgramSpec;
  program: Program;
  insnCount: number;
}

export interface CollectionOptions {
  /** Which programs to load (default: all). */
  select?: (p: ProgramSpec) => boolean;
  /** Program type for programs whose section does not say (or to override it). */
  type?: ProgTypeName;
  license?: string;
  kernVersion?: KernelVersion;
  logLevel?: number;
  /** Load the other programs when one fails (the failures are listed in `failures`). */
  keepGoing?: boolean;
  /** The object file's bytes: its .BTF and .BTF.ext go to the kernel with the maps and programs. */
  elf?: Uint8Array;
}

export class Collection {
  readonly maps = new Map<string, BpfMap>();
  readonly programs: LoadedProgram[] = [];
  /** Programs that did not load, when loading went on past them (keepGoing). */
  readonly failures: { spec: ProgramSpec; error: Error }[] = [];
  /** What was decided on the object's behalf (for --verbose). */
  readonly notes: string[] = [];
  /** The object's BTF as loaded into the kernel (absent when there is none or the kernel refused it). */
  btf?: ObjectBtf;
  /** Why the object's BTF is not in the kernel, when it has some. */
  btfMissing?: { why: string; needsKernel?: string };

  close(): void {
    for (const p of this.programs) p.program.close();
    for (const m of this.maps.values()) m.close();
    this.btf?.close();
    this.btf = undefined;
  }
}

/** Map types whose values the kernel lays out from BTF: they are refused without it. */
const BTF_ONLY_MAP_TYPES: Record<string, string> = { sk_storage: "5.2", inode_storage: "5.10", task_storage: "5.11", cgrp_storage: "6.2" };
/** Kernel structs a map value may hold only when the map has BTF (the verifier finds them there). */
const SPECIAL_STRUCTS: Record<string, string> = { bpf_spin_lock: "5.1", bpf_timer: "5.15", bpf_list_head: "6.2", bpf_rb_root: "6.3", bpf_refcount: "6.4", bpf_wq: "6.10" };

/** Why a map cannot be created without its BTF ("sk_storage map", "bpf_spin_lock in its value"), with the kernel that brought it. */
export function mapNeedsBtf(spec: MapSpec, btf: Btf | undefined): { what: string; since: string } | undefined {
  const typeName = MAP_TYPES[spec.type] ?? "";
  const only = BTF_ONLY_MAP_TYPES[typeName];
  if (only) return { what: `a ${typeName} map`, since: only };
  if (!btf || !spec.valueTypeId) return undefined;
  const seen = new Set<number>();
  const walk = (id: number): { what: string; since: string } | undefined => {
    if (!id || seen.has(id) || !btf.has(id)) return undefined;
    seen.add(id);
    const t = btf.type(id);
    switch (t.kind) {
      case BTF_KIND_TYPE_TAG:
        if (/kptr/.test(t.name)) return { what: `a kptr (${t.name}) in its value`, since: "5.19" };
        return walk(t.sizeOrType);
      case BTF_KIND_TYPEDEF: case BTF_KIND_CONST: case BTF_KIND_VOLATILE: case BTF_KIND_RESTRICT:
        return walk(t.sizeOrType);
      case BTF_KIND_ARRAY:
        return walk(t.array!.type);
      case BTF_KIND_STRUCT: case BTF_KIND_UNION: {
        const special = SPECIAL_STRUCTS[t.name];
        if (special) return { what: `a ${t.name} in its value`, since: special };
        for (const m of t.members ?? []) {
          const r = walk(m.type);
          if (r) return r;
        }
        return undefined;
      }
    }
    return undefined;
  };
  return walk(spec.valueTypeId);
}

/** The BTF part of a map's creation: key/value type ids of BTF maps, the DATASEC of data sections. */
function mapBtf(spec: MapSpec, btf: ObjectBtf | undefined): Pick<MapDefinition, "btfFd" | "btfKeyTypeId" | "btfValueTypeId"> {
  if (!btf) return {};
  if (spec.kind === "btf" && spec.valueTypeId) return { btfFd: btf.fd, btfKeyTypeId: spec.keyTypeId ?? 0, btfValueTypeId: spec.valueTypeId };
  if (spec.kind === "data") {
    const sec = btf.btf.datasec(spec.name);
    if (sec) return { btfFd: btf.fd, btfKeyTypeId: 0, btfValueTypeId: sec.id };
  }
  return {};
}

function createMaps(obj: ObjectSpec, col: Collection): void {
  const into = col.maps;
  const notes = col.notes;
  const create = (spec: MapSpec, innerMapFd?: number) => {
    const need = mapNeedsBtf(spec, col.btf?.btf);
    if (need && !col.btf) {
      const why = col.btfMissing?.why ?? `${obj.file} has no BTF`;
      if (col.btfMissing?.needsKernel) throw new NotSupportedError(`BTF for map '${spec.name}' (${need.what})`, col.btfMissing.needsKernel, why);
      throw new NotSupportedError(`map '${spec.name}' with ${need.what}, which needs the map's BTF`, need.since, why);
    }
    const def: MapDefinition = { name: spec.name, type: spec.type, keySize: spec.keySize, valueSize: spec.valueSize, maxEntries: spec.maxEntries, flags: spec.flags, innerMapFd };
    const withBtf = mapBtf(spec, col.btf);
    let map: BpfMap;
    try {
      map = createMap({ ...def, ...withBtf });
    } catch (e) {
      // libbpf's rule: a map that does not need its BTF is created without it when the kernel refuses it
      if (need || withBtf.btfFd === undefined || !(e instanceof SyscallError)) throw e;
      map = createMap(def);
      notes.push(`map '${spec.name}' created without BTF: the kernel refused its key/value types (${e.message})`);
    }
    into.set(spec.name, map);
    if (spec.maxEntries !== map.def.maxEntries) {
      notes.push(
        spec.maxEntries === 0
          ? `map '${spec.name}' (${map.typeName}): max_entries 0 means one per CPU (as libbpf does): ${map.def.maxEntries} possible CPUs`
          : `map '${spec.name}' (${map.typeName}): max_entries ${spec.maxEntries} rounded up to ${map.def.maxEntries}, a power of two of whole pages (as libbpf does)`,
      );
    }
    if (spec.initialData && spec.initialData.length) map.update(new Uint8Array(4), spec.initialData);
    // .rodata: read-only for user space too once its value is in, as libbpf does
    if (spec.kind === "data" && (spec.flags & BPF_F_RDONLY_PROG) !== 0) map.freeze();
    return map;
  };
  for (const spec of obj.maps) {
    // without global data (before 5.2) .rodata reads are folded into the programs (loadOne)
    if (spec.kind === "data" && hasFeature("globalData") === false) continue;
    let inner: BpfMap | undefined;
    if (spec.innerMap) inner = create(spec.innerMap);
    else if (spec.innerMapIndex !== undefined) {
      const innerSpec = obj.maps.filter((m) => m.section === spec.section)[spec.innerMapIndex];
      inner = innerSpec ? into.get(innerSpec.name) : undefined;
    }
    create(spec, inner?.fd);
  }
}

export function loadCollection(obj: ObjectSpec, opts: CollectionOptions = {}): Collection {
  const selected = obj.programs.filter(opts.select ?? (() => true));
  const col = new Collection();
  try {
    if (opts.elf) {
      const r = loadObjectBtf(obj, opts.elf);
      if (r.btf) col.btf = r.btf;
      else if (obj.sections.some((s) => s.name === ".BTF")) {
        col.btfMissing = r;
        col.notes.push(`loading ${obj.file} without its BTF: ${r.why}`);
      }
    }
    createMaps(obj, col);
    fillInitialValues(obj, col, (name) => col.maps.get(name)?.fd, "map");
    for (const spec of selected) {
      try {
        col.programs.push(loadOne(obj, spec, col, opts));
      } catch (e) {
        if (!opts.keepGoing || !(e instanceof Error)) throw e;
        col.failures.push({ spec, error: e });
      }
    }
    fillTailCalls(col, !!opts.keepGoing);
    fillInitialValues(obj, col, (name) => col.programs.find((p) => p.spec.name === name)?.program.fd, "program");
    return col;
  } catch (e) {
    col.close();
    throw e;
  }
}

function loadOne(obj: ObjectSpec, spec: ProgramSpec, col: Collection, opts: CollectionOptions): LoadedProgram {
  const type = opts.type ?? spec.progType;
  if (!type) {
    throw new UsageError(`${obj.file}: section '${spec.section}' does not name a program type: give --type (e.g. kprobe, tracepoint, socket_filter)`);
  }
  if (spec.relocations.some((r) => r.kind === "call")) requireFeature("bpfToBpfCalls", `BPF-to-BPF calls (program '${spec.name}')`);
  const fold = hasFeature("globalData") === false;
  const { insns, pieces } = linkProgramPieces(obj, spec, {
    mapFd: (name) => {
      if (fold && obj.maps.some((m) => m.kind === "data" && m.name === name)) return 0; // folded below
      const m = col.maps.get(name);
      if (!m) throw new UsageError(`${obj.file}: program '${spec.name}' refers to map '${name}', which was not created`);
      return m.fd;
    },
  });
  if (fold) foldGlobalData(obj, spec, insns, pieces);
  const callback = pieces.flatMap((p) => p.fn.relocations.map((r) => ({ fn: p.fn, r }))).find((x) => x.r.kind === "func");
  let required: string | undefined;
  if (callback) {
    const t = callback.r.target;
    const target = t && obj.functions.find((f) => f.sectionIndex === t.sectionIndex && f.sectionOffset === t.insnIndex * 8);
    required = `program '${spec.name}' passes the function '${target?.name ?? callback.r.symbol}' as a callback (bpf_loop, bpf_for_each_map_elem...), for which the kernel wants the object's BTF func_info`;
  }
  const btf = programBtf(col, pieces, required);
  if (required && !btf) {
    const why = col.btf ? "this kernel takes no func_info with BPF_PROG_LOAD" : (col.btfMissing?.why ?? `${obj.file} has no BTF`);
    throw new NotSupportedError("BTF func_info (BTF functions)", col.btfMissing?.needsKernel ?? featureSince("btfFunc"), `${required}: ${why}`);
  }
  const core = pieces.find((p) => p.fn.coreRelocations);
  if (core) {
    throw new ObjectError(obj.file, `program '${spec.name}' needs CO-RE relocations (in '${core.fn.name}'), which bpfload does not apply: build it without BPF_CORE_READ/preserve_access_index, or load it with libbpf`, { section: spec.section });
  }
  // libbpf's SEC_ATTACHABLE_OPT: before 4.17 the program type alone was enough
  const dropAttachType = spec.expectedAttachTypeOptional && hasFeature("expectedAttachType") === false;
  // a required one on such a kernel: its BPF_PROG_LOAD attr ends before the field (E2BIG): say what is needed
  if (spec.expectedAttachType !== undefined && !spec.expectedAttachTypeOptional && type === spec.progType && hasFeature("expectedAttachType") === false) {
    const sp = sectionToProgram(spec.section);
    throw new NotSupportedError(`section '${spec.section}' (expected attach type ${sp?.expectedAttachTypeName ?? spec.expectedAttachType})`, sp?.since ?? featureSince("expectedAttachType"), `program '${spec.name}'`);
  }
  const program = loadProgram({
    name: spec.name, type, insns, license: opts.license ?? obj.license, kernVersion: opts.kernVersion, logLevel: opts.logLevel,
    expectedAttachType: type === spec.progType && !dropAttachType ? spec.expectedAttachType : undefined,
    progFlags: type === spec.progType ? spec.progFlags : undefined,
    // from the section: what tracing/lsm programs are loaded against (attach_btf_id)
    ...(spec.needsBtfTarget ? { btfTarget: spec.btfTarget } : {}),
    btf, note: (t) => col.notes.push(t),
    annotateLog: btf?.lineInfo ? undefined : annotator(col, opts, obj, pieces),
  });
  return { spec, program, insnCount: insns.length / 8 };
}

/**
 * A kernel without global data (before 5.2): every .rodata read of the program becomes an
 * immediate; .data/.bss, or a .rodata pointer used otherwise, is refused naming 5.2.
 */
function foldGlobalData(obj: ObjectSpec, spec: ProgramSpec, insns: Uint8Array, pieces: LinkedPiece[]): void {
  const sites: RodataSite[] = [];
  for (const p of pieces) {
    for (const r of p.fn.relocations) {
      if (r.kind !== "data") continue;
      const map = obj.maps.find((m) => m.kind === "data" && m.name === r.map)!;
      const sym = r.symbol && r.symbol !== map.name ? `'${r.symbol}' in ${map.name}` : map.name;
      if ((map.flags & BPF_F_RDONLY_PROG) === 0) {
        throw new NotSupportedError("global data (.data/.rodata/.bss)", featureSince("globalData"), `program '${spec.name}' uses ${sym}, a writable variable; bpfload folds only .rodata reads into constants on this kernel`);
      }
      sites.push({ insn: p.start + r.insnIndex, data: map.initialData ?? new Uint8Array(map.valueSize), offset: r.offset ?? 0, name: sym });
    }
  }
  try {
    foldRodata(insns, sites);
  } catch (e) {
    if (!(e instanceof FoldError)) throw e;
    throw new NotSupportedError("global data (.data/.rodata/.bss)", featureSince("globalData"), `program '${spec.name}' reads ${e.message}; bpfload folds .rodata into constants on this kernel only where every use is a read at a constant offset`);
  }
}

/** Source lines for a rejection's log from .BTF.ext, when the kernel got no line_info. */
function annotator(col: Collection, opts: CollectionOptions, obj: ObjectSpec, pieces: LinkedPiece[]): ((log: string) => string) | undefined {
  const ext = col.btf?.ext ?? (opts.elf ? readObjectExt(obj, opts.elf) : undefined);
  if (!ext) return undefined;
  return (log) => annotateVerifierLog(log, programExtInfo(ext, pieces).lineInfo);
}

/** The program's func_info and line_info for BPF_PROG_LOAD, when the kernel takes them. */
function programBtf(col: Collection, pieces: LinkedPiece[], required: string | undefined): ProgramBtf | undefined {
  const b = col.btf;
  if (!b || !b.progInfo || !b.ext) return undefined;
  const info = programExtInfo(b.ext, pieces);
  if (!info.funcInfo) {
    if (!required) return undefined;
    col.notes.push(`no func_info sent: ${info.funcInfoProblem}`);
    return undefined;
  }
  return {
    fd: b.fd,
    funcInfo: encodeFuncInfo(info.funcInfo),
    lineInfo: info.lineInfo.length ? encodeLineInfo(info.lineInfo, b.stringOffset) : undefined,
    required,
  };
}

/**
 * `.values = { [i] = &x }` of BTF maps: inner maps of a map-in-map (right after the maps are
 * created), programs of a prog-array (after the programs loaded; one not loaded is left out, said).
 */
function fillInitialValues(obj: ObjectSpec, col: Collection, fdOf: (name: string) => number | undefined, kind: "map" | "program"): void {
  for (const spec of obj.maps) {
    if (!spec.initialValues?.length || (spec.type === BPF_MAP_TYPE_PROG_ARRAY) !== (kind === "program")) continue;
    const map = col.maps.get(spec.name);
    if (!map) continue;
    for (const { index, symbol } of spec.initialValues) {
      const fd = fdOf(symbol);
      if (fd === undefined) {
        col.notes.push(`map '${spec.name}'[${index}] left empty: ${kind} '${symbol}' was not loaded`);
        continue;
      }
      const key = new Uint8Array(map.def.keySize);
      if (key.length >= 4) new DataView(key.buffer).setUint32(0, index, true);
      const value = new Uint8Array(4);
      new DataView(value.buffer).setUint32(0, fd, true);
      map.update(key, value);
    }
  }
}

/** 4.9 samples: a program in section "TYPE/N" goes to index N of the object's PROG_ARRAY map. */
function fillTailCalls(col: Collection, keepGoing: boolean): void {
  const targets = col.programs.filter((p) => p.spec.tailCallIndex !== undefined);
  if (!targets.length) return;
  const progArray = [...col.maps.values()].find((m) => m.def.type === BPF_MAP_TYPE_PROG_ARRAY);
  if (!progArray) return;
  for (const t of targets) {
    const key = new Uint8Array(4);
    new DataView(key.buffer).setUint32(0, t.spec.tailCallIndex!, true);
    const value = new Uint8Array(4);
    new DataView(value.buffer).setUint32(0, t.program.fd, true);
    try {
      progArray.update(key, value);
    } catch (e) {
      if (!keepGoing || !(e instanceof Error)) throw e;
      // A PROG_ARRAY takes programs of the type of the first program that used it.
      const why = new UsageError(`tail-call target '${t.spec.name}' (section ${t.spec.section}) cannot go into '${progArray.def.name}'[${t.spec.tailCallIndex}]: ${e.message} (a PROG_ARRAY holds programs of one type only)`);
      col.failures.push({ spec: t.spec, error: why });
    }
  }
}

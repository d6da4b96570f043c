// Loading an object: its BTF into the kernel (when it has and takes it), maps (data sections filled
// in, .rodata frozen, map-in-map values set), then each selected program linked against them and
// loaded with its func_info/line_info, then prog-array values and 4.9-samples tail-call targets.
import { CoreRelocator, explainPoisonedLoad, relocateProgram, type CoreRelocationResult } from "../btf/core/index.ts";
import { annotateVerifierLog } from "../elf/annotate-log.ts";
import { encodeFuncInfo, encodeLineInfo, programExtInfo } from "../elf/btf-ext-link.ts";
import { BTF_KIND_ARRAY, BTF_KIND_CONST, BTF_KIND_RESTRICT, BTF_KIND_STRUCT, BTF_KIND_TYPE_TAG, BTF_KIND_TYPEDEF, BTF_KIND_UNION, BTF_KIND_VOLATILE, Btf, BtfError, readBtfExt, type BtfExt } from "../elf/btf.ts";
import type { ExternSpec } from "../elf/externs.ts";
import { FoldError, foldRodata, type RodataSite } from "../elf/fold-rodata.ts";
import type { MapSpec, ObjectSpec, ProgramSpec } from "../elf/types.ts";
import { linkProgramPieces, type LinkedPiece } from "../elf/link.ts"; // not elf/index.ts: the whole reader
import { sectionToProgram } from "../elf/sections.ts";
import { InvalidArgumentError, NotSupportedError, ObjectError, SyscallError, VerifierError, opt, optionText } from "../errors.ts";
import { BPF_F_RDONLY_PROG, BPF_MAP_TYPE_PROG_ARRAY, MAP_TYPES, type ProgTypeName } from "../uapi.ts";
import type { FreplaceTarget } from "./attach/freplace.ts";
import { loadObjectBtf, readObjectExt, type ObjectBtf } from "./btf/load.ts";
import { lazyCoreTarget, type CoreTarget } from "./btf/core-target.ts";
import { featureSince, hasFeature, requireFeature } from "./features/probes.ts";
import { explainExternLog, externPatch, prepareExterns, rewriteMissingHelpers } from "./externs/load.ts";
import type { KsymResolver } from "./externs/ksyms.ts";
import { createMap, type BpfMap, type MapDefinition } from "./map.ts";
import { loadProgram, type Program, type ProgramBtf } from "./program.ts";
import { createStructOpsMaps, type LoadedStructOps } from "./struct-ops.ts";
import type { StructOpsProgramTarget } from "../elf/struct-ops.ts";
import type { KernelVersion } from "./features/version.ts";

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
  /** A map to use instead of creating one for `spec` (an existing or pinned map); the collection owns and closes it. */
  existingMap?: (spec: MapSpec) => BpfMap | undefined;
  /** freplace programs: the loaded program whose function they replace (--target). */
  freplaceTarget?: FreplaceTarget;
  /** BTF to resolve CO-RE relocations against (--btf FILE); default: the running kernel's (vmlinux + modules). */
  targetBtf?: CoreTarget;
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
  /** The object's externs by name, the .kconfig map's bytes when it has __kconfig ones, their resolver. */
  externs = new Map<string, ExternSpec>();
  kconfig?: Uint8Array;
  ksyms?: KsymResolver;
  /** CO-RE: one relocator per object (libbpf keeps its candidate cache per object too), and each program's results. */
  core?: { relocator: CoreRelocator; ext: BtfExt; source: string };
  readonly coreResults = new Map<string, CoreRelocationResult[]>();
  /** struct_ops maps (registered at attach: LoadedStructOps.register) and what each of their programs is loaded against. */
  structOps: LoadedStructOps[] = [];
  structOpsTargets = new Map<string, StructOpsProgramTarget>();

  close(): void {
    for (const p of this.programs) p.program.close();
    for (const m of this.maps.values()) m.close();
    this.btf?.close();
    this.btf = undefined;
    this.ksyms?.close();
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

/**
 * Map types whose values are fds or kernel objects: the kernel takes no BTF key/value types for them
 * (ENOTSUPP), so libbpf never sends any. Neither does bpfload: the refused try cost a sockmap 20 ms
 * (the kernel frees the map it had made behind an RCU grace period).
 */
const NO_BTF_KEY_VALUE = new Set(["perf_event_array", "cgroup_array", "stack_trace", "array_of_maps", "hash_of_maps", "devmap", "devmap_hash", "cpumap", "xskmap", "sockmap", "sockhash", "queue", "stack"]);

/** The BTF part of a map's creation: key/value type ids of BTF maps, the DATASEC of data sections. */
function mapBtf(spec: MapSpec, btf: ObjectBtf | undefined): Pick<MapDefinition, "btfFd" | "btfKeyTypeId" | "btfValueTypeId"> {
  if (!btf || NO_BTF_KEY_VALUE.has(MAP_TYPES[spec.type] ?? "")) return {};
  if (spec.kind === "btf" && spec.valueTypeId) return { btfFd: btf.fd, btfKeyTypeId: spec.keyTypeId ?? 0, btfValueTypeId: spec.valueTypeId };
  if (spec.kind === "data") {
    const sec = btf.btf.datasec(spec.name);
    if (sec) return { btfFd: btf.fd, btfKeyTypeId: 0, btfValueTypeId: sec.id };
  }
  return {};
}

function createMaps(obj: ObjectSpec, col: Collection, existingMap?: CollectionOptions["existingMap"]): void {
  const into = col.maps;
  const notes = col.notes;
  const create = (spec: MapSpec, innerMapFd?: number) => {
    const existing = existingMap?.(spec);
    if (existing) {
      into.set(spec.name, existing);
      return existing;
    }
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
    createMaps(obj, col, opts.existingMap);
    if (obj.structOps) {
      const fdOf = (name: string) => col.programs.find((p) => p.spec.name === name)?.program.fd;
      const so = createStructOpsMaps(obj, col.btf, col.btfMissing?.why, fdOf, (m) => col.maps.set(m.def.name, m));
      col.structOps = so.maps;
      col.structOpsTargets = so.targets;
    }
    prepareExterns(obj, col, opts); // the .kconfig map and the ksym/kfunc resolver (kernel/externs/load.ts)
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
    throw new InvalidArgumentError("type", optionText`${obj.file}: section '${spec.section}' does not name a program type: give ${opt("type", undefined, "the program type")} (e.g. kprobe, tracepoint, socket_filter)`);
  }
  if (spec.relocations.some((r) => r.kind === "call")) requireFeature("bpfToBpfCalls", `BPF-to-BPF calls (program '${spec.name}')`);
  const fold = hasFeature("globalData") === false;
  const { insns, pieces } = linkProgramPieces(obj, spec, {
    mapFd: (name) => {
      if (fold && obj.maps.some((m) => m.kind === "data" && m.name === name)) return 0; // folded below
      const m = col.maps.get(name);
      if (!m) throw new InvalidArgumentError("programs", `${obj.file}: program '${spec.name}' refers to map '${name}', which was not created`);
      return m.fd;
    },
    extern: (name, call) => externPatch(obj, spec, col, name, call, fold),
  });
  // CO-RE first: the relocated instructions are the compiler's, before any folding
  const core = pieces.some((p) => p.fn.coreRelocations) ? applyCore(obj, spec, insns, pieces, col, opts) : undefined;
  if (fold) foldGlobalData(obj, spec, insns, pieces, col);
  rewriteMissingHelpers(spec, insns, col); // bpf_probe_read_kernel & co. before 5.5 (kernel/externs/load.ts)
  const callback = pieces.flatMap((p) => p.fn.relocations.map((r) => ({ fn: p.fn, r }))).find((x) => x.r.kind === "func");
  let required: string | undefined;
  if (callback) {
    const t = callback.r.target;
    const target = t && obj.functions.find((f) => f.sectionIndex === t.sectionIndex && f.sectionOffset === t.insnIndex * 8);
    required = `program '${spec.name}' passes the function '${target?.name ?? callback.r.symbol}' as a callback (bpf_loop, bpf_for_each_map_elem...), for which the kernel wants the object's BTF func_info`;
  }
  const ext = type === "ext" ? extTarget(obj, spec, opts.freplaceTarget) : undefined;
  // the kernel checks an freplace program's function type against the target's through func_info
  if (ext) required ??= `freplace program '${spec.name}' is checked against '${ext.btfTarget}' of ${opts.freplaceTarget!.describe} through its BTF func_info`;
  const btf = programBtf(col, pieces, required);
  if (required && !btf) {
    const why = col.btf ? "this kernel takes no func_info with BPF_PROG_LOAD" : (col.btfMissing?.why ?? `${obj.file} has no BTF`);
    throw new NotSupportedError("BTF func_info (BTF functions)", col.btfMissing?.needsKernel ?? featureSince("btfFunc"), `${required}: ${why}`);
  }
  // libbpf's SEC_ATTACHABLE_OPT: before 4.17 the program type alone was enough
  const dropAttachType = spec.expectedAttachTypeOptional && hasFeature("expectedAttachType") === false;
  // a required one on such a kernel: its BPF_PROG_LOAD attr ends before the field (E2BIG): say what is needed
  if (spec.expectedAttachType !== undefined && !spec.expectedAttachTypeOptional && type === spec.progType && hasFeature("expectedAttachType") === false) {
    const sp = sectionToProgram(spec.section);
    throw new NotSupportedError(`section '${spec.section}' (expected attach type ${sp?.expectedAttachTypeName ?? spec.expectedAttachType})`, sp?.since ?? featureSince("expectedAttachType"), `program '${spec.name}'`);
  }
  // struct_ops: loaded against the kernel struct its variable implements, the member's index as attach type
  const structOps = type === "struct_ops" ? col.structOpsTargets.get(spec.name) : undefined;
  if (type === "struct_ops" && !structOps) {
    throw new InvalidArgumentError("programs", `${obj.file}: struct_ops program '${spec.name}' (section ${spec.section}) is the member of no SEC(".struct_ops") variable of the object: there is nothing to load it against`);
  }
  const program = explainingPoison(core, () => loadProgram({
    name: spec.name, type, insns, license: opts.license ?? obj.license, kernVersion: opts.kernVersion, logLevel: opts.logLevel,
    expectedAttachType: type === spec.progType && !dropAttachType ? spec.expectedAttachType : undefined,
    progFlags: type === spec.progType ? spec.progFlags : undefined,
    // from the section: what tracing/lsm programs are loaded against (attach_btf_id)
    ...(spec.needsBtfTarget ? { btfTarget: spec.btfTarget } : {}),
    ...ext,
    ...(structOps ? { attachBtfId: structOps.attachBtfId, expectedAttachType: structOps.memberIndex, btfTarget: structOps.what } : {}),
    btf, note: (t) => col.notes.push(t),
    annotateLog: explainExternLog(col, btf?.lineInfo ? undefined : annotator(col, opts, obj, pieces)),
    fdArray: col.ksyms?.fdArray,
  }));
  return { spec, program, insnCount: insns.length / 8 };
}

/** attach_prog_fd and attach_btf_id of an freplace program: the function from its freplaceTarget, else from the section (freplace/FUNC). */
function extTarget(obj: ObjectSpec, spec: ProgramSpec, target: FreplaceTarget | undefined): { attachProgFd: number; attachBtfId: number; btfTarget: string } {
  const func = target?.func ?? (spec.btfTarget || undefined);
  const form = optionText`${opt("freplaceTarget", "PROG_ID:FUNC")} or ${opt("freplaceTarget", "PIN_PATH:FUNC")}`;
  if (!target) throw new InvalidArgumentError("freplaceTarget", optionText`${obj.file}: program '${spec.name}' (section ${spec.section}) replaces a function of another loaded program (freplace): name that program with ${form}`);
  if (!func) throw new InvalidArgumentError("freplaceTarget", optionText`${obj.file}: program '${spec.name}' (section ${spec.section}) does not say which function of ${target.describe} it replaces: give ${form} or name it in the section (freplace/FUNC)`);
  return { attachProgFd: target.progFd, attachBtfId: target.funcId(func), btfTarget: func };
}

/** The object's own BTF and .BTF.ext for CO-RE (already parsed when its BTF went to the kernel). */
function objectCoreBtf(obj: ObjectSpec, col: Collection, opts: CollectionOptions): { btf: Btf; ext: BtfExt } {
  if (col.btf?.ext) return { btf: col.btf.btf, ext: col.btf.ext };
  const bytesOf = (name: string) => {
    const s = obj.sections.find((x) => x.name === name && x.type === 1 /* SHT_PROGBITS */);
    return s && opts.elf ? opts.elf.subarray(s.offset, s.offset + s.size) : undefined;
  };
  const raw = bytesOf(".BTF");
  const extBytes = bytesOf(".BTF.ext");
  if (!raw || !extBytes) throw new ObjectError(obj.file, "has CO-RE relocations but its .BTF/.BTF.ext could not be read");
  try {
    const btf = new Btf(raw).validate();
    return { btf, ext: readBtfExt(extBytes, () => btf) };
  } catch (e) {
    if (e instanceof BtfError) throw new ObjectError(obj.file, `its BTF is invalid: ${e.message}`, { section: ".BTF", offset: e.offset });
    throw e;
  }
}

/**
 * Applies the CO-RE relocations of the linked program in place (against opts.targetBtf or the
 * running kernel's BTF); a malformed or ambiguous one stops the load, an unresolved one poisons its
 * instruction (explained if the verifier reaches it). Each one applied is a note for --verbose.
 */
function applyCore(obj: ObjectSpec, spec: ProgramSpec, insns: Uint8Array, pieces: LinkedPiece[], col: Collection, opts: CollectionOptions): CoreRelocationResult[] {
  if (!col.core) {
    const local = objectCoreBtf(obj, col, opts);
    const target = opts.targetBtf ?? lazyCoreTarget(undefined);
    col.core = { relocator: new CoreRelocator(local.btf, target.targets, target.modules), ext: local.ext, source: target.source };
  }
  const results = relocateProgram(col.core.relocator, insns, pieces, col.core.ext.coreRelo);
  col.coreResults.set(spec.name, results);
  for (const r of results) {
    if (r.error) {
      throw new ObjectError(obj.file, `program '${spec.name}': CO-RE relocation ${r.index} (${r.kindName} ${r.access || r.spec}, in '${r.function}' insn ${r.insn}) against ${col.core.source}: ${r.error}`, { section: r.section });
    }
    const to = r.target ? `[${r.target.typeId}] ${r.target.access}${r.target.btf !== "vmlinux" ? ` (module ${r.target.btf})` : ""}` : "not found";
    const change = r.poisoned ? `poisoned (${r.why})` : `${r.oldValue} -> ${r.newValue}`;
    col.notes.push(`program '${spec.name}': CO-RE relocation ${r.index} ${r.kindName} ${r.access} (${r.spec}) at insn ${r.linkedInsn}: ${to} in ${col.core.source}: ${change}`);
  }
  return results;
}

/** A verifier rejection at a poisoned CO-RE instruction, said as the relocation that could not be resolved. */
function explainingPoison<T>(core: CoreRelocationResult[] | undefined, load: () => T): T {
  try {
    return load();
  } catch (e) {
    if (!core || !(e instanceof VerifierError)) throw e;
    const why = explainPoisonedLoad(e.log, core);
    if (!why) throw e;
    throw new VerifierError(e.what, e.errno, e.log, why);
  }
}

/**
 * A kernel without global data (before 5.2): every .rodata read of the program becomes an
 * immediate; .data/.bss, or a .rodata pointer used otherwise, is refused naming 5.2.
 */
function foldGlobalData(obj: ObjectSpec, spec: ProgramSpec, insns: Uint8Array, pieces: LinkedPiece[], col: Collection): void {
  const sites: RodataSite[] = [];
  for (const p of pieces) {
    for (const r of p.fn.relocations) {
      const ext = r.kind === "extern" ? col.externs.get(r.symbol) : undefined;
      if (ext?.kconfig && col.kconfig) {
        // a __kconfig value: read-only like .rodata, folded the same way
        sites.push({ insn: p.start + r.insnIndex, data: col.kconfig, offset: ext.kconfig.offset, name: `'${r.symbol}' (__kconfig)` });
        continue;
      }
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
      const why = new InvalidArgumentError("programs", `tail-call target '${t.spec.name}' (section ${t.spec.section}) cannot go into '${progArray.def.name}'[${t.spec.tailCallIndex}]: ${e.message} (a PROG_ARRAY holds programs of one type only)`);
      col.failures.push({ spec: t.spec, error: why });
    }
  }
}

// Loading an object: maps first (data sections filled in), then each selected program linked
// against them and loaded, then 4.9-samples tail-call targets put into the object's PROG_ARRAY.
import type { MapSpec, ObjectSpec, ProgramSpec } from "../elf/index.ts";
import { linkProgramPieces } from "../elf/index.ts";
import { ObjectError, UsageError } from "../errors.ts";
import { BPF_MAP_TYPE_PROG_ARRAY, type ProgTypeName } from "../uapi.ts";
import { requireFeature } from "./features/probes.ts";
import { createMap, type BpfMap } from "./map.ts";
import { loadProgram, type Program } from "./program.ts";
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
}

export class Collection {
  readonly maps = new Map<string, BpfMap>();
  readonly programs: LoadedProgram[] = [];
  /** Programs that did not load, when loading went on past them (keepGoing). */
  readonly failures: { spec: ProgramSpec; error: Error }[] = [];
  /** What was decided on the object's behalf (for --verbose). */
  readonly notes: string[] = [];

  close(): void {
    for (const p of this.programs) p.program.close();
    for (const m of this.maps.values()) m.close();
  }
}

function createMaps(obj: ObjectSpec, into: Map<string, BpfMap>, notes: string[]): void {
  const create = (spec: MapSpec, innerMapFd?: number) => {
    if (spec.kind === "data") requireFeature("globalData", `global data (section ${spec.name})`, `${obj.file} uses .data/.rodata/.bss variables`);
    const map = createMap({ name: spec.name, type: spec.type, keySize: spec.keySize, valueSize: spec.valueSize, maxEntries: spec.maxEntries, flags: spec.flags, innerMapFd });
    into.set(spec.name, map);
    if (spec.maxEntries !== map.def.maxEntries) {
      notes.push(`map '${spec.name}' (${map.typeName}): max_entries 0 means one per CPU (as libbpf does): ${map.def.maxEntries} possible CPUs`);
    }
    if (spec.initialData && spec.initialData.length) map.update(new Uint8Array(4), spec.initialData);
    return map;
  };
  for (const spec of obj.maps) {
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
    createMaps(obj, col.maps, col.notes);
    for (const spec of selected) {
      try {
        col.programs.push(loadOne(obj, spec, col, opts));
      } catch (e) {
        if (!opts.keepGoing || !(e instanceof Error)) throw e;
        col.failures.push({ spec, error: e });
      }
    }
    fillTailCalls(col, !!opts.keepGoing);
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
  const { insns, pieces } = linkProgramPieces(obj, spec, {
    mapFd: (name) => {
      const m = col.maps.get(name);
      if (!m) throw new UsageError(`${obj.file}: program '${spec.name}' refers to map '${name}', which was not created`);
      return m.fd;
    },
  });
  const callback = pieces.flatMap((p) => p.fn.relocations.map((r) => ({ fn: p.fn, r }))).find((x) => x.r.kind === "func");
  if (callback) {
    const t = callback.r.target;
    const target = t && obj.functions.find((f) => f.sectionIndex === t.sectionIndex && f.sectionOffset === t.insnIndex * 8);
    throw new ObjectError(obj.file, `program '${spec.name}' passes the function '${target?.name ?? callback.r.symbol}' as a callback (bpf_loop, bpf_for_each_map_elem...): the kernel then wants the object's BTF func_info, which bpfload does not load yet`, { section: spec.section, offset: callback.r.fileOffset });
  }
  const core = pieces.find((p) => p.fn.coreRelocations);
  if (core) {
    throw new ObjectError(obj.file, `program '${spec.name}' needs CO-RE relocations (in '${core.fn.name}'), which bpfload does not apply: build it without BPF_CORE_READ/preserve_access_index, or load it with libbpf`, { section: spec.section });
  }
  const program = loadProgram({
    name: spec.name, type, insns, license: opts.license ?? obj.license, kernVersion: opts.kernVersion, logLevel: opts.logLevel,
    // from the section: what tracing/lsm programs are loaded against (attach_btf_id)
    ...(spec.needsBtfTarget ? { expectedAttachType: spec.expectedAttachType, progFlags: spec.progFlags, btfTarget: spec.btfTarget } : {}),
  });
  return { spec, program, insnCount: insns.length / 8 };
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

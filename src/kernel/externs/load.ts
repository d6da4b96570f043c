// The loader's extern steps, kept out of collection.ts: before the programs, the .kconfig map
// (values from kconfig.ts) and the resolver of __ksym variables and kfuncs (ksyms.ts); while
// linking, what each extern reference becomes; after linking, the helper calls this kernel lacks
// rewritten to their older equivalents (elf/helper-rewrite.ts).
import { Btf } from "../../elf/btf.ts";
import { ExternError, KCONFIG_MAP, kconfigSize, POISON_CALL_KFUNC_BASE, type ExternPatch } from "../../elf/externs.ts";
import { probeReadKernelCalls, rewriteProbeReadHelpers } from "../../elf/helper-rewrite.ts";
import type { ObjectSpec, ProgramSpec } from "../../elf/types.ts";
import { ObjectError, SyscallError, SystemError } from "../../errors.ts";
import { BPF_F_RDONLY_PROG, BPF_MAP_TYPE_ARRAY } from "../../uapi.ts";
import type { Collection, CollectionOptions } from "../collection.ts";
import { featureSince, hasFeature } from "../features/probes.ts";
import { kconfigValues } from "./kconfig.ts";
import { KsymResolver } from "./ksyms.ts";
import { createMap, type BpfMap, type MapDefinition } from "../map.ts";

/** The object's own BTF when it is not in the kernel (for the kfuncs' prototypes). */
function objectBtf(obj: ObjectSpec, elf: Uint8Array | undefined): Btf | undefined {
  const s = obj.sections.find((x) => x.name === ".BTF");
  if (!s || !elf) return undefined;
  try {
    return new Btf(elf.subarray(s.offset, s.offset + s.size));
  } catch {
    return undefined;
  }
}

/**
 * The externs' part of loading, once per object (libbpf resolves them all, for every program):
 * the .kconfig map (read-only, frozen, typed by the .kconfig DATASEC when the object's BTF is in
 * the kernel) and the resolver that opens module BTFs as kfuncs/ksyms need them (closed with the collection).
 */
export function prepareExterns(obj: ObjectSpec, col: Collection, opts: CollectionOptions): void {
  if (!obj.externs?.length) return;
  for (const e of obj.externs) col.externs.set(e.name, e);
  col.ksyms = new KsymResolver(() => col.btf?.btf ?? objectBtf(obj, opts.elf), col.externs);
  const list = obj.externs;
  const size = kconfigSize(list);
  if (!size) return;
  col.kconfig = externStep(obj, () => kconfigValues(list, opts.kernVersion?.code));
  // without global data (before 5.2) the reads fold into constants instead (collection.ts foldGlobalData)
  if (hasFeature("globalData") === false) return;
  const sec = col.btf?.btf.datasec(KCONFIG_MAP);
  const def: MapDefinition = { name: KCONFIG_MAP, type: BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: size, maxEntries: 1, flags: BPF_F_RDONLY_PROG };
  let map: BpfMap;
  try {
    map = createMap(sec && col.btf ? { ...def, btfFd: col.btf.fd, btfKeyTypeId: 0, btfValueTypeId: sec.id } : def);
  } catch (e) {
    // as for other maps: created without its BTF when the kernel refuses the type
    if (!sec || !(e instanceof SyscallError)) throw e;
    map = createMap(def);
  }
  col.maps.set(KCONFIG_MAP, map);
  map.update(new Uint8Array(4), col.kconfig);
  map.freeze();
}

/** ExternError as the one-line errors users see: a declaration that cannot match is bad input (2), a kernel that lacks it is 1. */
function externStep<T>(obj: ObjectSpec, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (!(e instanceof ExternError)) throw e;
    if (e.badInput) throw new ObjectError(obj.file, e.message);
    throw new SystemError(`${obj.file}: ${e.message}`);
  }
}

/** What the linker writes for one extern reference of `spec` (LinkResolver.extern). */
export function externPatch(obj: ObjectSpec, spec: ProgramSpec, col: Collection, name: string, call: boolean, fold: boolean): ExternPatch {
  return externStep(obj, () => {
    if (!col.ksyms) throw new ExternError(`program '${spec.name}' refers to extern '${name}', which the object does not describe`);
    return col.ksyms.resolve(name, call, (e) => {
      const m = col.maps.get(KCONFIG_MAP);
      if (!m && !fold) throw new ExternError(`program '${spec.name}' reads ${name}, but the .kconfig map was not created`);
      return { kind: "map-value", fd: m?.fd ?? 0, offset: e.kconfig!.offset };
    });
  });
}

/**
 * bpf_probe_read_kernel/_user[_str] calls on a kernel without them (before 5.5) become
 * bpf_probe_read[_str], as libbpf does; probed only for programs that make such calls.
 */
export function rewriteMissingHelpers(spec: ProgramSpec, insns: Uint8Array, col: Collection): void {
  if (!probeReadKernelCalls(insns) || hasFeature("probeReadKernel") !== false) return;
  const n = rewriteProbeReadHelpers(insns);
  col.notes.push(`program '${spec.name}': ${n} call${n > 1 ? "s" : ""} of bpf_probe_read_kernel/_user[_str] rewritten to bpf_probe_read[_str] (this kernel has no bpf_probe_read_kernel, ${featureSince("probeReadKernel")})`);
}

/**
 * A verifier log that reached a poisoned call (a weak kfunc this kernel lacks, not guarded by
 * bpf_ksym_exists): its `unknown#2002000000+N` named, the way libbpf fixes up such logs.
 */
export function explainExternLog(col: Collection, inner: ((log: string) => string) | undefined): ((log: string) => string) | undefined {
  if (![...col.externs.values()].some((e) => e.kind === "kfunc" && e.weak)) return inner;
  const names = [...col.externs.keys()];
  return (log) => {
    const named = log.replace(/^(.*\bunknown#(\d+))$/gm, (line, _all, id: string) => {
      const name = names[Number(id) - POISON_CALL_KFUNC_BASE];
      return name === undefined ? line : `${line} (the weak kfunc '${name}', which this kernel lacks: guard its call with bpf_ksym_exists())`;
    });
    return inner ? inner(named) : named;
  };
}

// The object's BTF made loadable where it describes externs, as libbpf fixes it before
// BPF_BTF_LOAD (bpf_object__collect_externs): the kernel takes no VAR or FUNC of extern linkage,
// no DATASEC entry that is a FUNC, no VAR of type void, and no FUNC whose prototype has unnamed
// parameters. So: `.kconfig` VARs become global with their offsets in the .kconfig map (its
// DATASEC sized like the map, whose value type it is); `.ksyms` VARs become 4-byte ints, kfunc
// entries a dummy int VAR, each entry 4 bytes; extern FUNCs global (static where the kernel has no
// global functions), their parameters named. Pure; runs on the records sanitize.ts writes.
import {
  BTF_FUNC_EXTERN, BTF_FUNC_GLOBAL, BTF_FUNC_STATIC, BTF_KIND_DATASEC, BTF_KIND_FUNC, BTF_KIND_FUNC_PROTO, BTF_KIND_INT,
  BTF_KIND_STRUCT, BTF_KIND_VAR, BTF_VAR_GLOBAL_ALLOCATED, BTF_VAR_GLOBAL_EXTERN, BTF_INT_SIGNED,
} from "../elf/btf.ts";
import type { BtfTypeRecord } from "./write.ts";

/** Where each `.kconfig` extern lives in the .kconfig map (elf/externs.ts lays it out). */
export interface ExternBtfLayout {
  kconfig: Map<string, { offset: number; size: number }>;
  kconfigSize: number;
}

const DUMMY_KSYM = "dummy_ksym";

/** Fixes `types` (ids 1..n in order) in place, appending at most an INT and a VAR. */
export function fixExternBtf(types: BtfTypeRecord[], layout: ExternBtfLayout, funcGlobal: boolean): void {
  const byId = (id: number) => types[id - 1];
  const isSection = (t: BtfTypeRecord, name: string) =>
    (t.kind === BTF_KIND_DATASEC && t.name === name) || (t.kind === BTF_KIND_STRUCT && t.name === name.replace(/[.?]/g, "_"));
  // extern FUNCs: global (or static), parameters named
  for (const t of types) {
    if (t.kind !== BTF_KIND_FUNC || t.vlen !== BTF_FUNC_EXTERN) continue;
    t.vlen = funcGlobal ? BTF_FUNC_GLOBAL : BTF_FUNC_STATIC;
    const proto = byId(t.sizeOrType);
    if (proto?.kind === BTF_KIND_FUNC_PROTO) proto.params = proto.params!.map((p) => (p.name || !p.type ? p : { ...p, name: DUMMY_KSYM }));
  }
  const kconfig = types.find((t) => isSection(t, ".kconfig"));
  if (kconfig) {
    kconfig.sizeOrType = layout.kconfigSize;
    const place = (varId: number) => layout.kconfig.get(byId(varId)?.name ?? "");
    if (kconfig.secinfos) {
      kconfig.secinfos = kconfig.secinfos.map((s) => {
        const at = place(s.type);
        return at ? { type: s.type, offset: at.offset, size: at.size } : s;
      }).sort((a, b) => a.offset - b.offset);
    } else if (kconfig.members) {
      kconfig.members = kconfig.members.map((m) => ({ ...m, offset: (place(m.type)?.offset ?? 0) * 8 }));
    }
    for (const s of kconfig.secinfos ?? []) {
      const v = byId(s.type);
      if (v?.kind === BTF_KIND_VAR && v.linkage === BTF_VAR_GLOBAL_EXTERN) v.linkage = BTF_VAR_GLOBAL_ALLOCATED;
    }
  }
  const ksyms = types.find((t) => isSection(t, ".ksyms"));
  if (ksyms) {
    types.push({ kind: BTF_KIND_INT, name: "int", sizeOrType: 4, vlen: 0, kindFlag: false, int: { encoding: BTF_INT_SIGNED, offset: 0, bits: 32 } });
    const intId = types.length;
    types.push({ kind: BTF_KIND_VAR, name: DUMMY_KSYM, sizeOrType: intId, vlen: 0, kindFlag: false, linkage: BTF_VAR_GLOBAL_ALLOCATED });
    const dummyId = types.length;
    const entries = ksyms.secinfos ?? ksyms.members?.map((m) => ({ type: m.type, offset: 0, size: 0 })) ?? [];
    const fixed = entries.map((s, i) => {
      const v = byId(s.type);
      if (v?.kind === BTF_KIND_VAR) {
        v.linkage = BTF_VAR_GLOBAL_ALLOCATED;
        v.sizeOrType = intId;
        return { type: s.type, offset: i * 4, size: 4 };
      }
      if (v?.kind === BTF_KIND_INT) return { type: s.type, offset: i * 4, size: 4 }; // a VAR the sanitizer made an int
      return { type: dummyId, offset: i * 4, size: 4 };
    });
    ksyms.sizeOrType = fixed.length * 4;
    if (ksyms.secinfos) ksyms.secinfos = fixed;
    else ksyms.members = fixed.map((s, i) => ({ name: ksyms.members![i]!.name, type: s.type === dummyId ? intId : s.type, offset: s.offset * 8 }));
  }
}

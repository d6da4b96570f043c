// An object's BTF made loadable by this kernel, the way libbpf prepares it before BPF_BTF_LOAD
// (bpf_object__sanitize_btf and btf_finalize_data): kinds the kernel lacks are replaced by ones it
// has, with the same ids and sizes, so type ids in func_info, line_info and map definitions stay
// valid; and the DATASEC sizes and VAR offsets that clang leaves 0 are filled from the ELF section
// and symbol tables. Pure: the features are booleans the caller probed (kernel/features/probes.ts).

import {
  BTF_FUNC_GLOBAL, BTF_FUNC_STATIC, BTF_KIND_CONST, BTF_KIND_DATASEC, BTF_KIND_DECL_TAG, BTF_KIND_ENUM, BTF_KIND_ENUM64,
  BTF_KIND_FLOAT, BTF_KIND_FUNC, BTF_KIND_FUNC_PROTO, BTF_KIND_INT, BTF_KIND_STRUCT, BTF_KIND_TYPE_TAG, BTF_KIND_TYPEDEF,
  BTF_KIND_UNION, BTF_KIND_VAR, BTF_VAR_GLOBAL_ALLOCATED, BtfError, type Btf,
} from "../elf/btf.ts";
import { fixExternBtf, type ExternBtfLayout } from "./externs-btf.ts";
import { writeBtf, type BtfTypeRecord } from "./write.ts";

/** What the kernel's BTF takes (the btf* feature probes). */
export interface BtfKernelFeatures {
  /** FUNC and FUNC_PROTO (5.0) */
  func: boolean;
  /** FUNC with global linkage (5.6) */
  funcGlobal: boolean;
  /** VAR and DATASEC (5.2) */
  datasec: boolean;
  /** FLOAT (5.13) */
  float: boolean;
  /** DECL_TAG (5.16) */
  declTag: boolean;
  /** TYPE_TAG (5.17) */
  typeTag: boolean;
  /** ENUM64, and the ENUM signedness kind_flag that came with it (6.0) */
  enum64: boolean;
}

export const ALL_BTF_FEATURES: BtfKernelFeatures = { func: true, funcGlobal: true, datasec: true, float: true, declTag: true, typeTag: true, enum64: true };

/** Where the ELF object puts its data: section sizes, and symbol offsets inside a section. */
export interface DataLayout {
  sectionSize(section: string): number | undefined;
  symbolOffset(section: string, symbol: string): number | undefined;
  /** A global function of restricted visibility (`__hidden`: STV_HIDDEN or STV_INTERNAL). */
  hiddenFunction?(name: string): boolean;
}

/** A DataLayout from an object's section and symbol tables (ObjectSpec's shape). */
export function dataLayoutOf(obj: {
  sections: { index: number; name: string; size: number }[];
  symbols: { name: string; value: number; shndx: number; type: number; bind?: number; visibility?: number }[];
}): DataLayout {
  const byName = new Map(obj.sections.map((s) => [s.name, s]));
  const STT_FUNC = 2, STV_INTERNAL = 1, STV_HIDDEN = 2;
  const hidden = new Set(obj.symbols.filter((y) => y.type === STT_FUNC && y.shndx !== 0 && (y.visibility === STV_HIDDEN || y.visibility === STV_INTERNAL)).map((y) => y.name));
  return {
    hiddenFunction: (name) => hidden.has(name),
    sectionSize: (name) => byName.get(name)?.size,
    symbolOffset: (section, symbol) => {
      const s = byName.get(section);
      if (!s) return undefined;
      const STT_OBJECT = 1;
      return obj.symbols.find((y) => y.shndx === s.index && y.name === symbol && y.type === STT_OBJECT)?.value;
    },
  };
}

/** Sections whose DATASEC libbpf fills itself from externs, not from the ELF (skipped by the fix-up). */
const EXTERN_SECTIONS = new Set([".kconfig", ".ksyms"]);

/**
 * DATASEC sizes from the ELF section sizes and global VAR offsets from the ELF symbols, entries
 * sorted by offset (libbpf's btf_fixup_datasec). clang already gives static variables their
 * offsets (it leaves only the globals at 0); externs have no symbol in the section.
 */
function fixDatasec(btf: Btf, t: BtfTypeRecord, layout: DataLayout, at: number): void {
  if (EXTERN_SECTIONS.has(t.name)) return;
  if (t.sizeOrType === 0) {
    const size = layout.sectionSize(t.name);
    if (size === undefined) throw new BtfError(`BTF datasec '${t.name}' has no ELF section to take its size from`, at);
    t.sizeOrType = size;
  }
  t.secinfos = t.secinfos!.map((s) => {
    const v = btf.type(s.type);
    if (v.kind !== BTF_KIND_VAR || v.linkage !== BTF_VAR_GLOBAL_ALLOCATED) return s;
    const off = layout.symbolOffset(t.name, v.name);
    return off === undefined ? s : { ...s, offset: off };
  });
  t.secinfos.sort((a, b) => a.offset - b.offset);
}

function copy(t: BtfTypeRecord): BtfTypeRecord {
  const c: BtfTypeRecord = { ...t };
  if (t.members) c.members = t.members.map((m) => ({ ...m }));
  if (t.values) c.values = t.values.map((v) => ({ ...v }));
  if (t.params) c.params = t.params.map((p) => ({ ...p }));
  if (t.secinfos) c.secinfos = t.secinfos.map((s) => ({ ...s }));
  return c;
}

/**
 * New BTF bytes for this kernel: the same type ids (one INT may be appended as the ENUM64 stand-in),
 * every kind the kernel lacks replaced as libbpf does:
 * - no VAR/DATASEC: VAR → INT of 1 byte; DATASEC → STRUCT of the same size, one member per variable
 *   (its name, the VAR's id as type, the offset in bits), '.' and '?' in its name turned to '_';
 * - no FUNC: FUNC_PROTO → ENUM (its parameters as enumerators), FUNC → TYPEDEF of it;
 * - no global FUNC: global linkage → static (and always for a `__hidden` global function, as libbpf does);
 * - no FLOAT: FLOAT → anonymous STRUCT of the same size;
 * - no DECL_TAG: DECL_TAG → anonymous INT of 1 byte;
 * - no TYPE_TAG: TYPE_TAG → anonymous CONST of the same type;
 * - no ENUM64: ENUM64 → UNION of the same size whose members are the enumerator names, typed by a
 *   1-byte INT 'enum64_placeholder' added at the end; ENUM's signedness kind_flag cleared.
 * With `layout`, DATASEC sizes and VAR offsets are filled first (needed whenever DATASEC is kept).
 */
export function sanitizeBtf(btf: Btf, features: BtfKernelFeatures, layout?: DataLayout, externs?: ExternBtfLayout): Uint8Array {
  const types: BtfTypeRecord[] = [];
  let placeholder = 0;
  for (let id = 1; id < btf.typeCount; id++) {
    const src = btf.type(id);
    const t = copy(src);
    switch (t.kind) {
      case BTF_KIND_DATASEC:
        if (layout) fixDatasec(btf, t, layout, src.sectionOffset);
        if (!features.datasec) {
          t.kind = BTF_KIND_STRUCT;
          t.kindFlag = false;
          t.name = t.name.replace(/[.?]/g, "_");
          t.members = t.secinfos!.map((s) => ({ name: btf.has(s.type) && s.type ? btf.type(s.type).name : "", type: s.type, offset: s.offset * 8 }));
          delete t.secinfos;
        }
        break;
      case BTF_KIND_VAR:
        if (!features.datasec) toByteInt(t);
        break;
      case BTF_KIND_FUNC_PROTO:
        if (!features.func) {
          t.kind = BTF_KIND_ENUM;
          t.kindFlag = false;
          t.sizeOrType = 4;
          t.values = t.params!.map((p) => ({ name: p.name, value: BigInt(p.type) }));
          delete t.params;
        }
        break;
      case BTF_KIND_FUNC:
        if (!features.func) {
          t.kind = BTF_KIND_TYPEDEF;
          t.vlen = 0;
        } else if (t.vlen === BTF_FUNC_GLOBAL && (!features.funcGlobal || layout?.hiddenFunction?.(t.name))) {
          // a __hidden global (libbpf's usdt.bpf.h bpf_usdt_arg) is verified as a static function,
          // in its caller's context, as libbpf marks it: as a global one its pointer args are unknown
          t.vlen = BTF_FUNC_STATIC;
        }
        break;
      case BTF_KIND_FLOAT:
        if (!features.float) {
          t.kind = BTF_KIND_STRUCT;
          t.name = "";
          t.members = [];
        }
        break;
      case BTF_KIND_DECL_TAG:
        if (!features.declTag) {
          toByteInt(t);
          t.name = "";
          delete t.componentIdx;
        }
        break;
      case BTF_KIND_TYPE_TAG:
        if (!features.typeTag) {
          t.kind = BTF_KIND_CONST;
          t.name = "";
        }
        break;
      case BTF_KIND_ENUM:
        if (!features.enum64) {
          t.kindFlag = false;
          t.values = t.values!.map((v) => ({ name: v.name, value: BigInt.asUintN(32, v.value) }));
        }
        break;
      case BTF_KIND_ENUM64:
        if (!features.enum64) {
          placeholder ||= btf.typeCount;
          t.kind = BTF_KIND_UNION;
          t.kindFlag = false;
          t.members = t.values!.map((v) => ({ name: v.name, type: placeholder, offset: 0 }));
          delete t.values;
        }
        break;
    }
    types.push(t);
  }
  if (placeholder) types.push({ kind: BTF_KIND_INT, name: "enum64_placeholder", sizeOrType: 1, vlen: 0, kindFlag: false, int: { encoding: 0, offset: 0, bits: 8 } });
  if (externs) fixExternBtf(types, externs, features.funcGlobal); // externs-btf.ts: libbpf's extern fix-ups
  return writeBtf(types);
}

/** libbpf's stand-in for kinds with nothing to keep: an INT of one byte, no encoding. */
function toByteInt(t: BtfTypeRecord): void {
  t.kind = BTF_KIND_INT;
  t.kindFlag = false;
  t.vlen = 0;
  t.sizeOrType = 1;
  t.int = { encoding: 0, offset: 0, bits: 8 };
  delete t.linkage;
}

// CO-RE access specs: the parsed form of a relocation's access string ("0:57:1") against one BTF,
// and the comparisons libbpf uses to decide whether a target type or field is "the same" as the
// object's (relo_core.c's rules, re-derived: compatible kinds, names without ___flavor, fields
// found through anonymous members, arrays and flexible arrays). Pure.
import {
  BTF_KIND_ARRAY, BTF_KIND_ENUM, BTF_KIND_ENUM64, BTF_KIND_FLOAT, BTF_KIND_FUNC_PROTO, BTF_KIND_FWD, BTF_KIND_INT,
  BTF_KIND_PTR, BTF_KIND_STRUCT, BTF_KIND_UNION, BTF_KIND_TYPEDEF, BTF_KIND_VOLATILE, BTF_KIND_CONST, BTF_KIND_RESTRICT, BTF_KIND_TYPE_TAG, BTF_INT_SIGNED, BtfError, btfKindName, memberBitOffset,
  type Btf, type BtfType,
} from "../../elf/btf.ts";

export const CORE_FIELD_BYTE_OFFSET = 0;
export const CORE_FIELD_BYTE_SIZE = 1;
export const CORE_FIELD_EXISTS = 2;
export const CORE_FIELD_SIGNED = 3;
export const CORE_FIELD_LSHIFT_U64 = 4;
export const CORE_FIELD_RSHIFT_U64 = 5;
export const CORE_TYPE_ID_LOCAL = 6;
export const CORE_TYPE_ID_TARGET = 7;
export const CORE_TYPE_EXISTS = 8;
export const CORE_TYPE_SIZE = 9;
export const CORE_ENUMVAL_EXISTS = 10;
export const CORE_ENUMVAL_VALUE = 11;
export const CORE_TYPE_MATCHES = 12;

/** libbpf's short names of the kinds, as its debug log prints them. */
const KIND_NAMES = [
  "byte_off", "byte_sz", "field_exists", "signed", "lshift_u64", "rshift_u64", "local_type_id", "target_type_id",
  "type_exists", "type_size", "enumval_exists", "enumval_value", "type_matches",
];

export function coreKindName(kind: number): string {
  return KIND_NAMES[kind] ?? `unknown kind ${kind}`;
}

export const isFieldKind = (k: number) => k <= CORE_FIELD_RSHIFT_U64;
export const isTypeKind = (k: number) => k === CORE_TYPE_ID_LOCAL || k === CORE_TYPE_ID_TARGET || k === CORE_TYPE_EXISTS || k === CORE_TYPE_SIZE || k === CORE_TYPE_MATCHES;
export const isEnumvalKind = (k: number) => k === CORE_ENUMVAL_EXISTS || k === CORE_ENUMVAL_VALUE;

/** A relocation that is malformed or ambiguous: the load stops (libbpf fails the same way). */
export class CoreError extends Error {}

/** libbpf's BPF_CORE_SPEC_MAX_LEN: nesting deeper than this is refused. */
const SPEC_MAX_LEN = 64;
const MAX_DEPTH = 32;

export interface Accessor {
  /** The struct/union (named member), or the array element type (index), or the root. */
  typeId: number;
  idx: number;
  /** Member or enumerator name; absent for array indexes and the root. */
  name?: string;
}

export interface Spec {
  btf: Btf;
  rootTypeId: number;
  kind: number;
  /** High-level accessors: named members and array indexes (anonymous members are skipped). */
  accessors: Accessor[];
  /** Raw indexes, one per step, anonymous members included: the access string. */
  raw: number[];
  bitOffset: number;
}

const isComposite = (t: BtfType) => t.kind === BTF_KIND_STRUCT || t.kind === BTF_KIND_UNION;
const isAnyEnum = (t: BtfType) => t.kind === BTF_KIND_ENUM || t.kind === BTF_KIND_ENUM64;

/** The type after typedefs and qualifiers, and its id. */
export function skipMods(btf: Btf, id: number): BtfType {
  for (let i = 0; i <= 2 * MAX_DEPTH; i++) {
    const t = typeAt(btf, id);
    if (!MODIFIERS.has(t.kind)) return t;
    id = t.sizeOrType;
  }
  throw new CoreError(`BTF type chain too long (loop?) at type ${id}`);
}
const MODIFIERS = new Set([BTF_KIND_TYPEDEF, BTF_KIND_VOLATILE, BTF_KIND_CONST, BTF_KIND_RESTRICT, BTF_KIND_TYPE_TAG]);
const VOID: BtfType = { id: 0, kind: 0, name: "", sizeOrType: 0, vlen: 0, kindFlag: false, sectionOffset: 0 };

function typeAt(btf: Btf, id: number): BtfType {
  if (id === 0) return VOID;
  try {
    return btf.type(id);
  } catch (e) {
    if (e instanceof BtfError) throw new CoreError(e.message);
    throw e;
  }
}

/** btf__resolve_size: bytes of a type, or a CoreError for types without one (void, func, fwd). */
export function resolveSize(btf: Btf, id: number): number {
  try {
    return btf.sizeOf(id);
  } catch (e) {
    if (e instanceof BtfError) throw new CoreError(e.message);
    throw e;
  }
}

/** Length of a name without its "___flavor" suffix (libbpf: the last "x___y" separator counts). */
export function essentialNameLength(name: string): number {
  for (let i = name.length - 5; i >= 0; i--) {
    if (name[i] !== "_" && name[i + 1] === "_" && name[i + 2] === "_" && name[i + 3] === "_" && name[i + 4] !== "_") return i + 1;
  }
  return name.length;
}

export const essentialName = (name: string) => name.slice(0, essentialNameLength(name));

/** Same kind, or enum and enum64 (which CO-RE treats as one). */
export function kindsCompatible(a: BtfType, b: BtfType): boolean {
  return a.kind === b.kind || (isAnyEnum(a) && isAnyEnum(b));
}

const namesMatch = (a: string, b: string) => essentialName(a) === essentialName(b);

function isFlexArray(btf: Btf, parent: Accessor | undefined, t: BtfType): boolean {
  if (!parent?.name || t.array!.nelems > 0) return false;
  return parent.idx === typeAt(btf, parent.typeId).vlen - 1;
}

/** Parses an access string against the object's BTF (bpf_core_parse_spec). */
export function parseSpec(btf: Btf, typeId: number, access: string, kind: number): Spec {
  if (!/^\d+(:\d+)*$/.test(access)) throw new CoreError(`bad access string '${access}'`);
  const raw = access.split(":").map(Number);
  if (raw.length > SPEC_MAX_LEN) throw new CoreError(`access string '${access}' is too long`);
  const spec: Spec = { btf, rootTypeId: typeId, kind, accessors: [], raw, bitOffset: 0 };
  if (!btf.has(typeId) || typeId === 0) throw new CoreError(`type id ${typeId} does not exist in the object's BTF`);
  if (isTypeKind(kind)) {
    if (access !== "0") throw new CoreError(`type relocation with access string '${access}' (expected "0")`);
    return spec;
  }
  let t = skipMods(btf, typeId);
  let id = t.id;
  const first = raw[0]!;
  spec.accessors.push({ typeId: id, idx: first });
  if (isEnumvalKind(kind)) {
    if (!isAnyEnum(t) || raw.length > 1 || first >= t.vlen) throw new CoreError(`enum value relocation '${access}' on ${describeType(t)}`);
    spec.accessors[0]!.name = t.values![first]!.name;
    return spec;
  }
  if (!isFieldKind(kind)) throw new CoreError(`unknown relocation kind ${kind}`);
  spec.bitOffset = first * resolveSize(btf, id) * 8;
  for (let i = 1; i < raw.length; i++) {
    t = skipMods(btf, id);
    id = t.id;
    const idx = raw[i]!;
    if (isComposite(t)) {
      if (idx >= t.vlen) throw new CoreError(`access string '${access}': member ${idx} of ${describeType(t)}, which has ${t.vlen}`);
      const m = t.members![idx]!;
      spec.bitOffset += memberBitOffset(t, m);
      if (m.name) spec.accessors.push({ typeId: id, idx, name: m.name });
      id = m.type;
    } else if (t.kind === BTF_KIND_ARRAY) {
      const parent = spec.accessors[spec.accessors.length - 1];
      const elem = skipMods(btf, t.array!.type);
      if (!isFlexArray(btf, parent, t) && idx >= t.array!.nelems) throw new CoreError(`access string '${access}': index ${idx} of an array of ${t.array!.nelems}`);
      id = elem.id;
      spec.accessors.push({ typeId: id, idx });
      spec.bitOffset += idx * resolveSize(btf, id) * 8;
    } else {
      throw new CoreError(`access string '${access}' goes into ${describeType(t)}, which has no members`);
    }
  }
  return spec;
}

/** "struct task_struct", "enum <anon>", "int". */
export function describeType(t: BtfType): string {
  return `${t.id === 0 ? "void" : btfKindName(t.kind)}${t.id === 0 ? "" : ` ${t.name || "<anon>"}`}`;
}

/** What a spec reaches, in C terms: "struct task_struct.real_parent", "struct s.arr[3]", "enum e::V". */
export function describeSpec(spec: Spec): string {
  const root = typeAt(spec.btf, spec.rootTypeId);
  let s = describeType(root);
  if (isTypeKind(spec.kind)) return s;
  if (isEnumvalKind(spec.kind)) return `${s}::${spec.accessors[0]?.name ?? "?"}`;
  spec.accessors.forEach((a, i) => {
    if (a.name) s += `.${a.name}`;
    else if (i > 0 || a.idx > 0) s += `[${a.idx}]`;
  });
  return s;
}

/** libbpf's bpf_core_format_spec(), so reports compare line by line with its debug log. */
export function formatSpecLikeLibbpf(spec: Spec): string {
  const root = typeAt(spec.btf, spec.rootTypeId);
  let s = `<${coreKindName(spec.kind)}> [${spec.rootTypeId}] ${btfKindName(root.kind)} ${root.name || "<anon>"}`;
  if (isTypeKind(spec.kind)) return s;
  if (isEnumvalKind(spec.kind)) {
    const t = skipMods(spec.btf, spec.rootTypeId);
    const e = t.values?.[spec.raw[0]!];
    return `${s}::${e?.name ?? "?"} = ${e?.value ?? 0n}`;
  }
  spec.accessors.forEach((a, i) => {
    if (a.name) s += `.${a.name}`;
    else if (i > 0 || a.idx > 0) s += `[${a.idx}]`;
  });
  const off = spec.bitOffset % 8 ? `${Math.floor(spec.bitOffset / 8)}.${spec.bitOffset % 8}` : `${spec.bitOffset / 8}`;
  return `${s} (${spec.raw.join(":")} @ offset ${off})`;
}

// ---- matching a local spec against one candidate type of the target

/** bpf_core_fields_are_compat: may a field of local type `lid` be read as target type `tid`? */
function fieldsCompatible(lb: Btf, lid: number, tb: Btf, tid: number): boolean {
  for (let depth = 0; depth < MAX_DEPTH; depth++) {
    const l = skipMods(lb, lid);
    const t = skipMods(tb, tid);
    if (isComposite(l) && isComposite(t)) return true;
    if (!kindsCompatible(l, t)) return false;
    switch (l.kind) {
      case BTF_KIND_PTR:
      case BTF_KIND_FLOAT:
        return true;
      case BTF_KIND_FWD:
      case BTF_KIND_ENUM:
      case BTF_KIND_ENUM64:
        return namesMatch(l.name, t.name);
      case BTF_KIND_INT:
        return l.int!.offset === 0 && t.int!.offset === 0;
      case BTF_KIND_ARRAY:
        lid = l.array!.type;
        tid = t.array!.type;
        continue;
      default:
        return false;
    }
  }
  throw new CoreError("type nesting too deep");
}

/**
 * Finds the member named like `local` in target composite `tid`, descending into anonymous
 * members; appends to `spec` and returns the member's type id, or undefined.
 */
function matchMember(lb: Btf, local: Accessor, tb: Btf, tid: number, spec: Spec): number | undefined {
  const lt = typeAt(lb, local.typeId);
  const lm = lt.members![local.idx]!;
  const t = skipMods(tb, tid);
  if (!isComposite(t)) return undefined;
  for (let i = 0; i < t.vlen; i++) {
    const m = t.members![i]!;
    if (spec.raw.length >= SPEC_MAX_LEN) throw new CoreError("struct/union/array nesting too deep");
    const bit = memberBitOffset(t, m);
    spec.bitOffset += bit;
    spec.raw.push(i);
    if (!m.name) {
      const found = matchMember(lb, local, tb, m.type, spec);
      if (found !== undefined) return found;
    } else if (m.name === lm.name) {
      if (!fieldsCompatible(lb, lm.type, tb, m.type)) {
        spec.bitOffset -= bit;
        spec.raw.pop();
        return undefined;
      }
      spec.accessors.push({ typeId: t.id, idx: i, name: m.name });
      return m.type;
    }
    spec.bitOffset -= bit;
    spec.raw.pop();
  }
  return undefined;
}

/** bpf_core_types_are_compat: TYPE_EXISTS/TYPE_SIZE/TYPE_ID_TARGET's test. */
export function typesCompatible(lb: Btf, lid: number, tb: Btf, tid: number, level = MAX_DEPTH): boolean {
  if (!kindsCompatible(typeAt(lb, lid), typeAt(tb, tid))) return false;
  for (let depth = 0; ; depth++) {
    if (depth > MAX_DEPTH) throw new CoreError("type nesting too deep");
    const l = skipMods(lb, lid);
    const t = skipMods(tb, tid);
    if (!kindsCompatible(l, t)) return false;
    switch (l.kind) {
      case 0:
      case BTF_KIND_STRUCT:
      case BTF_KIND_UNION:
      case BTF_KIND_ENUM:
      case BTF_KIND_ENUM64:
      case BTF_KIND_FWD:
        return true;
      case BTF_KIND_INT:
        return l.int!.offset === 0 && t.int!.offset === 0;
      case BTF_KIND_PTR:
        lid = l.sizeOrType;
        tid = t.sizeOrType;
        continue;
      case BTF_KIND_ARRAY:
        lid = l.array!.type;
        tid = t.array!.type;
        continue;
      case BTF_KIND_FUNC_PROTO: {
        if (l.vlen !== t.vlen) return false;
        if (level <= 0) throw new CoreError("function prototypes nested too deep");
        for (let i = 0; i < l.vlen; i++) {
          const lp = skipMods(lb, l.params![i]!.type).id;
          const tp = skipMods(tb, t.params![i]!.type).id;
          if (!typesCompatible(lb, lp, tb, tp, level - 1)) return false;
        }
        lid = skipMods(lb, l.sizeOrType).id;
        tid = skipMods(tb, t.sizeOrType).id;
        continue;
      }
      default:
        return false;
    }
  }
}

/** bpf_core_types_match: TYPE_MATCHES's stricter test (layouts, not just kinds). */
export function typesMatch(lb: Btf, lid: number, tb: Btf, tid: number, behindPtr = false, level = MAX_DEPTH): boolean {
  if (level <= 0) throw new CoreError("types nested too deep");
  for (let depth = 0; ; depth++) {
    if (depth > MAX_DEPTH) throw new CoreError("type nesting too deep");
    const l = skipMods(lb, lid);
    const t = skipMods(tb, tid);
    if (!namesMatch(l.name, t.name)) return false;
    switch (l.kind) {
      case 0:
        return t.kind === 0;
      case BTF_KIND_FWD:
        if (behindPtr) {
          if (t.kind === l.kind) return l.kindFlag === t.kindFlag;
          return (t.kind === BTF_KIND_STRUCT && !l.kindFlag) || (t.kind === BTF_KIND_UNION && l.kindFlag);
        }
        return t.kind === l.kind && l.kindFlag === t.kindFlag;
      case BTF_KIND_ENUM:
      case BTF_KIND_ENUM64:
        if (!isAnyEnum(t) || l.sizeOrType !== t.sizeOrType) return false;
        return l.values!.every((lv) => t.values!.some((tv) => namesMatch(lv.name, tv.name)));
      case BTF_KIND_STRUCT:
      case BTF_KIND_UNION:
        if (behindPtr) {
          if (l.kind === t.kind) return true;
          return t.kind === BTF_KIND_FWD && (l.kind === BTF_KIND_UNION) === t.kindFlag;
        }
        if (l.kind !== t.kind || l.vlen > t.vlen) return false;
        for (const lm of l.members!) {
          let found = false;
          for (const tm of t.members!) {
            if (!namesMatch(lm.name, tm.name)) continue;
            if (typesMatch(lb, lm.type, tb, tm.type, behindPtr, level - 1)) {
              found = true;
              break;
            }
          }
          if (!found) return false;
        }
        return true;
      case BTF_KIND_INT:
        return t.kind === l.kind && l.sizeOrType === t.sizeOrType && (l.int!.encoding & BTF_INT_SIGNED) === (t.int!.encoding & BTF_INT_SIGNED);
      case BTF_KIND_PTR:
        if (t.kind !== l.kind) return false;
        behindPtr = true;
        lid = l.sizeOrType;
        tid = t.sizeOrType;
        continue;
      case BTF_KIND_ARRAY:
        if (t.kind !== l.kind || l.array!.nelems !== t.array!.nelems) return false;
        lid = l.array!.type;
        tid = t.array!.type;
        continue;
      case BTF_KIND_FUNC_PROTO:
        if (t.kind !== l.kind || l.vlen !== t.vlen) return false;
        for (let i = 0; i < l.vlen; i++) {
          if (!typesMatch(lb, l.params![i]!.type, tb, t.params![i]!.type, behindPtr, level - 1)) return false;
        }
        lid = l.sizeOrType;
        tid = t.sizeOrType;
        continue;
      default:
        return false;
    }
  }
}

/** bpf_core_spec_match: the target spec for candidate `tid`, or undefined when it does not match. */
export function matchSpec(local: Spec, tb: Btf, tid: number): Spec | undefined {
  const out: Spec = { btf: tb, rootTypeId: tid, kind: local.kind, accessors: [], raw: [], bitOffset: 0 };
  const lb = local.btf;
  if (isTypeKind(local.kind)) {
    const ok = local.kind === CORE_TYPE_MATCHES ? typesMatch(lb, local.rootTypeId, tb, tid) : typesCompatible(lb, local.rootTypeId, tb, tid);
    return ok ? out : undefined;
  }
  const la = local.accessors[0]!;
  if (isEnumvalKind(local.kind)) {
    const t = skipMods(tb, tid);
    if (!isAnyEnum(t)) return undefined;
    const want = essentialName(la.name!);
    const i = t.values!.findIndex((v) => essentialName(v.name) === want);
    if (i < 0) return undefined;
    out.accessors.push({ typeId: t.id, idx: i, name: t.values![i]!.name });
    out.raw.push(i);
    return out;
  }
  let id = tid;
  for (let i = 0; i < local.accessors.length; i++) {
    const acc = local.accessors[i]!;
    const t = skipMods(tb, id);
    id = t.id;
    if (acc.name) {
      const next = matchMember(lb, acc, tb, id, out);
      if (next === undefined) return undefined;
      id = next;
      continue;
    }
    // i = 0 is the root itself (an index of pointer arithmetic); later ones index an array
    if (i > 0) {
      if (t.kind !== BTF_KIND_ARRAY) return undefined;
      const parent = out.accessors[out.accessors.length - 1];
      if (!isFlexArray(tb, parent, t) && acc.idx >= t.array!.nelems) return undefined;
      id = skipMods(tb, t.array!.type).id;
    }
    if (out.raw.length >= SPEC_MAX_LEN) throw new CoreError("struct/union/array nesting too deep");
    out.accessors.push({ typeId: id, idx: acc.idx });
    out.raw.push(acc.idx);
    out.bitOffset += acc.idx * resolveSize(tb, id) * 8;
  }
  return out;
}

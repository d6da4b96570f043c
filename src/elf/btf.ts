// A small, pure reader for the .BTF section (include/uapi/linux/btf.h): enough to resolve the
// BTF-defined map definitions of SEC(".maps") — struct members, pointers, arrays, sizes through
// typedef/const/volatile chains. Every read is bounds-checked; malformed data throws BtfError,
// which the object reader turns into an ObjectError with the section offset.

import { cstring, MAX_NAME } from "./cstring.ts";

export const BTF_MAGIC = 0xeb9f;

export const BTF_KIND_INT = 1;
export const BTF_KIND_PTR = 2;
export const BTF_KIND_ARRAY = 3;
export const BTF_KIND_STRUCT = 4;
export const BTF_KIND_UNION = 5;
export const BTF_KIND_ENUM = 6;
export const BTF_KIND_FWD = 7;
export const BTF_KIND_TYPEDEF = 8;
export const BTF_KIND_VOLATILE = 9;
export const BTF_KIND_CONST = 10;
export const BTF_KIND_RESTRICT = 11;
export const BTF_KIND_FUNC = 12;
export const BTF_KIND_FUNC_PROTO = 13;
export const BTF_KIND_VAR = 14;
export const BTF_KIND_DATASEC = 15;
export const BTF_KIND_FLOAT = 16;
export const BTF_KIND_DECL_TAG = 17;
export const BTF_KIND_TYPE_TAG = 18;
export const BTF_KIND_ENUM64 = 19;

const KIND_NAMES = [
  "void", "int", "ptr", "array", "struct", "union", "enum", "fwd", "typedef", "volatile", "const", "restrict",
  "func", "func_proto", "var", "datasec", "float", "decl_tag", "type_tag", "enum64",
];

export function btfKindName(kind: number): string {
  return KIND_NAMES[kind] ?? `kind ${kind}`;
}

/** A malformed .BTF section; `offset` is relative to the start of the section. */
export class BtfError extends Error {
  constructor(message: string, readonly offset: number) {
    super(message);
  }
}

export interface BtfMember {
  name: string;
  type: number;
  /** Bit offset (or, with kind_flag, bitfield size << 24 | bit offset). */
  offset: number;
}

export interface BtfVarSecinfo {
  type: number;
  offset: number;
  size: number;
}

/** One decoded type. Fields not used by a kind are zero/empty. */
export interface BtfType {
  id: number;
  kind: number;
  name: string;
  /** `size` for int/struct/union/enum/datasec/float, referenced type id for ptr/typedef/cv/var/func. */
  sizeOrType: number;
  vlen: number;
  kindFlag: boolean;
  /** ARRAY */
  array?: { type: number; indexType: number; nelems: number };
  /** STRUCT/UNION */
  members?: BtfMember[];
  /** DATASEC */
  secinfos?: BtfVarSecinfo[];
  /** offset of the type record in the section, for errors */
  sectionOffset: number;
}

const HDR_MIN = 24;
const MAX_CHAIN = 64;

/** Parsed BTF: types by id (id 0 is void), names resolved. */
export class Btf {
  readonly types: (BtfType | undefined)[] = [undefined];

  constructor(bytes: Uint8Array) {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const need = (pos: number, n: number, what: string) => {
      if (pos < 0 || pos + n > bytes.length) throw new BtfError(`truncated ${what}`, pos);
    };
    need(0, HDR_MIN, "BTF header");
    const magic = view.getUint16(0, true);
    if (magic === 0x9feb) throw new BtfError("big-endian BTF is not supported", 0);
    if (magic !== BTF_MAGIC) throw new BtfError(`bad BTF magic 0x${magic.toString(16)}`, 0);
    const version = view.getUint8(2);
    if (version !== 1) throw new BtfError(`unsupported BTF version ${version}`, 2);
    const hdrLen = view.getUint32(4, true);
    if (hdrLen < HDR_MIN || hdrLen > bytes.length) throw new BtfError(`bad BTF header length ${hdrLen}`, 4);
    const typeOff = view.getUint32(8, true);
    const typeLen = view.getUint32(12, true);
    const strOff = view.getUint32(16, true);
    const strLen = view.getUint32(20, true);
    const typesStart = hdrLen + typeOff;
    const strStart = hdrLen + strOff;
    if (typesStart + typeLen > bytes.length) throw new BtfError("BTF type section extends past the .BTF section", 8);
    if (strStart + strLen > bytes.length) throw new BtfError("BTF string section extends past the .BTF section", 16);

    const cache = new Map<number, string>();
    const str = (off: number, at: number): string => {
      if (off === 0) return "";
      if (off >= strLen) throw new BtfError(`BTF name offset ${off} outside the string section`, at);
      let s = cache.get(off);
      if (s === undefined) {
        const r = cstring(bytes, strStart + off, strStart + strLen);
        if (r === undefined) throw new BtfError("unterminated BTF string", at);
        if (r === null) throw new BtfError(`BTF name longer than ${MAX_NAME} bytes`, at);
        cache.set(off, (s = r));
      }
      return s;
    };

    const end = typesStart + typeLen;
    let pos = typesStart;
    while (pos < end) {
      const at = pos;
      if (pos + 12 > end) throw new BtfError("truncated BTF type record", pos);
      const nameOff = view.getUint32(pos, true);
      const info = view.getUint32(pos + 4, true);
      const sizeOrType = view.getUint32(pos + 8, true);
      pos += 12;
      const vlen = info & 0xffff;
      const kind = (info >>> 24) & 0x1f;
      const kindFlag = info >>> 31 === 1;
      const t: BtfType = {
        id: this.types.length, kind, name: str(nameOff, at), sizeOrType, vlen, kindFlag, sectionOffset: at,
      };
      const extra = (n: number) => {
        if (pos + n > end) throw new BtfError(`truncated BTF ${btfKindName(kind)} record`, at);
        const p = pos;
        pos += n;
        return p;
      };
      switch (kind) {
        case BTF_KIND_INT:
        case BTF_KIND_VAR:
        case BTF_KIND_DECL_TAG:
          extra(4);
          break;
        case BTF_KIND_PTR:
        case BTF_KIND_FWD:
        case BTF_KIND_TYPEDEF:
        case BTF_KIND_VOLATILE:
        case BTF_KIND_CONST:
        case BTF_KIND_RESTRICT:
        case BTF_KIND_FUNC:
        case BTF_KIND_FLOAT:
        case BTF_KIND_TYPE_TAG:
          break;
        case BTF_KIND_ARRAY: {
          const p = extra(12);
          t.array = {
            type: view.getUint32(p, true), indexType: view.getUint32(p + 4, true), nelems: view.getUint32(p + 8, true),
          };
          break;
        }
        case BTF_KIND_STRUCT:
        case BTF_KIND_UNION: {
          const p = extra(12 * vlen);
          t.members = [];
          for (let i = 0; i < vlen; i++) {
            const m = p + 12 * i;
            t.members.push({
              name: str(view.getUint32(m, true), m), type: view.getUint32(m + 4, true), offset: view.getUint32(m + 8, true),
            });
          }
          break;
        }
        case BTF_KIND_ENUM:
        case BTF_KIND_FUNC_PROTO:
          extra(8 * vlen);
          break;
        case BTF_KIND_ENUM64:
          extra(12 * vlen);
          break;
        case BTF_KIND_DATASEC: {
          const p = extra(12 * vlen);
          t.secinfos = [];
          for (let i = 0; i < vlen; i++) {
            const m = p + 12 * i;
            t.secinfos.push({
              type: view.getUint32(m, true), offset: view.getUint32(m + 4, true), size: view.getUint32(m + 8, true),
            });
          }
          break;
        }
        default:
          throw new BtfError(`unknown BTF kind ${kind}`, at);
      }
      this.types.push(t);
    }
    this.name = (off: number) => str(off, 0);
  }

  /** A name of the BTF string section (throws BtfError for a bad offset). */
  readonly name: (offset: number) => string;

  /** The type with this id; throws for ids that do not exist (0 is void and also throws). */
  type(id: number): BtfType {
    const t = this.types[id];
    if (!t) throw new BtfError(`BTF type id ${id} does not exist`, 0);
    return t;
  }

  /** Follows typedef/const/volatile/restrict/type_tag to the underlying type. */
  skipQualifiers(id: number): BtfType {
    let t = this.type(id);
    for (let i = 0; ; i++) {
      if (i > MAX_CHAIN) throw new BtfError(`BTF type chain too long (loop?) at type ${id}`, t.sectionOffset);
      if (
        t.kind === BTF_KIND_TYPEDEF || t.kind === BTF_KIND_CONST || t.kind === BTF_KIND_VOLATILE ||
        t.kind === BTF_KIND_RESTRICT || t.kind === BTF_KIND_TYPE_TAG
      ) {
        t = this.type(t.sizeOrType);
      } else {
        return t;
      }
    }
  }

  /** Size in bytes of a type, as the kernel's btf_type_id_size() computes it. */
  sizeOf(id: number, depth = 0): number {
    if (depth > MAX_CHAIN) throw new BtfError(`BTF type nesting too deep at type ${id}`, 0);
    const t = this.skipQualifiers(id);
    switch (t.kind) {
      case BTF_KIND_INT:
      case BTF_KIND_STRUCT:
      case BTF_KIND_UNION:
      case BTF_KIND_ENUM:
      case BTF_KIND_ENUM64:
      case BTF_KIND_FLOAT:
      case BTF_KIND_DATASEC:
        return t.sizeOrType;
      case BTF_KIND_PTR:
        return 8;
      case BTF_KIND_VAR:
        return this.sizeOf(t.sizeOrType, depth + 1);
      case BTF_KIND_ARRAY: {
        const a = t.array!;
        const n = a.nelems * this.sizeOf(a.type, depth + 1);
        if (n > 0xffffffff) throw new BtfError(`BTF array type ${t.id} is too large`, t.sectionOffset);
        return n;
      }
      default:
        throw new BtfError(`BTF type ${t.id} (${btfKindName(t.kind)}${t.name ? ` '${t.name}'` : ""}) has no size`, t.sectionOffset);
    }
  }

  /** The first DATASEC with this name. */
  datasec(name: string): BtfType | undefined {
    return this.types.find((t) => t?.kind === BTF_KIND_DATASEC && t.name === name);
  }

  /** All VARs with this name. */
  varsNamed(name: string): BtfType[] {
    return this.types.filter((t): t is BtfType => t?.kind === BTF_KIND_VAR && t.name === name);
  }
}

/** CO-RE relocation records of one code section, from .BTF.ext. */
export interface CoreRelocations {
  /** section name (from the .BTF string table) */
  section: string;
  /** byte offsets of the relocated instructions inside that section */
  insnOffsets: number[];
}

/**
 * Reads the CO-RE relocation records (`core_relo` part) of a .BTF.ext section. Only where they are
 * is decoded: bpfload does not perform CO-RE relocations, it only needs to say that a program has them.
 * Returns [] when the section has no core_relo part (older clang, or no __builtin_preserve_access_index).
 */
export function readCoreRelocations(ext: Uint8Array, btf: () => Btf): CoreRelocations[] {
  const view = new DataView(ext.buffer, ext.byteOffset, ext.byteLength);
  if (ext.length < 24) throw new BtfError("truncated .BTF.ext header", 0);
  const magic = view.getUint16(0, true);
  if (magic !== BTF_MAGIC) throw new BtfError(`bad .BTF.ext magic 0x${magic.toString(16)}`, 0);
  const hdrLen = view.getUint32(4, true);
  if (hdrLen < 24 || hdrLen > ext.length) throw new BtfError(`bad .BTF.ext header length ${hdrLen}`, 4);
  if (hdrLen < 32) return [];
  const off = view.getUint32(24, true);
  const len = view.getUint32(28, true);
  if (len === 0) return [];
  const start = hdrLen + off;
  const end = start + len;
  if (end > ext.length) throw new BtfError("CO-RE relocation records extend past the .BTF.ext section", 24);
  if (len < 4) throw new BtfError("truncated CO-RE relocation records", start);
  const recSize = view.getUint32(start, true);
  if (recSize < 16) throw new BtfError(`CO-RE relocation record size ${recSize} is too small`, start);
  const out: CoreRelocations[] = [];
  let pos = start + 4;
  while (pos < end) {
    if (pos + 8 > end) throw new BtfError("truncated CO-RE relocation section header", pos);
    const nameOff = view.getUint32(pos, true);
    const n = view.getUint32(pos + 4, true);
    pos += 8;
    if (n * recSize > end - pos) throw new BtfError("CO-RE relocation records extend past their part of .BTF.ext", pos - 8);
    const insnOffsets: number[] = [];
    for (let i = 0; i < n; i++, pos += recSize) insnOffsets.push(view.getUint32(pos, true));
    out.push({ section: btf().name(nameOff), insnOffsets });
  }
  return out;
}

// A pure reader for raw BTF (include/uapi/linux/btf.h): the .BTF section of objects, and also
// vmlinux BTF (/sys/kernel/btf/vmlinux, ~5 MB) and split module BTF (types and strings continue
// the base's ids and offsets). Lazy where it matters: the constructor makes one pass over the type
// section that checks every record's length and kind and keeps an index of record offsets; a
// type is decoded when asked for (and cached). `validate()` decodes everything and checks the
// references (ids in range, no loops in type chains), as an object's BTF deserves before use.
// Malformed data throws BtfError with the byte offset inside the BTF blob; the object reader
// turns it into an ObjectError.

import { quote } from "../errors.ts";
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
export const BTF_KIND_MAX = BTF_KIND_ENUM64;

/** INT encoding bits. */
export const BTF_INT_SIGNED = 1;
export const BTF_INT_CHAR = 2;
export const BTF_INT_BOOL = 4;

/** FUNC linkage (in vlen) and VAR linkage (in its extra word). */
export const BTF_FUNC_STATIC = 0;
export const BTF_FUNC_GLOBAL = 1;
export const BTF_FUNC_EXTERN = 2;
export const BTF_VAR_STATIC = 0;
export const BTF_VAR_GLOBAL_ALLOCATED = 1;
export const BTF_VAR_GLOBAL_EXTERN = 2;

const KIND_NAMES = [
  "void", "int", "ptr", "array", "struct", "union", "enum", "fwd", "typedef", "volatile", "const", "restrict",
  "func", "func_proto", "var", "datasec", "float", "decl_tag", "type_tag", "enum64",
];

export function btfKindName(kind: number): string {
  return KIND_NAMES[kind] ?? `kind ${kind}`;
}

/** A malformed BTF blob; `offset` is relative to the start of the blob (the .BTF section). */
export class BtfError extends Error {
  constructor(message: string, readonly offset: number) {
    super(message);
  }
}

export interface BtfMember {
  name: string;
  type: number;
  /** The raw offset word: bit offset, or with the struct's kind_flag, bitfield size << 24 | bit offset. */
  offset: number;
}

export interface BtfParam {
  name: string;
  type: number;
}

export interface BtfEnumValue {
  name: string;
  /** Signed or unsigned as the type's kind_flag says (ENUM: 32 bits, ENUM64: 64 bits). */
  value: bigint;
}

export interface BtfVarSecinfo {
  type: number;
  offset: number;
  size: number;
}

/** One decoded type. Fields a kind does not use are absent. */
export interface BtfType {
  id: number;
  kind: number;
  name: string;
  /** `size` for int/struct/union/enum/enum64/datasec/float, referenced type id for the others. */
  sizeOrType: number;
  vlen: number;
  kindFlag: boolean;
  /** INT: encoding (BTF_INT_*), bit offset and number of bits. */
  int?: { encoding: number; offset: number; bits: number };
  /** ARRAY */
  array?: { type: number; indexType: number; nelems: number };
  /** STRUCT/UNION */
  members?: BtfMember[];
  /** ENUM/ENUM64 */
  values?: BtfEnumValue[];
  /** FUNC_PROTO */
  params?: BtfParam[];
  /** VAR: linkage (BTF_VAR_*) */
  linkage?: number;
  /** DECL_TAG: -1 for the type itself, else the member/parameter index. */
  componentIdx?: number;
  /** DATASEC */
  secinfos?: BtfVarSecinfo[];
  /** offset of the type record in the blob, for errors */
  sectionOffset: number;
}

/** Bit offset of a member: with kind_flag the low 24 bits (the high 8 are the bitfield size). */
export function memberBitOffset(parent: BtfType, m: BtfMember): number {
  return parent.kindFlag ? m.offset & 0xffffff : m.offset;
}

/** Bitfield size of a member (0: not a bitfield, or a struct without kind_flag). */
export function memberBitfieldSize(parent: BtfType, m: BtfMember): number {
  return parent.kindFlag ? m.offset >>> 24 : 0;
}

const HDR_MIN = 24;
const MAX_CHAIN = 64;
/** The kernel's limits (BTF_MAX_TYPE, BTF_MAX_NAME_OFFSET), which also bound the work on hostile input. */
const MAX_TYPE_ID = 0xfffff;
const MAX_NAME_OFFSET = 0xffffff;

/** Bytes that follow struct btf_type for a kind with this vlen; -1 for an unknown kind. */
function extraSize(kind: number, vlen: number): number {
  switch (kind) {
    case BTF_KIND_INT:
    case BTF_KIND_VAR:
    case BTF_KIND_DECL_TAG:
      return 4;
    case BTF_KIND_PTR:
    case BTF_KIND_FWD:
    case BTF_KIND_TYPEDEF:
    case BTF_KIND_VOLATILE:
    case BTF_KIND_CONST:
    case BTF_KIND_RESTRICT:
    case BTF_KIND_FUNC:
    case BTF_KIND_FLOAT:
    case BTF_KIND_TYPE_TAG:
      return 0;
    case BTF_KIND_ARRAY:
      return 12;
    case BTF_KIND_STRUCT:
    case BTF_KIND_UNION:
    case BTF_KIND_ENUM64:
    case BTF_KIND_DATASEC:
      return 12 * vlen;
    case BTF_KIND_ENUM:
    case BTF_KIND_FUNC_PROTO:
      return 8 * vlen;
    default:
      return -1;
  }
}

/** Kinds whose sizeOrType is a type id. */
function refersToType(kind: number): boolean {
  return kind === BTF_KIND_PTR || kind === BTF_KIND_TYPEDEF || kind === BTF_KIND_VOLATILE || kind === BTF_KIND_CONST ||
    kind === BTF_KIND_RESTRICT || kind === BTF_KIND_FUNC || kind === BTF_KIND_FUNC_PROTO || kind === BTF_KIND_VAR ||
    kind === BTF_KIND_DECL_TAG || kind === BTF_KIND_TYPE_TAG;
}

function isModifier(kind: number): boolean {
  return kind === BTF_KIND_TYPEDEF || kind === BTF_KIND_VOLATILE || kind === BTF_KIND_CONST ||
    kind === BTF_KIND_RESTRICT || kind === BTF_KIND_TYPE_TAG;
}

export interface BtfOptions {
  /** The base of split BTF (vmlinux for a module): ids and string offsets continue after it. */
  base?: Btf;
}

/** Parsed BTF: an index of type records, types decoded on demand (id 0 is void). */
export class Btf {
  readonly bytes: Uint8Array;
  readonly base: Btf | undefined;
  /** Id of this blob's first type: 1, or the base's type count for split BTF. */
  readonly firstId: number;
  /** Number of ids, void included: valid ids are 0 … typeCount-1. */
  readonly typeCount: number;
  /** Where the string section starts in `bytes`, its length, and the offset its strings are numbered from. */
  readonly strStart: number;
  readonly strLen: number;
  readonly strBase: number;
  private readonly view: DataView;
  private readonly offsets: Uint32Array;
  /** Name offset of each own type (index: id - firstId). */
  private readonly nameOffsets: Uint32Array;
  private readonly decoded: (BtfType | undefined)[] = [];
  private readonly names = new Map<number, string>();
  private all: (BtfType | undefined)[] | undefined;

  constructor(bytes: Uint8Array, options: BtfOptions = {}) {
    this.bytes = bytes;
    this.base = options.base;
    const view = (this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    if (bytes.length < HDR_MIN) throw new BtfError("truncated BTF header", 0);
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
    if (typeOff % 4 !== 0) throw new BtfError(`BTF type section offset ${typeOff} is not 4-byte aligned`, 8);
    if (typesStart + typeLen > bytes.length) throw new BtfError("BTF type section extends past the end of the BTF data", 12);
    if (strStart + strLen > bytes.length) throw new BtfError("BTF string section extends past the end of the BTF data", 20);
    if (strStart < typesStart + typeLen && typesStart < strStart + strLen && typeLen > 0 && strLen > 0) {
      throw new BtfError("BTF type and string sections overlap", 16);
    }
    // A terminated string section makes every in-range name offset a valid string (the kernel's rule too).
    if (strLen > 0 && bytes[strStart + strLen - 1] !== 0) throw new BtfError("BTF string section is not NUL-terminated", strStart + strLen - 1);
    if (!this.base && strLen > 0 && bytes[strStart] !== 0) throw new BtfError("BTF string section does not start with an empty name", strStart);
    if (strLen > MAX_NAME_OFFSET + 1) throw new BtfError(`BTF string section of ${strLen} bytes is larger than the kernel's limit`, 20);
    this.strStart = strStart;
    this.strLen = strLen;
    this.strBase = this.base ? this.base.strBase + this.base.strLen : 0;
    this.firstId = this.base ? this.base.typeCount : 1;

    // The index: one pass, record lengths and kinds checked; the worst case is 12 bytes per type.
    // Each record's name offset is kept too: a name is then found by a native search of them
    // (nameOffsets), not by a JS loop over 100k+ types. Plain locals in the loop: vmlinux's pass
    // runs once per process, mostly before the JIT has warmed up (~2x slower with fields/methods).
    const end = typesStart + typeLen;
    const capacity = Math.max(16, Math.ceil(typeLen / 12) + 1);
    const offsets = new Uint32Array(capacity);
    const nameOffsets = new Uint32Array(capacity);
    const firstId = this.firstId;
    const strBase = this.strBase;
    const ownNames = (off: number) => off >= strBase && off - strBase < strLen;
    // The records as 32-bit words (both supported machines are little-endian, as BTF_MAGIC says the
    // data is): an indexed read stays cheap before the JIT has warmed up, DataView calls do not
    // (vmlinux's pass: ~15% less). Records are 4-byte multiples; an unaligned blob is copied.
    const at = bytes.byteOffset + typesStart;
    const words = at % 4 === 0 ? new Uint32Array(bytes.buffer, at, typeLen >>> 2) : new Uint32Array(bytes.slice(typesStart, typesStart + (typeLen & ~3)).buffer);
    let n = 0;
    let pos = typesStart;
    while (pos < end) {
      if (pos + 12 > end) throw new BtfError("truncated BTF type record", pos);
      const w = (pos - typesStart) >>> 2;
      const nameOff = words[w]!;
      const info = words[w + 1]!;
      const kind = (info >>> 24) & 0x1f;
      const vlen = info & 0xffff;
      const extra = extraSize(kind, vlen);
      if (extra < 0) throw new BtfError(`unknown BTF kind ${kind} (type ${firstId + n})`, pos);
      if ((info & 0x60ff0000) !== 0) throw new BtfError(`BTF type ${firstId + n} has unused info bits set (0x${(info >>> 0).toString(16)})`, pos + 4);
      if (nameOff !== 0 && !ownNames(nameOff) && !this.nameInRange(nameOff)) throw new BtfError(`BTF name offset ${nameOff} outside the string section (type ${firstId + n})`, pos);
      if (pos + 12 + extra > end) throw new BtfError(`truncated BTF ${btfKindName(kind)} record (type ${firstId + n}, vlen ${vlen})`, pos);
      if (firstId + n > MAX_TYPE_ID) throw new BtfError(`more than ${MAX_TYPE_ID} BTF types`, pos);
      offsets[n] = pos;
      nameOffsets[n++] = nameOff;
      pos += 12 + extra;
    }
    this.offsets = offsets.subarray(0, n);
    this.nameOffsets = nameOffsets.subarray(0, n);
    this.typeCount = firstId + n;
  }

  private nameInRange(off: number): boolean {
    if (off < this.strBase) return this.base ? this.base.nameInRange(off) : false;
    return off - this.strBase < this.strLen;
  }

  /** A name of the string section(s) by offset (throws BtfError for a bad offset); `at` is for the error. */
  name(off: number, at = 0): string {
    if (off === 0) return "";
    if (off < this.strBase) {
      if (!this.base) throw new BtfError(`BTF name offset ${off} outside the string section`, at);
      return this.base.name(off, at);
    }
    const rel = off - this.strBase;
    if (rel >= this.strLen) throw new BtfError(`BTF name offset ${off} outside the string section`, at);
    let s = this.names.get(off);
    if (s === undefined) {
      const r = cstring(this.bytes, this.strStart + rel, this.strStart + this.strLen);
      if (r === undefined) throw new BtfError("unterminated BTF string", at);
      if (r === null) throw new BtfError(`BTF name longer than ${MAX_NAME} bytes`, at);
      this.names.set(off, (s = r));
    }
    return s;
  }

  /** Every type by id (index 0, void, is undefined); decodes them all (types(id) is the lazy way). */
  get types(): (BtfType | undefined)[] {
    if (!this.all) {
      const out: (BtfType | undefined)[] = [undefined];
      for (let id = 1; id < this.typeCount; id++) out.push(this.type(id));
      this.all = out;
    }
    return this.all;
  }

  /** Kind of a type without decoding it (0 for void). */
  kindOf(id: number): number {
    if (id === 0) return 0;
    if (id < this.firstId) return this.base!.kindOf(id);
    const pos = this.offsets[id - this.firstId];
    if (pos === undefined || id >= this.typeCount) throw new BtfError(`BTF type id ${id} does not exist`, 0);
    return (this.view.getUint32(pos + 4, true) >>> 24) & 0x1f;
  }

  /** The type with this id; throws BtfError for ids that do not exist (0 is void and also throws). */
  type(id: number): BtfType {
    if (id < this.firstId && this.base && id > 0) return this.base.type(id);
    const i = id - this.firstId;
    if (!Number.isInteger(id) || i < 0 || i >= this.offsets.length) throw new BtfError(`BTF type id ${id} does not exist`, 0);
    return (this.decoded[i] ??= this.decode(id, this.offsets[i]!));
  }

  private decode(id: number, at: number): BtfType {
    const v = this.view;
    const info = v.getUint32(at + 4, true);
    const kind = (info >>> 24) & 0x1f;
    const vlen = info & 0xffff;
    const kindFlag = info >>> 31 === 1;
    const t: BtfType = {
      id, kind, name: this.name(v.getUint32(at, true), at), sizeOrType: v.getUint32(at + 8, true), vlen, kindFlag, sectionOffset: at,
    };
    const p = at + 12;
    switch (kind) {
      case BTF_KIND_INT: {
        const w = v.getUint32(p, true);
        t.int = { encoding: w >>> 24, offset: (w >>> 16) & 0xff, bits: w & 0xff };
        break;
      }
      case BTF_KIND_VAR:
        t.linkage = v.getUint32(p, true);
        break;
      case BTF_KIND_DECL_TAG:
        t.componentIdx = v.getInt32(p, true);
        break;
      case BTF_KIND_ARRAY:
        t.array = { type: v.getUint32(p, true), indexType: v.getUint32(p + 4, true), nelems: v.getUint32(p + 8, true) };
        break;
      case BTF_KIND_STRUCT:
      case BTF_KIND_UNION:
        t.members = [];
        for (let i = 0, m = p; i < vlen; i++, m += 12) {
          t.members.push({ name: this.name(v.getUint32(m, true), m), type: v.getUint32(m + 4, true), offset: v.getUint32(m + 8, true) });
        }
        break;
      case BTF_KIND_ENUM:
        t.values = [];
        for (let i = 0, m = p; i < vlen; i++, m += 8) {
          const raw = kindFlag ? v.getInt32(m + 4, true) : v.getUint32(m + 4, true);
          t.values.push({ name: this.name(v.getUint32(m, true), m), value: BigInt(raw) });
        }
        break;
      case BTF_KIND_ENUM64:
        t.values = [];
        for (let i = 0, m = p; i < vlen; i++, m += 12) {
          const u = (BigInt(v.getUint32(m + 8, true)) << 32n) | BigInt(v.getUint32(m + 4, true));
          t.values.push({ name: this.name(v.getUint32(m, true), m), value: kindFlag ? BigInt.asIntN(64, u) : u });
        }
        break;
      case BTF_KIND_FUNC_PROTO:
        t.params = [];
        for (let i = 0, m = p; i < vlen; i++, m += 8) {
          t.params.push({ name: this.name(v.getUint32(m, true), m), type: v.getUint32(m + 4, true) });
        }
        break;
      case BTF_KIND_DATASEC:
        t.secinfos = [];
        for (let i = 0, m = p; i < vlen; i++, m += 12) {
          t.secinfos.push({ type: v.getUint32(m, true), offset: v.getUint32(m + 4, true), size: v.getUint32(m + 8, true) });
        }
        break;
    }
    return t;
  }

  /** Offset of a type's name in the string section(s), without decoding anything (0: anonymous). */
  nameOffsetOf(id: number): number {
    if (id === 0) return 0;
    if (id < this.firstId) return this.base!.nameOffsetOf(id);
    const pos = this.offsets[id - this.firstId];
    if (pos === undefined || id >= this.typeCount) throw new BtfError(`BTF type id ${id} does not exist`, 0);
    return this.view.getUint32(pos, true);
  }

  /** Own ids (not the base's) of the types whose name is at string offset `off`, by a native search. */
  idsWithNameOffset(off: number): number[] {
    const ids: number[] = [];
    for (let i = this.nameOffsets.indexOf(off); i >= 0; i = this.nameOffsets.indexOf(off, i + 1)) ids.push(this.firstId + i);
    return ids;
  }

  /** Name of a type without decoding the rest of it ("" for void and anonymous types). */
  nameOf(id: number): string {
    if (id === 0) return "";
    if (id < this.firstId) return this.base!.nameOf(id);
    const pos = this.offsets[id - this.firstId];
    if (pos === undefined || id >= this.typeCount) throw new BtfError(`BTF type id ${id} does not exist`, 0);
    return this.name(this.view.getUint32(pos, true), pos);
  }

  /** Does this id exist (void included)? */
  has(id: number): boolean {
    return Number.isInteger(id) && id >= 0 && id < this.typeCount;
  }

  /**
   * Checks what the index pass does not: every type id a type refers to exists, kinds refer to the
   * kinds they must (FUNC → FUNC_PROTO, DATASEC → VAR, …), no loop in a chain of modifiers, pointers,
   * arrays or members that never reaches a size (typedef → const → typedef …; a struct containing
   * itself), DATASEC entries inside the section. Throws the first problem as a BtfError.
   */
  validate(): this {
    const ref = (t: BtfType, id: number, what: string, at = t.sectionOffset) => {
      if (!this.has(id)) throw new BtfError(`BTF ${btfKindName(t.kind)} type ${t.id} refers to ${what} type id ${id}, which does not exist`, at);
    };
    for (let id = this.firstId; id < this.typeCount; id++) {
      const t = this.type(id);
      if (refersToType(t.kind)) ref(t, t.sizeOrType, "", t.sectionOffset + 8);
      const at = t.sectionOffset + 12;
      switch (t.kind) {
        case BTF_KIND_INT:
          if (t.int!.offset + t.int!.bits > t.sizeOrType * 8 || t.int!.bits > 128 || t.int!.bits === 0) {
            throw new BtfError(`BTF int type ${id} has ${t.int!.bits} bits at offset ${t.int!.offset} in ${t.sizeOrType} bytes`, at);
          }
          break;
        case BTF_KIND_ARRAY:
          ref(t, t.array!.type, "element", at);
          ref(t, t.array!.indexType, "index", at + 4);
          break;
        case BTF_KIND_STRUCT:
        case BTF_KIND_UNION:
          t.members!.forEach((m, i) => ref(t, m.type, `member ${i}`, at + 12 * i + 4));
          break;
        case BTF_KIND_FUNC_PROTO:
          t.params!.forEach((p, i) => ref(t, p.type, `parameter ${i}`, at + 8 * i + 4));
          break;
        case BTF_KIND_FUNC:
          if (this.kindOf(t.sizeOrType) !== BTF_KIND_FUNC_PROTO) throw new BtfError(`BTF func type ${id} ${quote(t.name)} does not refer to a func_proto`, t.sectionOffset + 8);
          if (t.vlen > BTF_FUNC_EXTERN) throw new BtfError(`BTF func type ${id} ${quote(t.name)} has unknown linkage ${t.vlen}`, t.sectionOffset + 4);
          break;
        case BTF_KIND_DATASEC:
          t.secinfos!.forEach((s, i) => {
            ref(t, s.type, `entry ${i}`, at + 12 * i);
            const k = this.kindOf(s.type);
            if (k !== BTF_KIND_VAR && k !== BTF_KIND_FUNC) throw new BtfError(`BTF datasec ${quote(t.name)} entry ${i} is a ${btfKindName(k)}, not a var`, at + 12 * i);
            if (t.sizeOrType !== 0 && s.offset + s.size > t.sizeOrType) throw new BtfError(`BTF datasec ${quote(t.name)} entry ${i} lies past its size ${t.sizeOrType}`, at + 12 * i + 4);
          });
          break;
        case BTF_KIND_DECL_TAG:
          if (t.componentIdx! < -1) throw new BtfError(`BTF decl_tag type ${id} has component index ${t.componentIdx}`, at);
          break;
      }
    }
    this.checkLoops();
    return this;
  }

  /**
   * Loops that never reach a size: an iterative depth-first walk over "contains" edges (modifiers,
   * var, array element, struct member) and, separately, over pointer + modifier edges (a pointer may
   * lead back to a struct containing it, but a chain of only pointers and modifiers must end).
   */
  private checkLoops(): void {
    const n = this.typeCount;
    const walk = (edges: (t: BtfType) => number[], what: string) => {
      const state = new Uint8Array(n); // 0 new, 1 on the stack, 2 done
      for (let root = this.firstId; root < n; root++) {
        if (state[root]) continue;
        const stack: [number, number[], number][] = [[root, edges(this.type(root)), 0]];
        state[root] = 1;
        while (stack.length) {
          const top = stack[stack.length - 1]!;
          if (top[2] >= top[1].length) {
            state[top[0]] = 2;
            stack.pop();
            continue;
          }
          const next = top[1][top[2]++]!;
          if (next < this.firstId || next === 0) continue; // void, or the base's (validated on its own)
          if (state[next] === 1) {
            const t = this.type(next);
            throw new BtfError(`BTF type ${next} (${btfKindName(t.kind)}${t.name ? ` ${quote(t.name)}` : ""}) is part of a loop of ${what}`, t.sectionOffset);
          }
          if (state[next] === 0) {
            state[next] = 1;
            stack.push([next, edges(this.type(next)), 0]);
          }
        }
      }
    };
    walk((t) => {
      if (isModifier(t.kind) || t.kind === BTF_KIND_VAR) return [t.sizeOrType];
      if (t.kind === BTF_KIND_ARRAY) return [t.array!.type];
      if (t.members) return t.members.map((m) => m.type);
      return [];
    }, "types that contain themselves");
    walk((t) => (isModifier(t.kind) || t.kind === BTF_KIND_PTR ? [t.sizeOrType] : []), "pointers and modifiers");
  }

  /** Follows typedef/const/volatile/restrict/type_tag to the underlying type. */
  skipQualifiers(id: number): BtfType {
    let t = this.type(id);
    for (let i = 0; ; i++) {
      if (i > MAX_CHAIN) throw new BtfError(`BTF type chain too long (loop?) at type ${id}`, t.sectionOffset);
      if (isModifier(t.kind)) t = this.type(t.sizeOrType);
      else return t;
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
        throw new BtfError(`BTF type ${t.id} (${btfKindName(t.kind)}${t.name ? ` ${quote(t.name)}` : ""}) has no size`, t.sectionOffset);
    }
  }

  /**
   * The first type of this kind and name: a linear scan of the index that compares the name's bytes
   * in the string section, decoding only a match (vmlinux has ~60,000 FUNCs: decoding each name to
   * compare it made a first lookup cost tens of ms).
   */
  find(kind: number, name: string): BtfType | undefined {
    const v = this.view;
    const want = new TextEncoder().encode(name);
    const bytes = this.bytes;
    const end = this.strStart + this.strLen;
    for (let i = 0; i < this.offsets.length; i++) {
      const at = this.offsets[i]!;
      if (((v.getUint32(at + 4, true) >>> 24) & 0x1f) !== kind) continue;
      const off = v.getUint32(at, true);
      const p = this.strStart + off - this.strBase;
      if (off >= this.strBase && p + want.length < end) {
        if (bytes[p + want.length] !== 0) continue;
        let same = true;
        for (let k = 0; k < want.length && same; k++) same = bytes[p + k] === want[k];
        if (!same) continue;
      }
      // a byte match (or a name the fast path does not judge) is confirmed by the strict decode
      if (this.name(off, at) === name) return this.type(this.firstId + i);
    }
    return this.base?.find(kind, name);
  }

  /** The first DATASEC with this name. */
  datasec(name: string): BtfType | undefined {
    return this.find(BTF_KIND_DATASEC, name);
  }

  /** All VARs with this name. */
  varsNamed(name: string): BtfType[] {
    return this.types.filter((t): t is BtfType => t?.kind === BTF_KIND_VAR && t.name === name);
  }
}

// ---- .BTF.ext: func_info, line_info and core_relo, per code section

export interface BtfFuncInfo {
  /** byte offset of the function's first instruction in its section (the kernel wants the insn index) */
  insnOff: number;
  typeId: number;
}

export interface BtfLineInfo {
  insnOff: number;
  fileName: string;
  line: string;
  lineNum: number;
  col: number;
}

export interface BtfCoreRelo {
  insnOff: number;
  typeId: number;
  accessStr: string;
  kind: number;
}

export interface BtfExtSection<T> {
  /** code section name, from the .BTF string table */
  section: string;
  records: T[];
}

export interface BtfExt {
  /** record sizes from the header (newer compilers may append fields; only the known ones are read) */
  funcInfoRecSize: number;
  lineInfoRecSize: number;
  coreReloRecSize: number;
  funcInfo: BtfExtSection<BtfFuncInfo>[];
  lineInfo: BtfExtSection<BtfLineInfo>[];
  coreRelo: BtfExtSection<BtfCoreRelo>[];
}

/**
 * Parses a .BTF.ext section. Names (section names, file names, source lines, CO-RE access strings)
 * are offsets into the .BTF string section, resolved through `btf` (called only when there are records).
 */
export function readBtfExt(ext: Uint8Array, btf: () => Btf): BtfExt {
  const view = new DataView(ext.buffer, ext.byteOffset, ext.byteLength);
  if (ext.length < 8) throw new BtfError("truncated .BTF.ext header", 0);
  const magic = view.getUint16(0, true);
  if (magic !== BTF_MAGIC) throw new BtfError(`bad .BTF.ext magic 0x${magic.toString(16)}`, 0);
  const version = view.getUint8(2);
  if (version !== 1) throw new BtfError(`unsupported .BTF.ext version ${version}`, 2);
  const hdrLen = view.getUint32(4, true);
  if (hdrLen < 24 || hdrLen > ext.length) throw new BtfError(`bad .BTF.ext header length ${hdrLen}`, 4);
  const out: BtfExt = { funcInfoRecSize: 0, lineInfoRecSize: 0, coreReloRecSize: 0, funcInfo: [], lineInfo: [], coreRelo: [] };

  // One part: u32 record size, then per section {name_off, num_info, records}.
  const part = <T>(hdrField: number, minRec: number, what: string, record: (pos: number) => T): [number, BtfExtSection<T>[]] => {
    const off = view.getUint32(hdrField, true);
    const len = view.getUint32(hdrField + 4, true);
    if (len === 0) return [0, []];
    const start = hdrLen + off;
    const end = start + len;
    if (off % 4 !== 0) throw new BtfError(`${what}: offset ${off} is not 4-byte aligned`, hdrField);
    if (end > ext.length) throw new BtfError(`${what} extend past the .BTF.ext section`, hdrField);
    if (len < 4) throw new BtfError(`truncated ${what} in .BTF.ext`, start);
    const recSize = view.getUint32(start, true);
    if (recSize < minRec || recSize % 4 !== 0 || recSize > 1024) throw new BtfError(`${what}: record size ${recSize} is invalid (at least ${minRec}, a multiple of 4)`, start);
    const sections: BtfExtSection<T>[] = [];
    let pos = start + 4;
    while (pos < end) {
      if (pos + 8 > end) throw new BtfError(`truncated section header of ${what} in .BTF.ext`, pos);
      const nameOff = view.getUint32(pos, true);
      const n = view.getUint32(pos + 4, true);
      if (n === 0) throw new BtfError(`${what}: a section with no records in .BTF.ext`, pos + 4);
      if (n * recSize > end - pos - 8) throw new BtfError(`${what} extend past their part of .BTF.ext`, pos + 4);
      const section = named(nameOff, pos);
      pos += 8;
      const records: T[] = [];
      for (let i = 0; i < n; i++, pos += recSize) records.push(record(pos));
      sections.push({ section, records });
    }
    return [recSize, sections];
  };
  const named = (off: number, at: number): string => {
    try {
      return btf().name(off);
    } catch (e) {
      if (e instanceof BtfError) throw new BtfError(`${e.message} (in .BTF.ext)`, at);
      throw e;
    }
  };

  [out.funcInfoRecSize, out.funcInfo] = part(8, 8, "function info records", (p) => ({ insnOff: view.getUint32(p, true), typeId: view.getUint32(p + 4, true) }));
  [out.lineInfoRecSize, out.lineInfo] = part(16, 16, "line info records", (p) => {
    const lc = view.getUint32(p + 12, true);
    return { insnOff: view.getUint32(p, true), fileName: named(view.getUint32(p + 4, true), p + 4), line: named(view.getUint32(p + 8, true), p + 8), lineNum: lc >>> 10, col: lc & 0x3ff };
  });
  if (hdrLen >= 32) {
    [out.coreReloRecSize, out.coreRelo] = part(24, 16, "CO-RE relocation records", (p) => ({
      insnOff: view.getUint32(p, true), typeId: view.getUint32(p + 4, true), accessStr: named(view.getUint32(p + 8, true), p + 8), kind: view.getUint32(p + 12, true),
    }));
  }
  return out;
}

/** CO-RE relocation records of one code section, from .BTF.ext. */
export interface CoreRelocations {
  /** section name (from the .BTF string table) */
  section: string;
  /** byte offsets of the relocated instructions inside that section */
  insnOffsets: number[];
}

/**
 * The CO-RE relocation records (`core_relo` part) of a .BTF.ext section, per code section: the
 * reader counts them per function; the loader applies them (src/btf/core) from readBtfExt's records.
 */
export function readCoreRelocations(ext: Uint8Array, btf: () => Btf): CoreRelocations[] {
  return readBtfExt(ext, btf).coreRelo.map((s) => ({ section: s.section, insnOffsets: s.records.map((r) => r.insnOff) }));
}

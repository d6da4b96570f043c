// Records decoded field by field with the object's BTF (pure: no kernel access). Integers as
// numbers (u64/s64 as bigint), char arrays as text up to the first NUL, other arrays as lists,
// nested structs as objects, anything else as hex.
import { BTF_KIND_ARRAY, BTF_KIND_ENUM, BTF_KIND_INT, BTF_KIND_PTR, BTF_KIND_STRUCT, BTF_KIND_UNION, type Btf } from "../../elf/btf.ts";

export type DecodedValue = number | bigint | string | DecodedValue[] | { [field: string]: DecodedValue };

export interface DecodedField {
  name: string;
  value: DecodedValue;
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));
const hex = (b: Uint8Array) => {
  let s = "";
  for (let i = 0; i < b.length; i++) s += HEX[b[i]!];
  return s;
};
const utf8 = new TextDecoder();
const ASCII = Array.from({ length: 128 }, (_, i) => String.fromCharCode(i));

/** Text of a C string's bytes: one char per byte when all are ASCII (the common case), else UTF-8. */
function cString(s: Uint8Array): string {
  let ascii = true;
  for (let i = 0; i < s.length; i++) if (s[i]! >= 0x80) ascii = false;
  return ascii ? String.fromCharCode.apply(null, s as unknown as number[]) : utf8.decode(s);
}

/**
 * The struct named `name` (when given), else the one struct whose name is `event` or ends in
 * `_event`; undefined when there is none or several (the record then prints as hex).
 */
export function findEventType(btf: Btf, name?: string): number | undefined {
  const structs = btf.types.filter((t) => t && (t.kind === BTF_KIND_STRUCT || t.kind === BTF_KIND_UNION) && t.name);
  const match = name !== undefined ? structs.filter((t) => t!.name === name) : structs.filter((t) => t!.name === "event" || t!.name.endsWith("_event"));
  return match.length === 1 ? match[0]!.id : undefined;
}

function decodeValue(btf: Btf, typeId: number, bytes: Uint8Array, depth: number): DecodedValue {
  const t = btf.skipQualifiers(typeId);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  switch (t.kind) {
    case BTF_KIND_INT:
    case BTF_KIND_ENUM: {
      const size = t.sizeOrType;
      // BTF_INT_SIGNED is bit 24 of the int's extra word; the reader does not keep it: "s"/"int" names tell
      const signed = t.kind === BTF_KIND_INT && !/unsigned|^u|_Bool|^char$/.test(t.name);
      if (size > bytes.length) return hex(bytes);
      if (size === 1) return signed ? view.getInt8(0) : view.getUint8(0);
      if (size === 2) return signed ? view.getInt16(0, true) : view.getUint16(0, true);
      if (size === 4) return signed ? view.getInt32(0, true) : view.getUint32(0, true);
      if (size === 8) return signed ? view.getBigInt64(0, true) : view.getBigUint64(0, true);
      return hex(bytes.subarray(0, size));
    }
    case BTF_KIND_PTR:
      return bytes.length >= 8 ? `0x${view.getBigUint64(0, true).toString(16)}` : hex(bytes);
    case BTF_KIND_ARRAY: {
      const a = t.array!;
      const elem = btf.skipQualifiers(a.type);
      const esize = btf.sizeOf(a.type);
      if (elem.kind === BTF_KIND_INT && esize === 1 && /char/.test(elem.name)) {
        const s = bytes.subarray(0, a.nelems);
        const end = s.indexOf(0);
        return cString(end < 0 ? s : s.subarray(0, end));
      }
      if (depth > 8) return hex(bytes.subarray(0, a.nelems * esize));
      return Array.from({ length: a.nelems }, (_, i) => decodeValue(btf, a.type, bytes.subarray(i * esize, (i + 1) * esize), depth + 1));
    }
    case BTF_KIND_STRUCT:
    case BTF_KIND_UNION: {
      if (depth > 8) return hex(bytes.subarray(0, t.sizeOrType));
      const out: { [field: string]: DecodedValue } = {};
      for (const f of decodeStruct(btf, t.id, bytes, depth + 1)) out[f.name] = f.value;
      return out;
    }
    default:
      return hex(bytes);
  }
}

/**
 * A member's label: its name, `@OFFSET` when anonymous, and `#N` after a name already used (a union
 * of two anonymous structs at one offset, as qspinlock has: an object keyed by name kept only one).
 */
function memberLabel(used: Set<string>, name: string): string {
  let label = name;
  for (let n = 2; used.has(label); n++) label = `${name}#${n}`;
  used.add(label);
  return label;
}

function decodeStruct(btf: Btf, typeId: number, bytes: Uint8Array, depth: number): DecodedField[] {
  const t = btf.skipQualifiers(typeId);
  const fields: DecodedField[] = [];
  const used = new Set<string>();
  for (const m of t.members ?? []) {
    const bitOffset = t.kindFlag ? m.offset & 0xffffff : m.offset;
    const bitSize = t.kindFlag ? m.offset >>> 24 : 0;
    const start = bitOffset >>> 3;
    const size = btf.sizeOf(m.type);
    if (start + size > bytes.length) break; // a short record: the fields that are there
    const name = memberLabel(used, m.name || `@${start}`);
    if (bitSize) {
      // a bitfield: little-endian bits from bitOffset
      let v = 0n;
      for (let i = 0; i < bitSize; i++) {
        const bit = bitOffset + i;
        if ((bytes[bit >>> 3]! >> (bit & 7)) & 1) v |= 1n << BigInt(i);
      }
      fields.push({ name, value: bitSize <= 32 ? Number(v) : v });
      continue;
    }
    fields.push({ name, value: decodeValue(btf, m.type, bytes.subarray(start, start + size), depth) });
  }
  return fields;
}

/** The record's fields as the struct `typeId` lays them out. */
export function decodeRecord(btf: Btf, typeId: number, bytes: Uint8Array): DecodedField[] {
  return decodeStruct(btf, typeId, bytes, 0);
}

/** One line of text: `pid=123 cpu=1 seq=7 comm="getppid"`. */
export function formatFields(fields: DecodedField[]): string {
  const one = (v: DecodedValue): string =>
    typeof v === "string" ? JSON.stringify(v) : Array.isArray(v) ? `[${v.map(one).join(",")}]` : typeof v === "object" ? `{${Object.entries(v).map(([k, x]) => `${k}=${one(x)}`).join(" ")}}` : String(v);
  return fields.map((f) => `${f.name}=${one(f.value)}`).join(" ");
}

/** A part of a compiled formatter: the text of one value of the record at its offset. */
type Part = (b: Uint8Array) => string;

// Integers read byte by byte: a DataView over a fresh copy makes JSC materialise its ArrayBuffer
// (most of a record's cost when measured).
const u16 = (b: Uint8Array, at: number) => b[at]! | (b[at + 1]! << 8);
const u32 = (b: Uint8Array, at: number) => (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) >>> 0;
const i32 = (b: Uint8Array, at: number) => b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24);
/** A u64 as text: exact below 2^53 through a double, through BigInt above. */
const u64Text = (b: Uint8Array, at: number) => {
  const lo = u32(b, at);
  const hi = u32(b, at + 4);
  return hi < 0x200000 ? String(hi * 0x100000000 + lo) : String((BigInt(hi) << 32n) | BigInt(lo));
};
const i64Text = (b: Uint8Array, at: number) => {
  const lo = u32(b, at);
  const hi = i32(b, at + 4);
  return hi >= -0x200000 && hi < 0x200000 ? String(hi * 0x100000000 + lo) : String((BigInt(hi) << 32n) | BigInt(lo));
};

/**
 * The text formatFields(decodeRecord(btf, typeId, bytes)) gives, as one function built once per
 * record type: offsets, sizes and signedness worked out here, not per record (a ring buffer
 * brings hundreds of thousands a second). For records at least `size` bytes long; undefined
 * when the type has a member that does not fit its container (the generic decoder then decides).
 */
export function compileFormatter(btf: Btf, typeId: number): { size: number; format: (bytes: Uint8Array) => string } | undefined {
  const size = btf.sizeOf(typeId);
  const fields = compileStruct(btf, typeId, 0, size, 0);
  if (!fields) return undefined;
  return {
    size,
    format(bytes) {
      let s = "";
      for (let i = 0; i < fields.length; i++) s += (i ? " " : "") + fields[i]!.label + fields[i]!.part(bytes);
      return s;
    },
  };
}

function compileStruct(btf: Btf, typeId: number, base: number, room: number, depth: number): { label: string; part: Part }[] | undefined {
  const t = btf.skipQualifiers(typeId);
  const fields: { label: string; part: Part }[] = [];
  const used = new Set<string>();
  for (const m of t.members ?? []) {
    const bitOffset = t.kindFlag ? m.offset & 0xffffff : m.offset;
    const bitSize = t.kindFlag ? m.offset >>> 24 : 0;
    const start = bitOffset >>> 3;
    const msize = btf.sizeOf(m.type);
    if (start + msize > room) return undefined; // the generic decoder stops at such a member
    const label = `${memberLabel(used, m.name || `@${start}`)}=`;
    if (bitSize) {
      const from = base * 8 + bitOffset;
      fields.push({
        label,
        part: (b) => {
          let x = 0n;
          for (let i = 0; i < bitSize; i++) if ((b[(from + i) >>> 3]! >> ((from + i) & 7)) & 1) x |= 1n << BigInt(i);
          return String(bitSize <= 32 ? Number(x) : x);
        },
      });
      continue;
    }
    const part = compileValue(btf, m.type, base + start, msize, depth);
    if (!part) return undefined;
    fields.push({ label, part });
  }
  return fields;
}

function compileValue(btf: Btf, typeId: number, at: number, len: number, depth: number): Part | undefined {
  const t = btf.skipQualifiers(typeId);
  const rawHex: Part = (b) => JSON.stringify(hex(b.subarray(at, at + len)));
  switch (t.kind) {
    case BTF_KIND_INT:
    case BTF_KIND_ENUM: {
      const size = t.sizeOrType;
      const signed = t.kind === BTF_KIND_INT && !/unsigned|^u|_Bool|^char$/.test(t.name);
      if (size > len) return rawHex;
      if (size === 1) return signed ? (b) => String((b[at]! << 24) >> 24) : (b) => String(b[at]!);
      if (size === 2) return signed ? (b) => String((u16(b, at) << 16) >> 16) : (b) => String(u16(b, at));
      if (size === 4) return signed ? (b) => String(i32(b, at)) : (b) => String(u32(b, at));
      if (size === 8) return signed ? (b) => i64Text(b, at) : (b) => u64Text(b, at);
      return (b) => JSON.stringify(hex(b.subarray(at, at + size)));
    }
    case BTF_KIND_PTR:
      return len >= 8 ? (b) => JSON.stringify(`0x${((BigInt(u32(b, at + 4)) << 32n) | BigInt(u32(b, at))).toString(16)}`) : rawHex;
    case BTF_KIND_ARRAY: {
      const a = t.array!;
      const elem = btf.skipQualifiers(a.type);
      const esize = btf.sizeOf(a.type);
      if (elem.kind === BTF_KIND_INT && esize === 1 && /char/.test(elem.name)) {
        const n = Math.min(a.nelems, len);
        return (b) => {
          // up to the NUL: one table lookup per ASCII byte, UTF-8 decoding only when needed
          let s = "";
          for (let i = at; i < at + n; i++) {
            const c = b[i]!;
            if (c === 0) break;
            if (c >= 0x80) {
              const all = b.subarray(at, at + n);
              const end = all.indexOf(0);
              return JSON.stringify(utf8.decode(end < 0 ? all : all.subarray(0, end)));
            }
            s += ASCII[c];
          }
          return JSON.stringify(s);
        };
      }
      if (depth > 8) return (b) => JSON.stringify(hex(b.subarray(at, at + Math.min(a.nelems * esize, len))));
      const parts: Part[] = [];
      for (let i = 0; i < a.nelems; i++) {
        const p = compileValue(btf, a.type, at + i * esize, esize, depth + 1);
        if (!p) return undefined;
        parts.push(p);
      }
      return (b) => `[${parts.map((p) => p(b)).join(",")}]`;
    }
    case BTF_KIND_STRUCT:
    case BTF_KIND_UNION: {
      if (depth > 8) return (b) => JSON.stringify(hex(b.subarray(at, at + Math.min(t.sizeOrType, len))));
      const fields = compileStruct(btf, t.id, at, len, depth + 1);
      if (!fields) return undefined;
      return (b) => `{${fields.map((f) => f.label + f.part(b)).join(" ")}}`;
    }
    default:
      return rawHex;
  }
}

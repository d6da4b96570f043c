// Records decoded field by field with the object's BTF (pure: no kernel access). Integers as
// numbers (u64/s64 as bigint), char arrays as text up to the first NUL, other arrays as lists,
// nested structs as objects, anything else as hex.
import { BTF_KIND_ARRAY, BTF_KIND_ENUM, BTF_KIND_INT, BTF_KIND_PTR, BTF_KIND_STRUCT, BTF_KIND_UNION, type Btf } from "../../elf/btf.ts";

export type DecodedValue = number | bigint | string | DecodedValue[] | { [field: string]: DecodedValue };

export interface DecodedField {
  name: string;
  value: DecodedValue;
}

const hex = (b: Uint8Array) => [...b].map((x) => x.toString(16).padStart(2, "0")).join("");

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
        return new TextDecoder().decode(end < 0 ? s : s.subarray(0, end));
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

function decodeStruct(btf: Btf, typeId: number, bytes: Uint8Array, depth: number): DecodedField[] {
  const t = btf.skipQualifiers(typeId);
  const fields: DecodedField[] = [];
  for (const m of t.members ?? []) {
    const bitOffset = t.kindFlag ? m.offset & 0xffffff : m.offset;
    const bitSize = t.kindFlag ? m.offset >>> 24 : 0;
    const start = bitOffset >>> 3;
    const size = btf.sizeOf(m.type);
    if (start + size > bytes.length) break; // a short record: the fields that are there
    const name = m.name || `@${start}`;
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

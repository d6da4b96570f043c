// Keys and values of maps and variables as JavaScript values: bytes as they are (Uint8Array),
// integers by size (1/2/4 bytes: number, 8: bigint), or, when there is a BTF type, what the type
// says (structs as objects, arrays as lists, char arrays as strings, enums by name). Pure.
import { BTF_INT_BOOL, BTF_INT_SIGNED, BTF_KIND_ARRAY, BTF_KIND_ENUM, BTF_KIND_ENUM64, BTF_KIND_INT, BTF_KIND_PTR, BTF_KIND_STRUCT, BTF_KIND_UNION, type Btf } from "../elf/btf.ts";
import { InvalidArgumentError } from "../errors.ts";

/** What a key or value can be given as, and is given back as. */
export type Value = Uint8Array | number | bigint | boolean | string | Value[] | { [field: string]: Value };

export interface Codec {
  encode(v: Value, what: string): Uint8Array;
  decode(bytes: Uint8Array): Value;
  /** Writes `v` at `offset` of `view` (the map's call buffer): no allocation for integers. */
  writeTo(v: Value, view: DataView, offset: number, what: string): void;
  /** Reads the value at `offset` of `view`: no copy for integers. */
  readFrom(view: DataView, offset: number): Value;
}

/** Integer reads and writes straight through a DataView, for sizes 1, 2, 4 and 8. */
function fastInt(size: number, signed: boolean): Pick<Codec, "readFrom"> & { write(v: Value, view: DataView, offset: number): boolean } | undefined {
  switch (size) {
    case 1:
      return { readFrom: (d, o) => (signed ? d.getInt8(o) : d.getUint8(o)), write: (v, d, o) => typeof v === "number" && Number.isInteger(v) && v >= (signed ? -0x80 : 0) && v <= (signed ? 0x7f : 0xff) && (d.setUint8(o, v & 0xff), true) };
    case 2:
      return { readFrom: (d, o) => (signed ? d.getInt16(o, true) : d.getUint16(o, true)), write: (v, d, o) => typeof v === "number" && Number.isInteger(v) && v >= (signed ? -0x8000 : 0) && v <= (signed ? 0x7fff : 0xffff) && (d.setUint16(o, v & 0xffff, true), true) };
    case 4:
      return { readFrom: (d, o) => (signed ? d.getInt32(o, true) : d.getUint32(o, true)), write: (v, d, o) => typeof v === "number" && Number.isInteger(v) && v >= (signed ? -0x80000000 : 0) && v <= (signed ? 0x7fffffff : 0xffffffff) && (d.setUint32(o, v >>> 0, true), true) };
    case 8:
      return {
        readFrom: (d, o) => (signed ? d.getBigInt64(o, true) : d.getBigUint64(o, true)),
        write: (v, d, o) => typeof v === "bigint" && v >= (signed ? -(1n << 63n) : 0n) && v < (signed ? 1n << 63n : 1n << 64n) && (d.setBigUint64(o, BigInt.asUintN(64, v), true), true),
      };
  }
  return undefined;
}

/** The slow path of writeTo: encode (which checks and explains), then copy. */
function copyInto(c: Pick<Codec, "encode">, v: Value, view: DataView, offset: number, what: string): void {
  const bytes = c.encode(v, what);
  new Uint8Array(view.buffer, view.byteOffset + offset, bytes.length).set(bytes);
}

function fits(v: bigint, size: number, signed: boolean): boolean {
  const bits = BigInt(size * 8);
  return signed ? v >= -(1n << (bits - 1n)) && v < 1n << (bits - 1n) : v >= 0n && v < 1n << bits;
}

function writeInt(out: Uint8Array, offset: number, v: bigint, size: number): void {
  const u = BigInt.asUintN(size * 8, v);
  for (let i = 0; i < size; i++) out[offset + i] = Number((u >> BigInt(8 * i)) & 0xffn);
}

function readInt(bytes: Uint8Array, size: number, signed: boolean): number | bigint {
  let u = 0n;
  for (let i = size - 1; i >= 0; i--) u = (u << 8n) | BigInt(bytes[i] ?? 0);
  const v = signed ? BigInt.asIntN(size * 8, u) : u;
  return size >= 8 ? v : Number(v);
}

function toBigInt(v: Value, what: string): bigint {
  if (typeof v === "bigint") return v;
  if (typeof v === "boolean") return v ? 1n : 0n;
  if (typeof v === "number" && Number.isInteger(v)) return BigInt(v);
  throw new InvalidArgumentError("value", `${what}: ${typeof v === "object" ? "an object" : JSON.stringify(v)} is not an integer`);
}

function bytesOf(v: Uint8Array, size: number, what: string): Uint8Array {
  if (v.length !== size) throw new InvalidArgumentError("value", `${what}: ${v.length} bytes given, ${size} expected`);
  return v;
}

/** Integers by size, bytes otherwise: for maps without BTF. Unsigned (a negative number is written as two's complement). */
export function sizeCodec(size: number): Codec {
  const integer = size === 1 || size === 2 || size === 4 || size === 8;
  const fast = fastInt(size, false);
  return {
    writeTo(v, view, offset, what) {
      if (!fast?.write(v, view, offset)) copyInto(this, v, view, offset, what);
    },
    readFrom(view, offset) {
      return fast ? fast.readFrom(view, offset) : new Uint8Array(view.buffer.slice(view.byteOffset + offset, view.byteOffset + offset + size));
    },
    encode(v, what) {
      if (v instanceof Uint8Array) return bytesOf(v, size, what);
      if (!integer) throw new InvalidArgumentError("value", `${what}: give ${size} bytes as a Uint8Array (integers are 1, 2, 4 or 8 bytes)`);
      const n = toBigInt(v, what);
      if (!fits(n, size, n < 0n)) throw new InvalidArgumentError("value", `${what}: ${n} does not fit in ${size} bytes`);
      const out = new Uint8Array(size);
      writeInt(out, 0, n, size);
      return out;
    },
    decode(bytes) {
      return integer ? readInt(bytes, size, false) : bytes;
    },
  };
}

/** Values as the BTF type `typeId` of `btf` lays them out. */
export function btfCodec(btf: Btf, typeId: number): Codec {
  const size = btf.sizeOf(typeId);
  const t = btf.skipQualifiers(typeId);
  const plainInt = t.kind === BTF_KIND_INT && (t.int!.encoding & BTF_INT_BOOL) === 0;
  const fast = plainInt ? fastInt(size, (t.int!.encoding & BTF_INT_SIGNED) !== 0) : undefined;
  return {
    writeTo(v, view, offset, what) {
      if (!fast?.write(v, view, offset)) copyInto(this, v, view, offset, what);
    },
    readFrom(view, offset) {
      return fast ? fast.readFrom(view, offset) : this.decode(new Uint8Array(view.buffer.slice(view.byteOffset + offset, view.byteOffset + offset + size)));
    },
    encode(v, what) {
      if (v instanceof Uint8Array) return bytesOf(v, size, what);
      const out = new Uint8Array(size);
      encodeInto(btf, typeId, v, out, 0, what, 0);
      return out;
    },
    decode(bytes) {
      return decodeAt(btf, typeId, bytes, 0);
    },
  };
}

function encodeInto(btf: Btf, typeId: number, v: Value, out: Uint8Array, at: number, what: string, depth: number): void {
  const t = btf.skipQualifiers(typeId);
  const size = btf.sizeOf(typeId);
  if (v instanceof Uint8Array) {
    out.set(bytesOf(v, size, what), at);
    return;
  }
  if (depth > 16) throw new InvalidArgumentError("value", `${what}: nested too deep`);
  switch (t.kind) {
    case BTF_KIND_INT: {
      const signed = (t.int!.encoding & BTF_INT_SIGNED) !== 0;
      const n = toBigInt(v, what);
      if (!fits(n, size, signed)) throw new InvalidArgumentError("value", `${what}: ${n} is out of range for a${signed ? " signed" : "n unsigned"} ${size * 8}-bit integer`);
      writeInt(out, at, n, size);
      return;
    }
    case BTF_KIND_ENUM:
    case BTF_KIND_ENUM64: {
      const named = typeof v === "string" ? t.values!.find((e) => e.name === v) : undefined;
      if (typeof v === "string" && !named) throw new InvalidArgumentError("value", `${what}: '${v}' is not a value of enum ${t.name || "(anonymous)"} (${t.values!.map((e) => e.name).join(", ")})`);
      writeInt(out, at, named ? named.value : toBigInt(v, what), size);
      return;
    }
    case BTF_KIND_PTR:
      writeInt(out, at, toBigInt(v, what), size);
      return;
    case BTF_KIND_ARRAY: {
      const a = t.array!;
      const esize = btf.sizeOf(a.type);
      const elem = btf.skipQualifiers(a.type);
      if (typeof v === "string" && elem.kind === BTF_KIND_INT && esize === 1) {
        const s = new TextEncoder().encode(v);
        if (s.length >= a.nelems) throw new InvalidArgumentError("value", `${what}: '${v}' (${s.length} bytes) does not fit in char[${a.nelems}] with its NUL`);
        out.set(s, at);
        return;
      }
      if (!Array.isArray(v) || v.length > a.nelems) throw new InvalidArgumentError("value", `${what}: give an array of at most ${a.nelems} elements`);
      v.forEach((x, i) => encodeInto(btf, a.type, x, out, at + i * esize, `${what}[${i}]`, depth + 1));
      return;
    }
    case BTF_KIND_STRUCT:
    case BTF_KIND_UNION: {
      if (typeof v !== "object" || Array.isArray(v)) throw new InvalidArgumentError("value", `${what}: give an object with the fields of ${t.name || "the struct"}`);
      const known = new Set((t.members ?? []).map((m) => m.name));
      for (const k of Object.keys(v)) if (!known.has(k)) throw new InvalidArgumentError("value", `${what}: ${t.name || "the struct"} has no field '${k}' (it has ${[...known].join(", ")})`);
      for (const m of t.members ?? []) {
        const x = (v as Record<string, Value>)[m.name];
        if (x === undefined) continue; // missing fields stay zero
        if (t.kindFlag && m.offset >>> 24) throw new InvalidArgumentError("value", `${what}.${m.name}: bitfields cannot be set (give the value as a Uint8Array)`);
        encodeInto(btf, m.type, x, out, at + ((t.kindFlag ? m.offset & 0xffffff : m.offset) >>> 3), `${what}.${m.name}`, depth + 1);
      }
      return;
    }
  }
  throw new InvalidArgumentError("value", `${what}: values of this BTF kind are given as a Uint8Array of ${size} bytes`);
}

function decodeAt(btf: Btf, typeId: number, bytes: Uint8Array, depth: number): Value {
  const t = btf.skipQualifiers(typeId);
  const size = btf.sizeOf(typeId);
  switch (t.kind) {
    case BTF_KIND_INT:
      if (t.int!.encoding & BTF_INT_BOOL) return bytes[0] !== 0;
      if (size > 8) break;
      return readInt(bytes, size, (t.int!.encoding & BTF_INT_SIGNED) !== 0);
    case BTF_KIND_ENUM:
    case BTF_KIND_ENUM64: {
      const n = readInt(bytes, size, false);
      return t.values!.find((e) => e.value === BigInt(n) || e.value === BigInt.asIntN(size * 8, BigInt(n)))?.name ?? n;
    }
    case BTF_KIND_PTR:
      return readInt(bytes, size, false);
    case BTF_KIND_ARRAY: {
      if (depth > 16) break;
      const a = t.array!;
      const esize = btf.sizeOf(a.type);
      const elem = btf.skipQualifiers(a.type);
      if (elem.kind === BTF_KIND_INT && esize === 1 && /char/.test(elem.name)) {
        const s = bytes.subarray(0, a.nelems);
        const end = s.indexOf(0);
        return new TextDecoder().decode(end < 0 ? s : s.subarray(0, end));
      }
      return Array.from({ length: a.nelems }, (_, i) => decodeAt(btf, a.type, bytes.subarray(i * esize, (i + 1) * esize), depth + 1));
    }
    case BTF_KIND_STRUCT:
    case BTF_KIND_UNION: {
      if (depth > 16) break;
      const out: Record<string, Value> = {};
      for (const m of t.members ?? []) {
        const bitOffset = t.kindFlag ? m.offset & 0xffffff : m.offset;
        const bitSize = t.kindFlag ? m.offset >>> 24 : 0;
        const name = m.name || `@${bitOffset >>> 3}`;
        if (bitSize) {
          let v = 0n;
          for (let i = 0; i < bitSize; i++) {
            const bit = bitOffset + i;
            if ((bytes[bit >>> 3]! >> (bit & 7)) & 1) v |= 1n << BigInt(i);
          }
          out[name] = bitSize <= 32 ? Number(v) : v;
        } else {
          const start = bitOffset >>> 3;
          out[name] = decodeAt(btf, m.type, bytes.subarray(start, start + btf.sizeOf(m.type)), depth + 1);
        }
      }
      return out;
    }
  }
  return bytes.slice(0, size);
}

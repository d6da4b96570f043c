// A small, pure builder of raw BTF blobs (include/uapi/linux/btf.h), the inverse of btf.ts: types
// are added one at a time and get ids 1, 2, ...; `build()` lays out header, type section and string
// section as BPF_BTF_LOAD wants them. Used for the kernel's BTF feature probes (a minimal blob per
// kind) and meant to grow into the object BTF that func_info / CO-RE loading will need.
import {
  BTF_KIND_DATASEC, BTF_KIND_DECL_TAG, BTF_KIND_ENUM64, BTF_KIND_FLOAT, BTF_KIND_FUNC, BTF_KIND_FUNC_PROTO, BTF_KIND_INT,
  BTF_KIND_PTR, BTF_KIND_TYPE_TAG, BTF_KIND_VAR, BTF_MAGIC,
} from "./btf.ts";

const HEADER_LEN = 24;
/** BTF_INT_SIGNED, in the encoding byte of an INT's extra word. */
export const BTF_INT_SIGNED = 1;
export const BTF_FUNC_STATIC = 0;
export const BTF_FUNC_GLOBAL = 1;
export const BTF_VAR_STATIC = 0;
export const BTF_VAR_GLOBAL_ALLOCATED = 1;

export class BtfBuilder {
  private readonly words: number[] = [];
  private readonly strings: number[] = [0]; // offset 0 is the empty name
  private readonly stringOffsets = new Map<string, number>([["", 0]]);
  private count = 0;

  /** Offset of `s` in the string section (added once). */
  name(s: string): number {
    const known = this.stringOffsets.get(s);
    if (known !== undefined) return known;
    const off = this.strings.length;
    this.strings.push(...new TextEncoder().encode(s), 0);
    this.stringOffsets.set(s, off);
    return off;
  }

  /** struct btf_type, then the kind's extra words; returns the new type id. */
  private add(name: string, kind: number, vlen: number, sizeOrType: number, extra: number[] = [], kindFlag = false): number {
    this.words.push(this.name(name), ((kindFlag ? 1 : 0) << 31) | ((kind & 0x1f) << 24) | (vlen & 0xffff), sizeOrType, ...extra);
    return ++this.count;
  }

  int(name: string, bytes: number, encoding = BTF_INT_SIGNED): number {
    return this.add(name, BTF_KIND_INT, 0, bytes, [(encoding << 24) | (bytes * 8)]);
  }

  ptr(type: number): number {
    return this.add("", BTF_KIND_PTR, 0, type);
  }

  funcProto(returnType: number, params: { name: string; type: number }[]): number {
    return this.add("", BTF_KIND_FUNC_PROTO, params.length, returnType, params.flatMap((p) => [this.name(p.name), p.type]));
  }

  /** A function: its FUNC_PROTO and its linkage (static, global, extern) in vlen. */
  func(name: string, proto: number, linkage = BTF_FUNC_STATIC): number {
    return this.add(name, BTF_KIND_FUNC, linkage, proto);
  }

  /** A struct: members at bit offsets (no bitfields). */
  struct(name: string, size: number, members: { name: string; type: number; bitOffset: number }[]): number {
    return this.add(name, 4 /* BTF_KIND_STRUCT */, members.length, size, members.flatMap((m) => [this.name(m.name), m.type, m.bitOffset]));
  }

  variable(name: string, type: number, linkage = BTF_VAR_STATIC): number {
    return this.add(name, BTF_KIND_VAR, 0, type, [linkage]);
  }

  datasec(name: string, size: number, vars: { type: number; offset: number; size: number }[]): number {
    return this.add(name, BTF_KIND_DATASEC, vars.length, size, vars.flatMap((v) => [v.type, v.offset, v.size]));
  }

  float(name: string, bytes: number): number {
    return this.add(name, BTF_KIND_FLOAT, 0, bytes);
  }

  /** A tag on a type (componentIdx -1) or on one member/parameter of it. */
  declTag(name: string, type: number, componentIdx = -1): number {
    return this.add(name, BTF_KIND_DECL_TAG, 0, type, [componentIdx >>> 0]);
  }

  typeTag(name: string, type: number): number {
    return this.add(name, BTF_KIND_TYPE_TAG, 0, type);
  }

  enum64(name: string, bytes: number, values: { name: string; value: bigint }[], signed = false): number {
    const extra = values.flatMap((v) => {
      const u = BigInt.asUintN(64, v.value);
      return [this.name(v.name), Number(u & 0xffffffffn), Number(u >> 32n)];
    });
    return this.add(name, BTF_KIND_ENUM64, values.length, bytes, extra, signed);
  }

  build(): Uint8Array {
    const typeLen = this.words.length * 4;
    const out = new Uint8Array(HEADER_LEN + typeLen + this.strings.length);
    const v = new DataView(out.buffer);
    v.setUint16(0, BTF_MAGIC, true);
    v.setUint8(2, 1); // version
    v.setUint8(3, 0); // flags
    v.setUint32(4, HEADER_LEN, true);
    v.setUint32(8, 0, true); // type_off
    v.setUint32(12, typeLen, true);
    v.setUint32(16, typeLen, true); // str_off
    v.setUint32(20, this.strings.length, true);
    this.words.forEach((w, i) => v.setUint32(HEADER_LEN + i * 4, w >>> 0, true));
    out.set(this.strings, HEADER_LEN + typeLen);
    return out;
  }
}

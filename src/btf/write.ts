// The inverse of the BTF reader (elf/btf.ts): decoded types back to a raw blob (header, type
// section, string section with each name once), as BPF_BTF_LOAD wants it. Pure.

import {
  BTF_KIND_ARRAY, BTF_KIND_DATASEC, BTF_KIND_DECL_TAG, BTF_KIND_ENUM, BTF_KIND_ENUM64, BTF_KIND_FUNC_PROTO, BTF_KIND_INT,
  BTF_KIND_STRUCT, BTF_KIND_UNION, BTF_KIND_VAR, BTF_MAGIC, type BtfType,
} from "../elf/btf.ts";

const HEADER_LEN = 24;

/** The fields of BtfType the writer reads (ids are implied by the order). */
export type BtfTypeRecord = Omit<BtfType, "id" | "sectionOffset">;

/** A string section under construction: offset 0 is the empty name, each name is stored once. */
class Strings {
  private readonly bytes: number[] = [0];
  private readonly offsets = new Map<string, number>([["", 0]]);
  private readonly encoder = new TextEncoder();
  add(s: string): number {
    let off = this.offsets.get(s);
    if (off === undefined) {
      off = this.bytes.length;
      for (const b of this.encoder.encode(s)) this.bytes.push(b);
      this.bytes.push(0);
      this.offsets.set(s, off);
    }
    return off;
  }
  build(): Uint8Array {
    return new Uint8Array(this.bytes);
  }
}

/** struct btf_type's info word: the vlen is the list's length where the kind has a list. */
function info(t: BtfTypeRecord): number {
  const list = t.members ?? t.values ?? t.params ?? t.secinfos;
  const vlen = list ? list.length : t.vlen;
  if (vlen > 0xffff) throw new Error(`BTF type '${t.name}' has ${vlen} entries, more than a BTF vlen holds`);
  return ((t.kindFlag ? 1 : 0) << 31) | ((t.kind & 0x1f) << 24) | vlen;
}

/** Encodes types 1…n (in order) into a BTF blob. */
export function writeBtf(types: readonly BtfTypeRecord[]): Uint8Array {
  const strings = new Strings();
  const words: number[] = [];
  for (const t of types) {
    words.push(strings.add(t.name), info(t), t.sizeOrType);
    switch (t.kind) {
      case BTF_KIND_INT:
        words.push((t.int!.encoding << 24) | (t.int!.offset << 16) | t.int!.bits);
        break;
      case BTF_KIND_VAR:
        words.push(t.linkage ?? 0);
        break;
      case BTF_KIND_DECL_TAG:
        words.push(t.componentIdx ?? -1);
        break;
      case BTF_KIND_ARRAY:
        words.push(t.array!.type, t.array!.indexType, t.array!.nelems);
        break;
      case BTF_KIND_STRUCT:
      case BTF_KIND_UNION:
        for (const m of t.members!) words.push(strings.add(m.name), m.type, m.offset);
        break;
      case BTF_KIND_ENUM:
        for (const v of t.values!) words.push(strings.add(v.name), Number(BigInt.asUintN(32, v.value)));
        break;
      case BTF_KIND_ENUM64:
        for (const v of t.values!) {
          const u = BigInt.asUintN(64, v.value);
          words.push(strings.add(v.name), Number(u & 0xffffffffn), Number(u >> 32n));
        }
        break;
      case BTF_KIND_FUNC_PROTO:
        for (const p of t.params!) words.push(strings.add(p.name), p.type);
        break;
      case BTF_KIND_DATASEC:
        for (const s of t.secinfos!) words.push(s.type, s.offset, s.size);
        break;
    }
  }
  const str = strings.build();
  const typeLen = words.length * 4;
  const out = new Uint8Array(HEADER_LEN + typeLen + str.length);
  const v = new DataView(out.buffer);
  v.setUint16(0, BTF_MAGIC, true);
  v.setUint8(2, 1); // version
  v.setUint32(4, HEADER_LEN, true);
  v.setUint32(8, 0, true); // type_off
  v.setUint32(12, typeLen, true);
  v.setUint32(16, typeLen, true); // str_off
  v.setUint32(20, str.length, true);
  words.forEach((w, i) => v.setUint32(HEADER_LEN + 4 * i, w >>> 0, true));
  out.set(str, HEADER_LEN + typeLen);
  return out;
}

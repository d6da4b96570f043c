// A small raw-BTF builder for the CO-RE engine's tests: the kinds relocations look at (int, ptr,
// array, struct/union with bitfields, enum/enum64, typedef, const, fwd), by name, ids in order.
import { Btf } from "../../src/elf/btf.ts";

type Member = { name: string; type: number; bits?: number; bitfield?: number };

export class TestBtf {
  private words: number[] = [];
  private strings: number[] = [0];
  private names = new Map<string, number>([["", 0]]);
  private n = 0;

  private str(s: string): number {
    let o = this.names.get(s);
    if (o === undefined) {
      o = this.strings.length;
      this.strings.push(...new TextEncoder().encode(s), 0);
      this.names.set(s, o);
    }
    return o;
  }
  private add(name: string, kind: number, vlen: number, sizeOrType: number, extra: number[] = [], kflag = false): number {
    this.words.push(this.str(name), ((kflag ? 1 : 0) << 31) | (kind << 24) | vlen, sizeOrType, ...extra);
    return ++this.n;
  }
  int(name: string, bytes: number, signed = true): number {
    return this.add(name, 1, 0, bytes, [((signed ? 1 : 0) << 24) | (bytes * 8)]);
  }
  ptr(type: number): number {
    return this.add("", 2, 0, type);
  }
  array(elem: number, nelems: number, index = 1): number {
    return this.add("", 3, 0, 0, [elem, index, nelems]);
  }
  /** Members at `bits` (default: packed one after another is NOT computed: give bits). */
  struct(name: string, size: number, members: Member[], union = false): number {
    const kflag = members.some((m) => m.bitfield);
    const extra = members.flatMap((m) => [this.str(m.name), m.type, kflag ? ((m.bitfield ?? 0) << 24) | (m.bits ?? 0) : m.bits ?? 0]);
    return this.add(name, union ? 5 : 4, members.length, size, extra, kflag);
  }
  /** Reserves an id for a struct whose members refer to later types (filled by `fill`). */
  enumType(name: string, values: [string, number][], size = 4, signed = false): number {
    return this.add(name, 6, values.length, size, values.flatMap(([n, v]) => [this.str(n), v >>> 0]), signed);
  }
  enum64(name: string, values: [string, bigint][]): number {
    return this.add(name, 19, values.length, 8, values.flatMap(([n, v]) => [this.str(n), Number(v & 0xffffffffn), Number(v >> 32n)]));
  }
  typedef(name: string, type: number): number {
    return this.add(name, 8, 0, type);
  }
  constOf(type: number): number {
    return this.add("", 10, 0, type);
  }
  fwd(name: string, union = false): number {
    return this.add(name, 7, 0, 0, [], union);
  }
  /** A type id that will exist once `count` more types are added (for forward references). */
  get next(): number {
    return this.n + 1;
  }
  build(): Btf {
    const typeLen = this.words.length * 4;
    const out = new Uint8Array(24 + typeLen + this.strings.length);
    const v = new DataView(out.buffer);
    v.setUint16(0, 0xeb9f, true);
    v.setUint8(2, 1);
    v.setUint32(4, 24, true);
    v.setUint32(12, typeLen, true);
    v.setUint32(16, typeLen, true);
    v.setUint32(20, this.strings.length, true);
    this.words.forEach((w, i) => v.setUint32(24 + i * 4, w >>> 0, true));
    out.set(this.strings, 24 + typeLen);
    return new Btf(out);
  }
}

/** Instructions from [code, regs, off, imm] tuples. */
export function insns(...list: [number, number, number, number][]): Uint8Array {
  const out = new Uint8Array(list.length * 8);
  const v = new DataView(out.buffer);
  list.forEach(([code, regs, off, imm], i) => {
    v.setUint8(i * 8, code);
    v.setUint8(i * 8 + 1, regs);
    v.setInt16(i * 8 + 2, off, true);
    v.setInt32(i * 8 + 4, imm, true);
  });
  return out;
}

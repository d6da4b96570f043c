// A big, valid eBPF object for tests and benchmarks: N random instructions (every kind the
// disassembler knows) in .text of a minimal ELF64 relocatable (EM_BPF) with one function symbol.
import { randomInsn, rng } from "../asm/random.ts";

export function program(n: number): Uint8Array {
  const r = rng(42);
  const out = new Uint8Array(n * 8 + 16);
  let p = 0;
  for (let i = 0; i < n; ) {
    const b = randomInsn(r);
    if (i + b.length / 8 > n) continue;
    // The object reader follows BPF-to-BPF calls and pseudo loads (src_reg set): keep it a plain program.
    if ((b[0] === 0x85 || b[0] === 0x18) && b[1]! >> 4 !== 0) continue;
    out.set(b, p);
    p += b.length;
    i += b.length / 8;
  }
  return out.subarray(0, p);
}

/** A minimal relocatable ELF64 little-endian EM_BPF object with one function symbol covering .text. */
export function elf(text: Uint8Array, sym: string): Uint8Array {
  const shstr = "\0.text\0.symtab\0.strtab\0.shstrtab\0";
  const str = `\0${sym}\0`;
  const enc = new TextEncoder();
  const align8 = (n: number) => (n + 7) & ~7;
  const textOff = 64;
  const symOff = align8(textOff + text.length);
  const strOff = symOff + 48;
  const shstrOff = strOff + str.length;
  const shOff = align8(shstrOff + shstr.length);
  const total = shOff + 5 * 64;
  const b = new Uint8Array(total);
  const dv = new DataView(b.buffer);
  b.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0]);
  dv.setUint16(16, 1, true); // ET_REL
  dv.setUint16(18, 247, true); // EM_BPF
  dv.setUint32(20, 1, true);
  dv.setBigUint64(40, BigInt(shOff), true);
  dv.setUint16(52, 64, true);
  dv.setUint16(58, 64, true);
  dv.setUint16(60, 5, true); // e_shnum
  dv.setUint16(62, 4, true); // e_shstrndx
  b.set(text, textOff);
  // symbol 1: global function at 0
  dv.setUint32(symOff + 24, 1, true);
  b[symOff + 24 + 4] = 0x12; // STB_GLOBAL | STT_FUNC
  dv.setUint16(symOff + 24 + 6, 1, true); // .text
  dv.setBigUint64(symOff + 24 + 16, BigInt(text.length), true);
  b.set(enc.encode(str), strOff);
  b.set(enc.encode(shstr), shstrOff);
  const sh = (i: number, name: number, type: number, flags: number, off: number, size: number, link: number, info: number, align: number, entsize: number) => {
    const o = shOff + i * 64;
    dv.setUint32(o, name, true);
    dv.setUint32(o + 4, type, true);
    dv.setBigUint64(o + 8, BigInt(flags), true);
    dv.setBigUint64(o + 24, BigInt(off), true);
    dv.setBigUint64(o + 32, BigInt(size), true);
    dv.setUint32(o + 40, link, true);
    dv.setUint32(o + 44, info, true);
    dv.setBigUint64(o + 48, BigInt(align), true);
    dv.setBigUint64(o + 56, BigInt(entsize), true);
  };
  sh(1, 1, 1, 0x6, textOff, text.length, 0, 0, 8, 0); // .text PROGBITS AX
  sh(2, 7, 2, 0, symOff, 48, 3, 1, 8, 24); // .symtab
  sh(3, 15, 3, 0, strOff, str.length, 0, 0, 1, 0); // .strtab
  sh(4, 23, 3, 0, shstrOff, shstr.length, 0, 0, 1, 0); // .shstrtab
  return b;
}


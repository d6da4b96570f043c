// When llvm-objdump 14 is installed, compare our disassembly with it on a fresh random instruction
// stream (seed printed, BPFLOAD_ASM_SEED to replay). Skipped with the reason otherwise.

import { expect, test } from "bun:test";
import { assemble, disassemble } from "../../src/asm/index.ts";
import { bytesToAsm, insnLines, llvmVersion, objdumpOf } from "./llvm.ts";

const version = llvmVersion();
const skip = version !== 14;
const why = version === undefined ? "llvm-objdump is not installed" : `llvm-objdump is LLVM ${version}, the fixtures pin LLVM 14`;

function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    // xorshift32
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 0x100000000;
  };
}

/** A random valid (canonical) instruction of any kind in the ISA, including v4 ones. */
function randomInsn(r: () => number): number[] {
  const pick = <T>(a: readonly T[]): T => a[Math.floor(r() * a.length)]!;
  const reg = () => Math.floor(r() * 11);
  const off = () => pick([0, 1, -1, 8, -8, 0x7fff, -0x8000, Math.floor(r() * 65536) - 32768]);
  const imm = () => pick([0, 1, -1, 16, 0x7fffffff, -0x80000000, Math.floor(r() * 2 ** 32) - 2 ** 31]);
  const slot = (code: number, dst: number, src: number, o: number, i: number) => [
    code, (src << 4) | dst, o & 0xff, (o >> 8) & 0xff, i & 0xff, (i >>> 8) & 0xff, (i >>> 16) & 0xff, (i >>> 24) & 0xff,
  ];
  const cls = pick([4, 7]);
  switch (Math.floor(r() * 12)) {
    case 0: {
      const op = pick([0x00, 0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0x90, 0xa0, 0xb0, 0xc0]);
      const sdiv = (op === 0x30 || op === 0x90) && r() < 0.3 ? 1 : 0;
      return r() < 0.5 ? slot(cls | op, reg(), 0, sdiv, imm()) : slot(cls | op | 8, reg(), reg(), op === 0xb0 && r() < 0.3 ? pick([8, 16, 32]) : sdiv, 0);
    }
    case 1:
      return r() < 0.3 ? slot(cls | 0x80, reg(), 0, 0, 0) : slot(pick([0xd4, 0xdc, 0xd7]), reg(), 0, 0, pick([16, 32, 64]));
    case 2: {
      const op = pick([0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0xa0, 0xb0, 0xc0, 0xd0]);
      const c = pick([5, 6]) | op;
      return r() < 0.5 ? slot(c, reg(), 0, off(), imm()) : slot(c | 8, reg(), reg(), off(), 0);
    }
    case 3:
      return pick([slot(0x05, 0, 0, off(), 0), slot(0x06, 0, 0, 0, imm()), slot(0x95, 0, 0, 0, 0), slot(0xe5, 0, 0, off(), 0)]);
    case 4:
      return slot(0x85, 0, pick([0, 0, 1, 2]), 0, imm());
    case 5: {
      const v = imm();
      return [...slot(0x18, reg(), pick([0, 0, 1, 2, 3, 4, 5, 6]), 0, imm()), ...slot(0, 0, 0, 0, v)];
    }
    case 6:
      return slot(pick([0x20, 0x28, 0x30]), 0, 0, 0, imm());
    case 7:
      return slot(pick([0x40, 0x48, 0x50]), 0, reg(), 0, r() < 0.5 ? 0 : imm());
    case 8:
      return slot(pick([0x61, 0x69, 0x71, 0x79, 0x81, 0x89, 0x91]), reg(), reg(), off(), 0);
    case 9:
      return r() < 0.5 ? slot(pick([0x63, 0x6b, 0x73, 0x7b]), reg(), reg(), off(), 0) : slot(pick([0x62, 0x6a, 0x72, 0x7a]), reg(), 0, off(), imm());
    case 10:
      return slot(pick([0xc3, 0xdb]), reg(), reg(), off(), pick([0x00, 0x01, 0x40, 0x41, 0x50, 0x51, 0xa0, 0xa1, 0xe1, 0xf1]));
    default:
      return slot(pick([0xdb, 0xd3, 0xcb, 0xc3]), reg(), reg(), off(), pick([0x100, 0x110]));
  }
}

test.skipIf(skip)(`random instruction stream vs live llvm-objdump${skip ? ` (skipped: ${why})` : ""}`, () => {
  const seed = Number(process.env.BPFLOAD_ASM_SEED ?? Math.floor(Math.random() * 2 ** 31));
  const r = rng(seed);
  const canonical: number[] = [];
  for (let i = 0; i < 3000; i++) canonical.push(...randomInsn(r));
  // Plus raw noise: any opcode with any fields (what llvm decodes or rejects must match too).
  const noise: number[] = [];
  for (let i = 0; i < 2000; i++) for (let j = 0; j < 8; j++) noise.push(Math.floor(r() * 256));
  for (const [label, bytes] of [["canonical", new Uint8Array(canonical)], ["noise", new Uint8Array(noise)]] as const) {
    for (const alu32 of [false, true]) {
      const { text } = objdumpOf(bytesToAsm([{ name: ".text", bytes, labels: [{ name: "prog", offset: 0 }] }]), alu32 ? ["-d", "--mattr=+alu32"] : ["-d"]);
      const want = insnLines(text);
      const got = insnLines(disassemble(bytes, { symbols: [{ name: "prog", offset: 0 }], alu32 }));
      const bad = want.findIndex((l, i) => l !== got[i]);
      if (bad >= 0 || want.length !== got.length) {
        expect(`seed ${seed} ${label} alu32=${alu32} line ${bad}: ${got[bad]}`).toBe(`seed ${seed} ${label} alu32=${alu32} line ${bad}: ${want[bad]}`);
      }
      expect(assemble(disassemble(bytes, { alu32 }))).toEqual(bytes);
    }
  }
  // Canonical instructions also survive as text alone in the modern spelling.
  const c = new Uint8Array(canonical);
  expect(Buffer.from(assemble(disassemble(c, { modern: true, rawBytes: false, index: false }))).toString("hex")).toBe(Buffer.from(c).toString("hex"));
});

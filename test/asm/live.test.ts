// When llvm-objdump 14 is installed, compare our disassembly with it on a fresh random instruction
// stream (seed printed, BPFLOAD_ASM_SEED to replay). Skipped with the reason otherwise.

import { expect, test } from "bun:test";
import { assemble, disassemble } from "../../src/asm/index.ts";
import { randomInsn, rng } from "./random.ts";
import { bytesToAsm, insnLines, llvmVersion, objdumpOf } from "./llvm.ts";

const version = llvmVersion();
const skip = version !== 14;
const why = version === undefined ? "llvm-objdump is not installed" : `llvm-objdump is LLVM ${version}, the fixtures pin LLVM 14`;

test.skipIf(skip)(`random instruction stream vs live llvm-objdump${skip ? ` (skipped: ${why})` : ""}`, () => {
  const seed = Number(process.env.BPFLOAD_ASM_SEED ?? Math.floor(Math.random() * 2 ** 31));
  const r = rng(seed);
  const canonical: number[] = [];
  for (let i = 0; i < 3000; i++) canonical.push(...randomInsn(r));
  // Plus raw noise: any opcode with any fields (what llvm decodes or rejects must match too).
  const noise: number[] = [];
  for (let i = 0; i < 2000; i++) for (let j = 0; j < 8; j++) noise.push(Math.floor(r() * 256));
  // llvm-objdump 14 segfaults on `18 20 00 00 00 00 00 00`; noise cannot hit it by chance, but be sure.
  for (let i = 0; i < noise.length; i += 8) if (noise[i] === 0x18 && noise[i + 1] === 0x20) noise[i + 1] = 0x21;
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

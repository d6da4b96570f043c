// Benchmark (not a test): our disassembler against `llvm-objdump -d` on a 1,000,000-instruction
// object, in the same run. Run: bun test/bench/disasm.ts [instructions] [runs]
// The object is a minimal ELF64 relocatable (EM_BPF) written here: .text, .symtab, .strtab, .shstrtab.
// Both sides produce the full text and write it to /dev/null; the median of several runs is reported.

import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { disassembleObject } from "../../src/asm/index.ts";
import { randomInsn, rng } from "../asm/random.ts";
import { LLVM_OBJDUMP, llvmVersion } from "../asm/llvm.ts";

const N = Number(process.argv[2] ?? 1_000_000);
const RUNS = Number(process.argv[3] ?? 5);

function program(n: number): Uint8Array {
  const r = rng(42);
  const out = new Uint8Array(n * 8 + 16);
  let p = 0;
  for (let i = 0; i < n; ) {
    const b = randomInsn(r);
    if (i + b.length / 8 > n) continue;
    out.set(b, p);
    p += b.length;
    i += b.length / 8;
  }
  return out.subarray(0, p);
}

/** A minimal relocatable ELF64 little-endian EM_BPF object with one function symbol covering .text. */
function elf(text: Uint8Array, sym: string): Uint8Array {
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

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const text = program(N);
const dir = mkdtempSync(join(tmpdir(), "bpfload-bench-"));
const file = join(dir, "bench.o");
writeFileSync(file, elf(text, "prog"));
const obj = { file: "bench.o", sections: [{ name: ".text", bytes: text, symbols: [{ name: "prog", offset: 0 }] }] };

const ours: number[] = [];
let outLen = 0;
for (let i = 0; i < RUNS; i++) {
  const t0 = performance.now();
  const out = disassembleObject(obj);
  await Bun.write("/dev/null", out);
  ours.push(performance.now() - t0);
  outLen = out.length;
}
console.log(`instructions: ${N} (${text.length} bytes), output ${(outLen / 1e6).toFixed(1)} MB`);
console.log(`bpfload disassembleObject: median ${median(ours).toFixed(0)} ms of ${RUNS} runs [${ours.map((x) => x.toFixed(0)).join(", ")}]`);

const v = llvmVersion();
if (v === undefined) {
  console.log("llvm-objdump: not installed (apt-get install llvm), no comparison");
} else {
  const theirs: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    const r = Bun.spawnSync([LLVM_OBJDUMP, "-d", file], { stdout: Bun.file("/dev/null"), stderr: "pipe" });
    theirs.push(performance.now() - t0);
    if (r.exitCode !== 0) throw new Error(r.stderr.toString());
  }
  // Sanity: same text (LLVM 14 only; later versions print differently).
  if (v === 14) {
    const r = Bun.spawnSync([LLVM_OBJDUMP, "-d", file]);
    const same = r.stdout.toString().replaceAll(file, "bench.o") === disassembleObject(obj);
    console.log(`output identical to llvm-objdump ${v}: ${same}`);
  }
  const m = median(theirs);
  console.log(`llvm-objdump ${v} -d:           median ${m.toFixed(0)} ms of ${RUNS} runs [${theirs.map((x) => x.toFixed(0)).join(", ")}]`);
  console.log(`ratio llvm-objdump / bpfload: ${(m / median(ours)).toFixed(2)}x ${m >= median(ours) ? "(bpfload is faster)" : "(bpfload is slower)"}`);
}
rmSync(dir, { recursive: true, force: true });

// Benchmark (not a test): our disassembler against `llvm-objdump -d` on a 1,000,000-instruction
// object, in the same run. Run: bun test/bench/disasm.ts [instructions] [runs]
// The object is a minimal ELF64 relocatable (EM_BPF) written here: .text, .symtab, .strtab, .shstrtab.
// Both sides produce the full text and write it to /dev/null; the median of several runs is reported.

import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { disassembleObject } from "../../src/asm/index.ts";
import { elf, program } from "../cli/big-object.ts";
import { LLVM_OBJDUMP, llvmVersion } from "../asm/llvm.ts";

const N = Number(process.argv[2] ?? 1_000_000);
const RUNS = Number(process.argv[3] ?? 5);

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

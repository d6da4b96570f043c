// Benchmark (not a test): our disassembler against `llvm-objdump -d` on a 1,000,000-instruction
// object, in the same run. Run: bun test/bench/disasm.ts [instructions] [runs]
// The object is a minimal ELF64 relocatable (EM_BPF) written here: .text, .symtab, .strtab, .shstrtab.
// Both sides produce the full text and write it to /dev/null; the median of several runs is reported.
// Then the whole command, as a user runs it: `bpfload disasm bench.o` into a file, and into a pipe
// (`| cat > /dev/null`: Bun's stdout is non-blocking there, every write must still complete), next
// to `llvm-objdump -d bench.o` the same two ways.

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
// ---- the whole command: into a file and into a pipe ----
const MAIN = new URL("../../src/main.ts", import.meta.url).pathname;
const shell = (cmd: string): number => {
  const t0 = performance.now();
  const r = Bun.spawnSync(["bash", "-c", `set -o pipefail; ${cmd}`], { stdout: "inherit", stderr: "pipe", env: { ...process.env, FILE: file, OUT: join(dir, "out.txt"), BUN: process.execPath, MAIN } });
  const ms = performance.now() - t0;
  if (r.exitCode !== 0) throw new Error(`${cmd}: exit ${r.exitCode}: ${r.stderr.toString()}`);
  return ms;
};
/** Runs the commands in turn, RUNS rounds (so a busy moment of a shared machine hits them all). */
const timed = (...cmds: string[]) => {
  const xs = cmds.map(() => [] as number[]);
  for (let i = 0; i < RUNS; i++) cmds.forEach((c, k) => xs[k]!.push(shell(c)));
  return xs.map((x) => ({ m: median(x), xs: x }));
};
type Timing = { m: number; xs: number[] };
const show = (label: string, t: Timing) =>
  console.log(`${label.padEnd(44)} median ${t.m.toFixed(0)} ms of ${RUNS} runs [${t.xs.map((x) => x.toFixed(0)).join(", ")}]`);

const [cliFile, cliPipe] = timed(`"$BUN" "$MAIN" disasm "$FILE" > "$OUT"`, `"$BUN" "$MAIN" disasm "$FILE" | cat > /dev/null`) as [Timing, Timing];
const lines = Bun.spawnSync(["bash", "-c", `"$BUN" "$MAIN" disasm "$FILE" | wc -l`], { env: { ...process.env, FILE: file, BUN: process.execPath, MAIN } }).stdout.toString().trim();
console.log(`\nbpfload disasm, the whole command (${lines} lines through the pipe):`);
show("bpfload disasm bench.o > file", cliFile);
show("bpfload disasm bench.o | cat > /dev/null", cliPipe);
console.log(`ratio pipe / file: ${(cliPipe.m / cliFile.m).toFixed(2)} ${cliPipe.m <= cliFile.m * 1.05 ? "(the pipe is as fast)" : "(the pipe is slower)"}`);
if (v !== undefined) {
  const [llvmFile, llvmPipe] = timed(`"${LLVM_OBJDUMP}" -d "$FILE" > "$OUT"`, `"${LLVM_OBJDUMP}" -d "$FILE" | cat > /dev/null`) as [Timing, Timing];
  show("llvm-objdump -d bench.o > file", llvmFile);
  show("llvm-objdump -d bench.o | cat > /dev/null", llvmPipe);
  console.log(`ratio llvm-objdump / bpfload, into a pipe: ${(llvmPipe.m / cliPipe.m).toFixed(2)}x; into a file: ${(llvmFile.m / cliFile.m).toFixed(2)}x`);
}
rmSync(dir, { recursive: true, force: true });

// Benchmark (not a timed test): the compiled executable's start-up on three commands that exit at
// once: --version, disasm of an object, load of the seed without attaching (root). Medians of
// interleaved runs against another build (start-up differences of a few ms drown in a shared
// machine's noise between separate runs).
//   npx bun test/bench/cli-start.ts OTHER_EXECUTABLE [runs]   (this checkout's: ./node_modules/.bin/bun build.ts x64 first)
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { REPO, SEED } from "../support.ts";

const mine = `${REPO}/dist/bpfload-linux-${process.arch}`;
const other = process.argv[2];
const runs = Number(process.argv[3] ?? 21);
const dir = mkdtempSync(`${tmpdir()}/bpfload-cli-start-`);
writeFileSync(`${dir}/seed.bin`, SEED);
const commands: Record<string, string[]> = {
  "--version": ["--version"],
  "disasm hello.o": ["disasm", `${REPO}/test/fixtures/hello.o`],
  "load seed --no-attach": ["load", `${dir}/seed.bin`, "--type", "tracepoint", "--no-attach"],
  "load globals.o --no-attach": ["load", `${REPO}/test/fixtures/globals.o`, "--no-attach"],
};
if (process.geteuid?.() !== 0) delete commands["load seed --no-attach"], delete commands["load globals.o --no-attach"];

function ms(exe: string, args: string[]): number {
  const t = performance.now();
  const r = Bun.spawnSync([exe, ...args], { stdout: "ignore", stderr: "pipe" });
  const d = performance.now() - t;
  if (r.exitCode !== 0) throw new Error(`${exe} ${args.join(" ")}: exit ${r.exitCode}: ${r.stderr.toString()}`);
  return d;
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
console.log(`median of ${runs} runs, spawn to exit (ms):`);
for (const [name, args] of Object.entries(commands)) {
  const a: number[] = [], b: number[] = [];
  for (let i = 0; i < runs + 2; i++) {
    const x = ms(mine, args);
    const y = other ? ms(other, args) : 0;
    if (i >= 2) a.push(x), b.push(y); // the first runs warm the page cache
  }
  console.log(`  ${name.padEnd(24)} this ${median(a).toFixed(1).padStart(6)}${other ? `   other ${median(b).toFixed(1).padStart(6)}` : ""}`);
}
rmSync(dir, { recursive: true, force: true });

// Benchmark (not a test): whole-process time of a one-shot load + attach + detach + exit of the
// seed program, side by side in one run with a C loader doing the same syscalls and with Bun's
// floor (a compiled Bun program that only prints). Also `bpfload --version` against that floor.
// Needs root, gcc and the uapi headers; builds what it needs into a temp dir.
//   npx bun test/bench/oneshot.ts [runs]
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { SEED } from "../support.ts";

const runs = Number(process.argv[2] ?? 40);
const repo = new URL("../..", import.meta.url).pathname;
const dir = mkdtempSync(`${tmpdir()}/bpfload-bench-`);
const tracefs = ["/sys/kernel/tracing", "/sys/kernel/debug/tracing"].find((d) => Bun.file(`${d}/trace_pipe`).size !== undefined)!;

function sh(cmd: string[], cwd = repo): void {
  const r = Bun.spawnSync(cmd, { cwd, stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`${cmd.join(" ")}: ${r.stderr.toString()}`);
}

console.log("building: bpfload executable, C loader, Bun floor...");
sh([process.execPath, "build.ts", process.arch]);
const bpfload = `${repo}/dist/bpfload-linux-${process.arch}`;
sh(["gcc", "-O2", "-o", `${dir}/cloader`, `${repo}/test/bench/oneshot.c`]);
writeFileSync(`${dir}/floor.ts`, 'console.log("bun floor");\n');
sh([process.execPath, "build", "--compile", "--minify", "--bytecode", `${dir}/floor.ts`, "--outfile", `${dir}/floor`]);
writeFileSync(`${dir}/seed.bin`, SEED);

const cases: Record<string, string[]> = {
  "C loader (load+attach+detach)": [`${dir}/cloader`, `${dir}/seed.bin`, `${tracefs}/events/syscalls/sys_enter_clone/id`],
  "bpfload load --duration 0": [bpfload, "load", `${dir}/seed.bin`, "--attach", "tracepoint:syscalls:sys_enter_clone", "--duration", "0"],
  "Bun floor (print only)": [`${dir}/floor`],
  "bpfload --version": [bpfload, "--version"],
};

const times: Record<string, number[]> = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
for (let i = 0; i < runs + 2; i++) {
  for (const [name, cmd] of Object.entries(cases)) {
    const t0 = performance.now();
    const r = Bun.spawnSync(cmd, { stdout: "ignore", stderr: "pipe" });
    const dt = performance.now() - t0;
    if (r.exitCode !== 0) throw new Error(`${name} failed: ${r.stderr.toString()}`);
    if (i >= 2) times[name]!.push(dt); // two warm-up rounds
  }
}

const median = (a: number[]) => {
  const s = [...a].sort((x, y) => x - y);
  return s[Math.floor(s.length / 2)]!;
};
const m = Object.fromEntries(Object.entries(times).map(([k, v]) => [k, median(v)]));
console.log(`\nmedian of ${runs} runs (kernel ${Bun.spawnSync(["uname", "-r"]).stdout.toString().trim()}, ${process.arch}):`);
for (const [k, v] of Object.entries(m)) console.log(`  ${k.padEnd(34)} ${v.toFixed(1).padStart(7)} ms`);
const oneshot = m["bpfload load --duration 0"]! / m["C loader (load+attach+detach)"]!;
const version = m["bpfload --version"]! / m["Bun floor (print only)"]!;
console.log(`\none-shot: bpfload / C loader = ${oneshot.toFixed(2)}x (issue 8 target <= 1.05x; the floor: Bun alone costs the --version time)`);
console.log(`--version: bpfload / Bun floor = ${version.toFixed(2)}x (target <= 1.10x)`);
rmSync(dir, { recursive: true, force: true });

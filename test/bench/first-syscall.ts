// Benchmark (not a test): where a one-shot's time goes, from the kernel's side. `perf trace` times
// from exec to the first bpf() (start-up: Bun, module loading, argument parsing), to
// perf_event_open (the attach) and to exit_group (the detach, mostly the kernel's RCU waits on
// close), for the C loader and bpfload side by side; medians of N runs. Needs root, perf and gcc.
//   npx bun test/bench/first-syscall.ts [runs] [bpfload executable]
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { SEED } from "../support.ts";

const runs = Number(process.argv[2] ?? 15);
const repo = new URL("../..", import.meta.url).pathname;
const dir = mkdtempSync(`${tmpdir()}/bpfload-first-`);
const tracefs = ["/sys/kernel/tracing", "/sys/kernel/debug/tracing"].find((d) => Bun.file(`${d}/trace_pipe`).size !== undefined)!;
const bpfload = process.argv[3] ?? `${repo}/dist/bpfload-linux-${process.arch}`;
if (process.argv[3] === undefined) Bun.spawnSync([process.execPath, "build.ts", process.arch], { cwd: repo });
Bun.spawnSync(["gcc", "-O2", "-o", `${dir}/cloader`, `${repo}/test/bench/oneshot.c`]);
writeFileSync(`${dir}/seed.bin`, SEED);

const cases: Record<string, string[]> = {
  "C loader": [`${dir}/cloader`, `${dir}/seed.bin`, `${tracefs}/events/syscalls/sys_enter_clone/id`],
  "bpfload --duration 0": [bpfload, "load", `${dir}/seed.bin`, "--attach", "tracepoint:syscalls:sys_enter_clone", "--duration", "0"],
};
const marks = ["bpf(", "perf_event_open(", "exit_group("] as const;
const median = (a: number[]) => [...a].sort((x, y) => x - y)[a.length >> 1]!;
const times: Record<string, number[][]> = {};
for (let i = 0; i < runs; i++) {
  for (const [name, cmd] of Object.entries(cases)) {
    const out = `${dir}/trace.out`;
    const r = Bun.spawnSync(["perf", "trace", "-e", "execve,bpf,perf_event_open,exit_group", "-o", out, "--", ...cmd], { stdout: "ignore", stderr: "pipe" });
    if (r.exitCode !== 0) throw new Error(`perf trace ${name}: ${r.stderr.toString()}`);
    // lines: "    11.845 ( 0.126 ms): comm/pid bpf(cmd: PROG_LOAD, ...)", ms from the exec
    const lines = readFileSync(out, "utf8").split("\n");
    const at = marks.map((m) => Number(lines.find((l) => l.includes(` ${m}`))?.trim().split(/\s+/)[0] ?? NaN));
    (times[name] ??= []).push(at);
  }
}
console.log(`median of ${runs} runs, ms from exec (under perf trace):`);
console.log(`  ${"".padEnd(22)} ${marks.map((m) => m.padStart(17)).join("")}`);
for (const [name, t] of Object.entries(times)) console.log(`  ${name.padEnd(22)} ${marks.map((_, k) => median(t.map((x) => x[k]!)).toFixed(2).padStart(17)).join("")}`);
rmSync(dir, { recursive: true, force: true });

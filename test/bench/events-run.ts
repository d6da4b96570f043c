// Benchmark (not a timed test): the process cost of one `bpfload run` vs one `bpftool prog run`,
// whole process (exec to exit), median of N alternating runs; and `--repeat 1000000`, whose
// duration is the kernel's own per-run measure. bpftool runs a pinned program; bpfload runs the
// same pin (like for like) and, as a user mostly has it, the object (load + verify + run).
// Run as root: npx bun test/bench/events-run.ts [--exe dist/bpfload-linux-x64] [--n 31]
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { arg, REPO } from "./common.ts";

const exe = arg("--exe") ?? `${REPO}/dist/bpfload-linux-${process.arch}`;
const N = Number(arg("--n") ?? 31);
const dir = mkdtempSync(`${tmpdir()}/bpfload-bench-run-`);
const pin = `/sys/fs/bpf/bpfload-bench-run-${process.pid}`;
const sh = (cmd: string[]) => {
  const r = Bun.spawnSync(cmd, { stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`${cmd.join(" ")}: ${r.stderr}`);
  return r.stdout.toString();
};
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

try {
  if (!(await Bun.file(exe).exists())) throw new Error(`${exe} is missing: bun build.ts ${process.arch}`);
  const pkt = "ffffffffffff0200000000010800" + "4500001c000000004011" + "0000" + "0a0000010a000002" + "04d2000900080000";
  writeFileSync(`${dir}/pkt`, Buffer.from(pkt, "hex"));
  const obj = `${REPO}/test/fixtures/packets.o`;
  const j = JSON.parse(sh([exe, "run", obj, "--program", "xdp_verdict", "--data", pkt, "--repeat", "1000000", "--json"]));
  console.log(`bpfload run --repeat 1000000: ${j.duration} ns per run (the kernel's measure)`);
  sh(["bpftool", "prog", "loadall", obj, pin]);
  const cases: [string, string[]][] = [
    ["bpftool prog run (pinned)", ["bpftool", "prog", "run", "pinned", `${pin}/xdp_verdict`, "data_in", `${dir}/pkt`]],
    ["bpfload run (pinned)", [exe, "run", `${pin}/xdp_verdict`, "--data", pkt]],
    ["bpfload run (object)", [exe, "run", obj, "--program", "xdp_verdict", "--data", pkt]],
    ["bpfload --version (Bun's start + ours)", [exe, "--version"]],
  ];
  const times = new Map<string, number[]>(cases.map(([name]) => [name, []]));
  for (let i = 0; i < N; i++) {
    for (const [name, cmd] of cases) {
      const t0 = performance.now();
      sh(cmd);
      times.get(name)!.push(performance.now() - t0);
    }
  }
  const tool = median(times.get(cases[0]![0])!);
  for (const [name] of cases) {
    const m = median(times.get(name)!);
    console.log(`${name.padEnd(40)} median ${m.toFixed(1)} ms (of ${N})   ${(m / tool).toFixed(2)}x bpftool`);
  }
} finally {
  rmSync(pin, { recursive: true, force: true });
  rmSync(dir, { recursive: true, force: true });
}

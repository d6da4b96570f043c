// Benchmark (not a timed test): trace_pipe lines/s that bpfload passes to a file vs
// `cat trace_pipe > file`, under the same load: the printk_rate fixture prints one numbered line
// per getppid call, and a C loop calls getppid for a fixed time (events-trigger.c). For cat, a
// libbpf loader (trace-load.c) attaches the same object. Each reader outlives the trigger; the
// numbers in the lines show what was lost (gaps; the kernel's trace buffer overwrites when full).
// The first bpfload run expands a trace buffer still at its boot-time 7 KB a CPU (expandTraceBuffer),
// so from then on cat reads the same 1408 KB a CPU: print buffer_size_kb with the rates.
// Run as root, nothing else reading trace_pipe: npx bun test/bench/trace-pipe.ts [--exe dist/bpfload-linux-x64] [--usec N]
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { BENCH, BPFLOAD, REPO, arg } from "./common.ts";

const TRACEFS = ["/sys/kernel/tracing", "/sys/kernel/debug/tracing"].find((d) => Bun.spawnSync(["test", "-e", `${d}/trace_pipe`]).exitCode === 0)!;
const OBJ = `${REPO}/test/fixtures/printk_rate.o`;
const dir = mkdtempSync(`${tmpdir()}/bpfload-bench-trace-`);
const sh = (cmd: string[]) => {
  const r = Bun.spawnSync(cmd);
  if (r.exitCode !== 0) throw new Error(`${cmd.join(" ")}: ${r.stderr}`);
  return r.stdout.toString();
};
sh(["gcc", "-O2", `${BENCH}/trace-load.c`, "-lbpf", "-o", `${dir}/trace-load`]);
sh(["gcc", "-O2", `${BENCH}/events-trigger.c`, "-o", `${dir}/trigger`]);

const SECONDS = 3;
const WINDOW = SECONDS + 2;

async function waitFor(stream: ReadableStream<Uint8Array>, marker: string) {
  const reader = stream.getReader();
  let text = "";
  while (!text.includes(marker)) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`ended before '${marker}': ${text}`);
    text += new TextDecoder().decode(value);
  }
  return reader;
}

function trigger(): { calls: number; secs: number } {
  const usec = arg("--usec");
  const m = /calls (\d+) seconds ([\d.]+)/.exec(sh([`${dir}/trigger`, String(SECONDS), ...(usec ? ["16", usec] : [])]))!;
  return { calls: Number(m[1]), secs: Number(m[2]) };
}

/** Lines with our numbers, and how many numbers between the first and the last are missing. */
function count(file: string) {
  const seqs = [...readFileSync(file, "latin1").matchAll(/seq (\d+)$/gm)].map((m) => Number(m[1]));
  if (!seqs.length) return { lines: 0, gaps: 0 };
  seqs.sort((a, b) => a - b);
  return { lines: seqs.length, gaps: seqs[seqs.length - 1]! - seqs[0]! + 1 - seqs.length };
}

async function withCat() {
  const loader = Bun.spawn([`${dir}/trace-load`, OBJ, String(WINDOW + 1)], { stderr: "pipe" });
  await waitFor(loader.stderr, "ready");
  const file = `${dir}/cat.txt`;
  const cat = Bun.spawn(["sh", "-c", `exec cat ${TRACEFS}/trace_pipe > ${file}`]);
  await Bun.sleep(300);
  const t = trigger();
  await Bun.sleep((WINDOW - SECONDS) * 1000 - 300);
  cat.kill("SIGTERM");
  await cat.exited;
  loader.kill("SIGTERM");
  await loader.exited;
  return { ...t, ...count(file) };
}

async function withBpfload() {
  const file = `${dir}/bpfload.txt`;
  const p = Bun.spawn([...BPFLOAD, "load", OBJ, "--duration", String(WINDOW)], { stdout: Bun.file(file), stderr: "pipe" });
  await waitFor(p.stderr, "watching");
  await Bun.sleep(300);
  const t = trigger();
  await p.exited;
  return { ...t, ...count(file) };
}

try {
  console.log(`trace_pipe into a file: the trigger runs ${SECONDS} s (${arg("--usec") ? `16 calls, then ${arg("--usec")} µs` : "flat out"}), one numbered line per call`);
  console.log(`buffer_size_kb before: ${readFileSync(`${TRACEFS}/buffer_size_kb`, "latin1").trim()}`);
  for (let round = 0; round < 2; round++) {
    const a = await withCat();
    const b = await withBpfload();
    const rate = (r: { lines: number; secs: number }) => r.lines / r.secs;
    const show = (r: Awaited<ReturnType<typeof withCat>>) => `${Math.round(rate(r))} lines/s (of ${Math.round(r.calls / r.secs)} made/s; ${r.gaps} missing in the numbering)`;
    console.log(`cat ${show(a)}   bpfload ${show(b)}   ratio ${(rate(b) / rate(a)).toFixed(2)}x`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

// Benchmark (not a timed test): event consumption by bpfload vs libbpf's ring_buffer__poll /
// perf_buffer__poll, same object, same trigger (a C loop of getppid for a fixed time:
// events-trigger.c), side by side in one run. Each consumer outlives the trigger, so the rate is
// records received / the trigger's seconds, and received + lost must equal the calls made (the
// `silent` column: records neither delivered nor reported lost). bpfload writes to a file, and
// the file must hold as many lines as it says it received.
// Run as root: npx bun test/bench/events.ts [--only ringbuf|perf_array] [--exe dist/bpfload-linux-x64]
//   [--paced flat,20:100,5:100] (flat out, and trigger batches:pauses in µs) [--ring BYTES] (ringbuf size, both sides)
// (`bpfload run`'s overhead: test/bench/events-run.ts)
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { BENCH, BPFLOAD, REPO, arg } from "./common.ts";

const dir = mkdtempSync(`${tmpdir()}/bpfload-bench-events-`);
const sh = (cmd: string[]) => {
  const r = Bun.spawnSync(cmd);
  if (r.exitCode !== 0) throw new Error(`${cmd.join(" ")}: ${r.stderr}`);
  return r.stdout.toString();
};
sh(["gcc", "-O2", `${BENCH}/events.c`, "-lbpf", "-o", `${dir}/libbpf-consumer`]);
sh(["gcc", "-O2", `${BENCH}/events-trigger.c`, "-o", `${dir}/trigger`]);

/** Waits until `stream` has printed `marker`; returns the reader and the text read so far. */
async function waitFor(stream: ReadableStream<Uint8Array>, marker: string) {
  const reader = stream.getReader();
  let text = "";
  while (!text.includes(marker)) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`ended before '${marker}': ${text}`);
    text += new TextDecoder().decode(value);
  }
  return { reader, text };
}

async function readAll(reader: { read(): Promise<{ value?: Uint8Array; done?: boolean }> }, text: string): Promise<string> {
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return text;
    text += new TextDecoder().decode(value);
  }
}

const TRIGGER_SECONDS = 3;
/** The consumer's window: the trigger's, and time to drain what is left. */
const WINDOW = TRIGGER_SECONDS + 2;
type Result = { records: number; lost: number; calls: number; secs: number };

/** The trigger runs as its own process while this one goes on reading the consumer's output (a
 *  spawnSync here left bpfload's stderr pipe unread for 3 s: its lost-record lines filled it and
 *  its writes stalled the reader, 0.1x libbpf's rate where the same run to a file gave 0.6-1x). */
async function runTrigger(trigger: string[]): Promise<{ calls: number; secs: number }> {
  const p = Bun.spawn([`${dir}/trigger`, String(TRIGGER_SECONDS), ...trigger], { stdout: "pipe" });
  const out = await new Response(p.stdout).text();
  if ((await p.exited) !== 0) throw new Error(`trigger exited ${p.exitCode}`);
  const m = /calls (\d+) seconds ([\d.]+)/.exec(out)!;
  return { calls: Number(m[1]), secs: Number(m[2]) };
}

const ring = arg("--ring");

async function libbpf(obj: string, trigger: string[]): Promise<Result> {
  const p = Bun.spawn([`${dir}/libbpf-consumer`, obj, String(WINDOW), ...(ring && obj.includes("ringbuf") ? [ring] : [])], { stdout: "pipe", stderr: "pipe" });
  await waitFor(p.stderr, "ready");
  const [t, out] = await Promise.all([runTrigger(trigger), new Response(p.stdout).text()]);
  const m = /records (\d+) lost (\d+)/.exec(out)!;
  return { records: Number(m[1]), lost: Number(m[2]), ...t };
}

async function bpfload(obj: string, trigger: string[]): Promise<Result> {
  // records to a file (as a user would redirect them), the exit line from stderr
  const file = `${dir}/records.txt`;
  rmSync(file, { force: true });
  const resize = ring && obj.includes("ringbuf") ? ["--map", `events:max_entries=${ring}`] : [];
  const p = Bun.spawn([...BPFLOAD, "load", obj, "--duration", String(WINDOW), ...resize], { stdout: Bun.file(file), stderr: "pipe" });
  const { reader, text } = await waitFor(p.stderr, "watching");
  const [t, all] = await Promise.all([runTrigger(trigger), readAll(reader, text)]);
  await p.exited;
  const m = /(\d+) trace lines, (\d+) records, (\d+) lost/.exec(all);
  if (!m) throw new Error(`bpfload: ${all}`);
  // (trace lines: another program's bpf_printk on a shared machine goes to the same stdout)
  const lines = readFileSync(file, "latin1").split("\n").length - 1;
  if (lines !== Number(m[1]) + Number(m[2])) throw new Error(`bpfload said ${m[1]} trace lines and ${m[2]} records, the file has ${lines} lines`);
  return { records: Number(m[2]), lost: Number(m[3]), ...t };
}

try {
  const only = arg("--only");
  console.log(`event consumption${ring ? ` (ring buffer of ${ring} bytes)` : ""}: the trigger runs ${TRIGGER_SECONDS} s ('flat out': getppid in a loop; 'paced': 20 calls, then 100 µs), the consumer ${WINDOW} s`);
  for (const name of ["ringbuf", "perf_array"]) {
    if (only && only !== name) continue;
    // --paced flat,B:U,...: flat out, and batches of B calls with U µs pauses (default flat,20:100)
    const configs = (arg("--paced") ?? "flat,20:100").split(",").map((p): [string, string[]] => (p === "flat" ? ["flat out", []] : [`paced ${p}`, p.split(":")]));
    for (const [label, trigger] of configs) {
      const obj = `${REPO}/test/fixtures/${name}.o`;
      const a = await libbpf(obj, [...trigger]);
      const b = await bpfload(obj, [...trigger]);
      const rate = (r: Result) => r.records / r.secs;
      const silent = (r: Result) => r.calls - r.records - r.lost;
      const show = (r: Result) => `${Math.round(rate(r))} records/s (of ${Math.round(r.calls / r.secs)} made/s; lost ${r.lost}, silent ${silent(r)})`;
      console.log(`${name.padEnd(10)} ${label.padEnd(13)}  libbpf ${show(a)}   bpfload ${show(b)}   ratio ${(rate(b) / rate(a)).toFixed(2)}x`);
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

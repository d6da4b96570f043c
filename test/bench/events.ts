// Benchmark (not a timed test): event consumption by bpfload vs libbpf's ring_buffer__poll /
// perf_buffer__poll, same object, same trigger (a C loop of getppid), side by side in one run;
// then `bpfload run --repeat 1000000` (the kernel's own duration) and the process cost of one
// `bpfload run` vs one `bpftool prog run`. Run as root: npx bun test/bench/events.ts
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";

const REPO = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");
const BENCH = `${REPO}/test/bench`;
const dir = mkdtempSync(`${tmpdir()}/bpfload-bench-events-`);
const sh = (cmd: string[]) => {
  const r = Bun.spawnSync(cmd);
  if (r.exitCode !== 0) throw new Error(`${cmd.join(" ")}: ${r.stderr}`);
  return r.stdout.toString();
};
sh(["gcc", "-O2", `${BENCH}/events.c`, "-lbpf", "-o", `${dir}/libbpf-consumer`]);
sh(["gcc", "-O2", `${BENCH}/trigger.c`, "-o", `${dir}/trigger`]);

/** Waits until `stream` has printed `marker`; returns the rest of the text read so far. */
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

const SECONDS = 4;
type Result = { records: number; lost: number; secs: number };

async function libbpf(obj: string, trigger: string[]): Promise<Result> {
  const p = Bun.spawn([`${dir}/libbpf-consumer`, obj, String(SECONDS)], { stdout: "pipe", stderr: "pipe" });
  await waitFor(p.stderr, "ready");
  const t0 = performance.now();
  sh([`${dir}/trigger`, ...trigger]);
  const secs = (performance.now() - t0) / 1000;
  const out = await new Response(p.stdout).text();
  const m = /records (\d+) lost (\d+)/.exec(out)!;
  return { records: Number(m[1]), lost: Number(m[2]), secs };
}

async function bpfload(obj: string, trigger: string[]): Promise<Result> {
  // records to a file (as a user would redirect them), the exit line from stderr
  const p = Bun.spawn([process.execPath, `${REPO}/src/main.ts`, "load", obj, "--duration", String(SECONDS)], { stdout: Bun.file(`${dir}/records.txt`), stderr: "pipe" });
  const { reader, text } = await waitFor(p.stderr, "watching");
  const t0 = performance.now();
  sh([`${dir}/trigger`, ...trigger]);
  const secs = (performance.now() - t0) / 1000;
  const all = await readAll(reader, text);
  const m = /(\d+) records, (\d+) lost/.exec(all)!;
  return { records: Number(m[1]), lost: Number(m[2]), secs };
}

try {
  console.log(`event consumption: ${SECONDS} s windows; 'flat out' = one C loop of getppid, 'paced' = 20 calls then 100 µs`);
  for (const name of ["ringbuf", "perf_array"]) {
    for (const [label, trigger] of [["flat out", ["2000000"]], ["paced", ["200000", "20", "100"]]] as const) {
      const obj = `${REPO}/test/fixtures/${name}.o`;
      const a = await libbpf(obj, [...trigger]);
      const b = await bpfload(obj, [...trigger]);
      const rate = (r: Result) => r.records / r.secs;
      console.log(`${name.padEnd(10)} ${label.padEnd(8)}  libbpf ${Math.round(rate(a))} records/s (lost ${a.lost})   bpfload ${Math.round(rate(b))} records/s (lost ${b.lost})   ratio ${(rate(b) / rate(a)).toFixed(2)}x`);
    }
  }

  // test run: the kernel's duration for 1,000,000 runs, and one run's process cost vs bpftool
  const pkt = "ffffffffffff0200000000010800" + "4500001c000000004011" + "0000" + "0a0000010a000002" + "04d2000900080000";
  writeFileSync(`${dir}/pkt`, Buffer.from(pkt, "hex"));
  const obj = `${REPO}/test/fixtures/packets.o`;
  const j = JSON.parse(sh([process.execPath, `${REPO}/src/main.ts`, "run", obj, "--program", "xdp_verdict", "--data", pkt, "--repeat", "1000000", "--json"]));
  console.log(`bpfload run --repeat 1000000: ${j.duration} ns per run (the kernel's measure)`);
  const pin = `/sys/fs/bpf/bpfload-bench-${process.pid}`;
  sh(["bpftool", "prog", "loadall", obj, pin]);
  try {
    const time = (cmd: string[], n: number) => {
      const t0 = performance.now();
      for (let i = 0; i < n; i++) sh(cmd);
      return (performance.now() - t0) / n;
    };
    const N = 20;
    // bpftool runs an already-loaded program; bpfload loads it too (a whole run, as a user has it)
    const tool = time(["bpftool", "prog", "run", "pinned", `${pin}/xdp_verdict`, "data_in", `${dir}/pkt`], N);
    const ours = time([process.execPath, `${REPO}/src/main.ts`, "run", obj, "--program", "xdp_verdict", "--data", pkt], N);
    console.log(`one run: bpfload ${ours.toFixed(1)} ms (load + run, from source) vs bpftool prog run ${tool.toFixed(1)} ms (pinned program): ${(ours / tool).toFixed(2)}x`);
  } finally {
    rmSync(pin, { recursive: true, force: true });
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

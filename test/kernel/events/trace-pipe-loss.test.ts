// trace_pipe lines are not lost to the kernel's overwrite while bpfload reads them: a paced
// producer (16 getppid calls, then 100 µs: ~75k lines/s) and the printk_rate fixture, whose lines
// are numbered, so one lost page (~145 lines) is a gap in the numbers, not a small short count.
// On a trace buffer still at its boot-time 7 KB a CPU, bpfload (a pause of a few ms: a GC, a
// write) lost a page in about half of such runs where `cat trace_pipe` lost none; the watch now
// expands the buffer as enabling any trace event does (expandTraceBuffer). Root only; the
// expansion itself is checked on a fake tracefs directory (no root needed).
import { afterAll, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { expandTraceBuffer } from "../../../src/kernel/tracefs/trace-pipe.ts";

const REPO = new URL("../../..", import.meta.url).pathname.replace(/\/$/, "");
const dir = mkdtempSync(`${tmpdir()}/bpfload-tploss-`);
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const isRoot = process.getuid?.() === 0;
const hasGcc = Bun.spawnSync(["sh", "-c", "command -v gcc"]).exitCode === 0;
const tracefs = ["/sys/kernel/tracing", "/sys/kernel/debug/tracing"].find((d) => Bun.spawnSync(["test", "-e", `${d}/trace_pipe`]).exitCode === 0);

function fakeTracefs(size: string, enable: string | undefined): string {
  const d = mkdtempSync(`${dir}/tracefs-`);
  writeFileSync(`${d}/buffer_size_kb`, size);
  if (enable !== undefined) {
    mkdirSync(`${d}/events/bpf_trace/bpf_trace_printk`, { recursive: true });
    writeFileSync(`${d}/events/bpf_trace/bpf_trace_printk/enable`, enable);
  }
  return d;
}
const enableOf = (d: string) => readFileSync(`${d}/events/bpf_trace/bpf_trace_printk/enable`, "latin1");

test("an unexpanded buffer with bpf_trace_printk on is expanded through the event's enable file", () => {
  const d = fakeTracefs("7 (expanded: 1408)\n", "1\n");
  expect(expandTraceBuffer(d)).toBe(true);
  expect(enableOf(d)).toBe("1\n1"); // "1" written (appended to the fake file)
});

test("a size someone chose, an event that is off, or no such event: nothing written", () => {
  const chosen = fakeTracefs("7\n", "1\n");
  expect(expandTraceBuffer(chosen)).toBe(false);
  expect(enableOf(chosen)).toBe("1\n");
  const off = fakeTracefs("7 (expanded: 1408)\n", "0\n");
  expect(expandTraceBuffer(off)).toBe(false);
  expect(enableOf(off)).toBe("0\n");
  expect(expandTraceBuffer(fakeTracefs("7 (expanded: 1408)\n", undefined))).toBe(false);
});

const why = !isRoot ? "needs root" : !tracefs ? "no tracefs" : !hasGcc ? "no gcc for the trigger" : "";
test.skipIf(why !== "")(`no trace_pipe line lost under a paced producer${why ? ` (skipped: ${why})` : ""}`, async () => {
  const trigger = `${dir}/trigger`;
  expect(Bun.spawnSync(["gcc", "-O2", `${REPO}/test/bench/events-trigger.c`, "-o", trigger]).exitCode).toBe(0);
  const out = `${dir}/lines.txt`;
  const p = Bun.spawn([process.execPath, `${REPO}/src/main.ts`, "load", `${REPO}/test/fixtures/printk_rate.o`, "--duration", "5"], { stdout: Bun.file(out), stderr: "pipe" });
  const reader = p.stderr.getReader();
  let err = "";
  while (!err.includes("watching")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`bpfload ended before watching: ${err}`);
    err += new TextDecoder().decode(value);
  }
  await Bun.sleep(300);
  const t = Bun.spawnSync([trigger, "3", "16", "100"]);
  expect(t.exitCode).toBe(0);
  expect(await p.exited).toBe(0);
  const seqs = [...readFileSync(out, "latin1").matchAll(/seq (\d+)$/gm)].map((m) => Number(m[1])).sort((a, b) => a - b);
  const calls = Number(/calls (\d+)/.exec(t.stdout.toString())![1]);
  expect(seqs.length).toBeGreaterThanOrEqual(calls); // (other getppid callers add lines, never remove)
  const missing = seqs[seqs.length - 1]! - seqs[0]! + 1 - new Set(seqs).size;
  expect(missing).toBe(0);
}, 30_000);

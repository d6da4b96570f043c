// Results and trace lines are queued and written in one write() at the end of the task (a watch
// tick's hundreds of records were one write each: most of a flat-out ring buffer's cost), in
// order with direct writes to either stream, and never lost: a direct write, the 256 KiB limit,
// the end of the task or the process's exit writes them. No kernel needed.
import { afterAll, expect, test } from "bun:test";
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { FdWriter } from "../../src/cli/output.ts";

const dir = mkdtempSync(`${tmpdir()}/bpfload-queue-`);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test("queued text waits for the end of the task, and keeps its place before a direct write", async () => {
  const path = `${dir}/out.txt`;
  const fd = openSync(path, "w");
  try {
    const w = new FdWriter(fd, "test");
    w.queue("a\n");
    w.queue("b\n");
    expect(readFileSync(path, "utf8")).toBe(""); // not written yet: batched
    w.write("c\n");
    expect(readFileSync(path, "utf8")).toBe("a\nb\nc\n");
    w.queue("d\n");
    await Promise.resolve();
    expect(readFileSync(path, "utf8")).toBe("a\nb\nc\nd\n");
    const line = `${"x".repeat(99)}\n`;
    for (let i = 0; i < 3000; i++) w.queue(line); // 300 KB: past the limit, written before the task ends
    expect(readFileSync(path, "utf8").length).toBeGreaterThanOrEqual(256 * 1024);
    await Promise.resolve();
    expect(readFileSync(path, "utf8").length).toBe(8 + 300_000);
  } finally {
    closeSync(fd);
  }
});

test("a line queued just before process.exit (a signal's exit path) is written", () => {
  const script = `${dir}/exit.ts`;
  writeFileSync(script, `import { Output } from ${JSON.stringify(new URL("../../src/cli/output.ts", import.meta.url).pathname)};\nnew Output({}).result("last line", {});\nprocess.exit(3);\n`);
  const r = Bun.spawnSync([process.execPath, script]);
  expect(r.exitCode).toBe(3);
  expect(r.stdout.toString()).toBe("last line\n");
});

test("an Output asks isatty through an ioctl: process.stderr (Bun's Node stream, 3-10 ms to build) is never touched", () => {
  const script = `${dir}/tty.ts`;
  writeFileSync(
    script,
    `let touched = false;
const real = Object.getOwnPropertyDescriptor(process, "stderr")!;
Object.defineProperty(process, "stderr", { configurable: true, get() { touched = true; return real.get ? real.get.call(process) : real.value; } });
const { Output } = await import(${JSON.stringify(new URL("../../src/cli/output.ts", import.meta.url).pathname)});
const out = new Output({});
out.info("to stderr");
require("node:fs").writeSync(1, JSON.stringify({ touched, live: out.liveStatus }));
`,
  );
  const piped = Bun.spawnSync([process.execPath, script], { stderr: "pipe" });
  expect(JSON.parse(piped.stdout.toString())).toEqual({ touched: false, live: false });
  expect(piped.stderr.toString()).toBe("to stderr\n");
  // on a terminal (script(1) gives one) the live status is on
  if (Bun.which("script")) {
    const tty = Bun.spawnSync(["script", "-qc", `${process.execPath} ${script}`, "/dev/null"]);
    expect(tty.stdout.toString()).toContain('"live":true');
  }
});

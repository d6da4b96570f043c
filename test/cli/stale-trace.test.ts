// Lines left in the trace buffer by an earlier run (or anyone) before this run loaded anything are
// not this program's: `hello`/`load` read them away when they open trace_pipe, say how many under
// --verbose, and show only what arrives afterwards. (The VM rig's fexit check once stopped at the
// fentry check's last unread line.) Real trace buffer: a line is put there through trace_marker.
import { describe, expect, test } from "bun:test";
import { appendFileSync } from "node:fs";
import { canUseKernel, runCli, tracefsDir } from "../support.ts";

const T = tracefsDir();
describe.skipIf(!canUseKernel || !T)("trace lines from before the run", () => {
  test("a line already in the trace buffer is discarded and said, the program's own lines are shown", async () => {
    const marker = `bpfload-stale-${process.pid}`;
    appendFileSync(`${T}/trace_marker`, `${marker}\n`);
    const r = await runCli(["hello", "--duration", "2", "--verbose"]);
    expect(r.code).toBe(0);
    expect(r.stdout + r.stderr).not.toContain(marker);
    expect(r.stderr).toMatch(/discarded [1-9][0-9]* trace lines? left in the trace buffer from before this run/);
    expect(r.stdout).toContain("Hello World!");
  });
});

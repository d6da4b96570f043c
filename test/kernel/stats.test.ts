// The live status line's run count: only where the kernel really counts runs (pure decision, no kernel needed).
import { describe, expect, test } from "bun:test";
import { runCountSource, statusLine } from "../../src/kernel/stats.ts";

const EINVAL = -22;

describe("where run counts come from", () => {
  test("5.8+: our own BPF_ENABLE_STATS fd, whatever the sysctl says", () => {
    expect(runCountSource(5, "0\n")).toBe("enable-stats");
    expect(runCountSource(0, undefined)).toBe("enable-stats");
  });
  test("5.1-5.7: only when kernel.bpf_stats_enabled is already on (never switched on by bpfload)", () => {
    expect(runCountSource(EINVAL, "1\n")).toBe("sysctl");
    expect(runCountSource(EINVAL, "0\n")).toBe("none");
    expect(runCountSource(EINVAL, "")).toBe("none");
  });
  test("before 5.1 (4.9, 4.19: no sysctl, no run_cnt): no count at all, not the perf counter's 0", () => {
    expect(runCountSource(EINVAL, undefined)).toBe("none");
  });
});

describe("the status line", () => {
  test("without a run count it shows trace lines only", () => {
    expect(statusLine(undefined, 7)).toBe("  7 trace lines (Ctrl-C to stop)");
    expect(statusLine(undefined, 1)).toBe("  1 trace line (Ctrl-C to stop)");
    expect(statusLine(undefined, 12)).not.toContain("runs");
  });
  test("with one it shows both", () => {
    expect(statusLine(42n, 3)).toBe("  42 runs of the program, 3 trace lines (Ctrl-C to stop)");
  });
});

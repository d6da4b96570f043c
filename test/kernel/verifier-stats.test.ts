// The verifier's summary lines, as 6.x kernels print them at log level 4 (and 1/2 on success).
import { expect, test } from "bun:test";
import { logStats } from "../../src/kernel/program.ts";

test("logStats reads processed insns, total and peak states, verification time", () => {
  const log = "verification time 116 usec\nstack depth 8+0\nprocessed 23 insns (limit 1000000) max_states_per_insn 0 total_states 2 peak_states 3 mark_read 1\n";
  expect(logStats(log)).toEqual({ processedInsns: 23, totalStates: 2, peakStates: 3, verificationTimeUsec: 116 });
  expect(logStats("processed 5 insns, stack depth 0\n")).toEqual({ processedInsns: 5 }); // 4.x spelling
  expect(logStats("")).toEqual({});
});

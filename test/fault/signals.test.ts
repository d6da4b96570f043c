// SIGINT, SIGTERM and SIGHUP at every phase of a load: start-up, loading, attaching, watching and
// detaching, on a tracefs uprobe (the kind whose probe event outlives the process if nobody removes
// it) and on a tracepoint. Phases are found from the --verbose stderr lines, so nothing here
// depends on timing; a signal that arrives a little later than aimed only lands in the next phase.
// After each run: exit 0 (a handled stop) or 128+N, at most one error line, no stack trace, no probe
// event of that pid in tracefs, no program of our name loaded (bpftool).
// And on the uprobe, the signal right after the probe event is written, before the attach.
import { afterAll, describe, expect, test } from "bun:test";
import { canUseKernel } from "../support.ts";
import { PHASES, PROBE_WRITTEN, SIGNALS, signalScenario, TRACEPOINT, UPROBE, type Sig } from "./scenarios.ts";
import { faultSkipReason, LIBC, makeWorkDir, probeEventsOf } from "./support.ts";

describe.skipIf(faultSkipReason !== undefined)(`signals at every phase${faultSkipReason ? ` (skipped: ${faultSkipReason})` : ""}`, () => {
  const work = canUseKernel ? makeWorkDir() : undefined;
  afterAll(() => work?.cleanup());
  for (const target of [UPROBE, TRACEPOINT]) {
    for (const phase of PHASES) {
      for (const sig of Object.keys(SIGNALS) as Sig[]) {
        test(`${target.name}: ${sig} during ${phase.name}`, () => signalScenario(work!.seed, target, phase, sig), 60_000);
      }
    }
  }
  // The same window without the race: the child signals itself right after createProbeEvent.
  for (const sig of Object.keys(SIGNALS) as Sig[]) {
    test(`createProbeEvent then ${sig} before the attach: exit ${128 + SIGNALS[sig]}, the event removed`, async () => {
      const proc = Bun.spawn([process.execPath, `${import.meta.dir}/probe-window.ts`, sig, LIBC!], { stdout: "pipe", stderr: "pipe", stdin: "ignore" });
      const [stderr, code] = await Promise.all([new Response(proc.stderr).text(), proc.exited]);
      const context = `exit ${code}, signal ${proc.signalCode}, stderr:\n${stderr}`;
      expect(stderr, context).toMatch(/^probe event bpfload/m);
      expect(probeEventsOf(proc.pid), context).toEqual([]);
      expect(code, context).toBe(128 + SIGNALS[sig]);
    }, 60_000);
  }
  for (const sig of Object.keys(SIGNALS) as Sig[]) {
    test(`${UPROBE.name}: ${sig} during ${PROBE_WRITTEN.name} leaves nothing`, () => signalScenario(work!.seed, UPROBE, PROBE_WRITTEN, sig), 60_000);
  }
});

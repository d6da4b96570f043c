// SIGINT, SIGTERM and SIGHUP at every phase of a load: start-up, loading, attaching, watching and
// detaching, on a tracefs uprobe (the kind whose probe event outlives the process if nobody removes
// it) and on a tracepoint. Phases are found from the --verbose stderr lines, so nothing here
// depends on timing; a signal that arrives a little later than aimed only lands in the next phase.
// After each run: exit 0 (a handled stop) or 128+N, at most one error line, no stack trace, no probe
// event of that pid in tracefs, no program of our name loaded (bpftool).
// And on the uprobe, the signal right after the probe event is written, before the attach.
import { afterAll, describe, test } from "bun:test";
import { canUseKernel } from "../support.ts";
import { PHASES, PROBE_WRITTEN, SIGNALS, signalScenario, TRACEPOINT, UPROBE, type Sig } from "./scenarios.ts";
import { faultSkipReason, makeWorkDir } from "./support.ts";

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
  for (const sig of Object.keys(SIGNALS) as Sig[]) {
    test(`${UPROBE.name}: ${sig} during ${PROBE_WRITTEN.name} leaves nothing`, () => signalScenario(work!.seed, UPROBE, PROBE_WRITTEN, sig), 60_000);
  }
});

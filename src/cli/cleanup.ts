// `bpfload cleanup`: remove the probe events of dead bpfload processes, and say which.
import { SystemError } from "../errors.ts";
import { listProbeEvents, sweepStaleEvents } from "../kernel/sweep.ts";
import type { Output } from "./output.ts";

export function runCleanup(out: Output): number {
  const { removed, failed } = sweepStaleEvents();
  for (const e of removed) out.result(`removed ${e.file.replace("_events", "")} event ${e.group}/${e.event}: ${e.line}`, { type: "removed", file: e.file, group: e.group, event: e.event, definition: e.line });
  const live = listProbeEvents().filter((e) => e.group === "bpfload");
  for (const e of live) out.event("in-use", { file: e.file, group: e.group, event: e.event }, `left alone ${e.group}/${e.event}: its bpfload process is still running`);
  if (!removed.length && !failed.length) out.info("nothing to clean up: no probe events of dead bpfload processes");
  if (failed.length) {
    throw new SystemError(`could not remove ${failed.map((f) => `${f.event.group}/${f.event.event} (${f.reason})`).join(", ")}`);
  }
  return 0;
}

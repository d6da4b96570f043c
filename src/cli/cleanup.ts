// `bpfload cleanup`: remove the probe events of dead bpfload processes, and say which.
import { SystemError } from "../errors.ts";
import { sweepStaleEvents } from "../kernel/sweep.ts";
import type { Output } from "./output.ts";

export function runCleanup(out: Output): number {
  const { removed, vanished, failed, alive, foreign } = sweepStaleEvents();
  for (const e of removed) out.result(`removed ${e.file.replace("_events", "")} event ${e.group}/${e.event}: ${e.line}`, { type: "removed", file: e.file, group: e.group, event: e.event, definition: e.line });
  for (const e of vanished) out.detail(`${e.group}/${e.event} was removed by its own bpfload meanwhile`);
  for (const e of alive) out.event("in-use", { file: e.file, group: e.group, event: e.event }, `left alone ${e.group}/${e.event}: its bpfload process is still running`);
  for (const e of foreign) {
    out.event("other-namespace", { file: e.file, group: e.group, event: e.event }, `left alone ${e.group}/${e.event}: created by a bpfload in another PID namespace, whose pid cannot be checked from here (run cleanup inside that namespace)`);
  }
  if (!removed.length && !failed.length) out.info("nothing to clean up: no probe events of dead bpfload processes");
  if (failed.length) {
    throw new SystemError(`could not remove ${failed.map((f) => `${f.event.group}/${f.event.event} (${f.reason})`).join(", ")}`);
  }
  return 0;
}

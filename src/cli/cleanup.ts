// `bpfload cleanup`: remove the probe events of dead bpfload processes, and what they attached
// over netlink or BPF_PROG_ATTACH (recorded under /run/bpfload), and say which.
import { describeRecord, sweepNetRecords, sweepStaleEvents, SystemError } from "../index.ts";
import type { Output } from "./output.ts";

export function runCleanup(out: Output): number {
  const { removed, vanished, failed, alive, foreign } = sweepStaleEvents();
  for (const e of removed) out.result(`removed ${e.file.replace("_events", "")} event ${e.group}/${e.event}: ${e.line}`, { type: "removed", file: e.file, group: e.group, event: e.event, definition: e.line });
  for (const e of vanished) out.detail(`${e.group}/${e.event} was removed by its own bpfload meanwhile`);
  for (const e of alive) out.event("in-use", { file: e.file, group: e.group, event: e.event }, `left alone ${e.group}/${e.event}: its bpfload process is still running`);
  for (const e of foreign) {
    out.event("other-namespace", { file: e.file, group: e.group, event: e.event }, `left alone ${e.group}/${e.event}: created by a bpfload in another PID namespace, whose pid cannot be checked from here (run cleanup inside that namespace)`);
  }
  const net = sweepNetRecords();
  for (const r of net.removed) out.result(`detached ${describeRecord(r.record)}, left by a killed bpfload`, { type: "detached", record: r.name, ...r.record });
  for (const r of net.gone) out.detail(`${describeRecord(r.record)}: no longer attached; record ${r.name} removed`);
  for (const r of net.alive) out.event("in-use", { record: r.name }, `left alone ${describeRecord(r.record)}: its bpfload process is still running`);
  for (const r of net.foreign) out.event("other-namespace", { record: r.name }, `left alone ${describeRecord(r.record)}: made in another PID or network namespace (run cleanup inside it)`);
  if (!removed.length && !failed.length && !net.removed.length && !net.failed.length) out.info("nothing to clean up: no probe events or attachments of dead bpfload processes");
  const problems = [...failed.map((f) => `${f.event.group}/${f.event.event} (${f.reason})`), ...net.failed.map((f) => `${describeRecord(f.record.record)} (${f.reason})`)];
  if (problems.length) throw new SystemError(`could not remove ${problems.join(", ")}`);
  return 0;
}

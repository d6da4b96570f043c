// A probe event created through tracefs (kprobe_events / uprobe_events): the path every kernel
// from 4.9 has. The event gets a name bpfload owns (group `bpfload`, pid and sequence in the
// name), is removed on every way out, and nothing else in the file is touched.
import { EVENT_GROUP, probeEventName } from "../attach-spec.ts";
import { SystemError } from "../errors.ts";
import { attachToTraceEvent, type PerfEventLink } from "./perf-link.ts";
import type { Program } from "./program.ts";
import { sweepStaleEvents } from "./sweep.ts";
import { appendControl, eventId } from "./tracefs.ts";

let sequence = 0;

export type ProbeFile = "kprobe_events" | "uprobe_events";

/** Creates the event `PROBE:bpfload/NAME WHERE` (throws TracefsWriteError when the kernel refuses). */
export function createProbeEvent(file: ProbeFile, probe: string, label: string, where: string): { event: string; remove: () => void } {
  if (sequence === 0) sweepStaleEvents(); // leftovers of SIGKILLed runs, before adding ours
  const event = probeEventName(process.pid, sequence++, label);
  appendControl(file, `${probe}:${EVENT_GROUP}/${event} ${where}`);
  let removed = false;
  const remove = () => {
    if (removed) return;
    removed = true;
    appendControl(file, `-:${EVENT_GROUP}/${event}`);
  };
  return { event, remove };
}

/** Attaches `prog` to an event created by createProbeEvent; removes the event if that fails. */
export function attachProbeEvent(prog: Program, created: { event: string; remove: () => void }, target: string): PerfEventLink {
  const id = eventId(EVENT_GROUP, created.event);
  if (id === undefined) {
    created.remove();
    throw new SystemError(`attach '${prog.name}' to ${target}: the probe was created but events/${EVENT_GROUP}/${created.event}/id cannot be read`);
  }
  return attachToTraceEvent(prog, id, target, {}, created.remove);
}

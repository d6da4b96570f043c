// A probe event created through tracefs (kprobe_events / uprobe_events): the path every kernel
// from 4.9 has. The event gets a name bpfload owns (group `bpfload`; pid, start time and PID
// namespace in the name), is removed on every way out, and nothing else in the file is touched:
// both the creating and the removing command come from kernel/tracefs/command.ts.
import { EVENT_GROUP, probeEventName } from "../../attach-spec.ts";
import { SystemError } from "../../errors.ts";
import { onCleanup } from "../cleanup.ts";
import { attachToTraceEvent, type PerfEventLink } from "../attach/perf-link.ts";
import type { Program } from "../program.ts";
import { selfOwner, sweepStaleEvents } from "./sweep.ts";
import { TracefsCommand } from "./command.ts";
import { appendControl, eventId } from "./tracefs.ts";

let sequence = 0;

export type { ProbeFile } from "./command.ts";

/** The name the next event of this process gets (for checks before anything is created). */
export function nextEventName(label: string): string {
  return probeEventName(selfOwner(), sequence, label);
}

/**
 * Creates the event `build(NAME)` describes (throws InvalidArgumentError for a command that is not safe to
 * write, TracefsWriteError when the kernel refuses).
 */
export function createProbeEvent(label: string, build: (event: string) => TracefsCommand): { event: string; remove: () => void } {
  const event = nextEventName(label);
  const cmd = build(event); // refuses a bad name or path before anything is written or swept
  if (sequence === 0) sweepStaleEvents(); // leftovers of SIGKILLed runs, before adding ours
  sequence++;
  let removed = false;
  const remove = () => {
    if (removed) return;
    removed = true;
    unregister();
    appendControl(TracefsCommand.remove(cmd.file, event));
  };
  // Registered before the write: a signal right after it (before the attach) still removes the
  // event. Removing one the write never created fails harmlessly (runCleanup collects it).
  const unregister = onCleanup(remove);
  try {
    appendControl(cmd);
  } catch (e) {
    unregister();
    throw e;
  }
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

// Crash safety: probe events outlive a bpfload that was SIGKILLed (tracefs events are not tied to
// a file descriptor). Every event bpfload creates carries its pid (attach-spec.ts), so a later run
// can remove the ones whose owner is gone — and never anyone else's.
import { EVENT_GROUP, probeEventOwner } from "../attach-spec.ts";
import { exists } from "../sys/files.ts";
import { TracefsWriteError, appendControl, hasControl, readControl } from "./tracefs.ts";

export const PROBE_FILES = ["kprobe_events", "uprobe_events"] as const;

export interface ProbeEvent {
  file: (typeof PROBE_FILES)[number];
  group: string;
  event: string;
  /** The definition as tracefs lists it. */
  line: string;
}

/** Parses kprobe_events/uprobe_events listings: `p:GROUP/EVENT TARGET ...`. Pure. */
export function parseProbeEvents(file: ProbeEvent["file"], text: string): ProbeEvent[] {
  const out: ProbeEvent[] = [];
  for (const line of text.split("\n")) {
    const m = line.match(/^[prx]\d*:([^/\s]+)\/(\S+)/);
    if (m) out.push({ file, group: m[1]!, event: m[2]!, line });
  }
  return out;
}

/** bpfload's events whose owner process no longer runs. */
export function staleEvents(events: ProbeEvent[], alive: (pid: number) => boolean): ProbeEvent[] {
  return events.filter((e) => {
    if (e.group !== EVENT_GROUP) return false;
    const owner = probeEventOwner(e.event);
    return owner !== undefined && owner !== process.pid && !alive(owner);
  });
}

const isAlive = (pid: number) => exists(`/proc/${pid}`);

export function listProbeEvents(): ProbeEvent[] {
  return PROBE_FILES.filter(hasControl).flatMap((f) => parseProbeEvents(f, readControl(f)));
}

export interface SweepResult {
  removed: ProbeEvent[];
  failed: { event: ProbeEvent; reason: string }[];
}

/** Removes the probe events left by dead bpfload processes. */
export function sweepStaleEvents(): SweepResult {
  const result: SweepResult = { removed: [], failed: [] };
  for (const e of staleEvents(listProbeEvents(), isAlive)) {
    try {
      appendControl(e.file, `-:${e.group}/${e.event}`);
      result.removed.push(e);
    } catch (err) {
      if (!(err instanceof TracefsWriteError)) throw err;
      result.failed.push({ event: e, reason: err.message });
    }
  }
  return result;
}

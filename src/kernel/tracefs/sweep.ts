// Crash safety: probe events outlive a bpfload that was SIGKILLed (tracefs events are not tied to
// a file descriptor). Every event bpfload creates names its owner (attach-spec.ts: pid, start time,
// PID namespace), so a later run can remove the ones whose owner is gone — and never anyone
// else's, nor those of a live bpfload in another PID namespace (whose pid means nothing here).
import { EVENT_GROUP, probeEventOwner, type EventOwner } from "../../attach-spec.ts";
import { InvalidArgumentError, errnoName } from "../../errors.ts";
import { tryReadText } from "../../sys/files.ts";
import { readLink } from "../../sys/paths.ts";
import { TracefsCommand } from "./command.ts";
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

/** Start time (field 22 of /proc/PID/stat, ticks since boot) of a running process, or undefined. */
export function processStartTime(pid: number | "self"): number | undefined {
  const stat = tryReadText(`/proc/${pid}/stat`);
  if (stat === undefined) return undefined;
  // comm (field 2) may hold spaces and parentheses: count the fields after its last ')'.
  const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const start = Number(rest[22 - 3]);
  return Number.isSafeInteger(start) ? start : undefined;
}

let self: Required<EventOwner> | undefined;

/**
 * This process as an event owner. The pid is the one /proc shows (/proc/self), so that a sweeper
 * sharing this /proc finds it there; the namespace is the inode of /proc/self/ns/pid.
 */
export function selfOwner(): Required<EventOwner> {
  if (self) return self;
  const procPid = Number(readLink("/proc/self"));
  const ns = readLink("/proc/self/ns/pid")?.match(/^pid:\[(\d+)\]$/);
  return (self = {
    pid: Number.isSafeInteger(procPid) && procPid > 0 ? procPid : process.pid,
    start: processStartTime("self") ?? 0,
    pidns: ns ? Number(ns[1]) : 0,
  });
}

export interface Classified {
  /** The owner is gone (or its pid now belongs to a younger process): safe to remove. */
  stale: ProbeEvent[];
  /** The owner runs (this process included). */
  alive: ProbeEvent[];
  /** Created in another PID namespace: its owner cannot be checked from here, so it is kept. */
  foreign: ProbeEvent[];
}

/** Sorts bpfload's events by owner state; `startOf(pid)` is undefined for a pid that is not running. Pure. */
export function classifyEvents(events: ProbeEvent[], me: Required<EventOwner>, startOf: (pid: number) => number | undefined): Classified {
  const out: Classified = { stale: [], alive: [], foreign: [] };
  for (const e of events) {
    if (e.group !== EVENT_GROUP) continue;
    const owner = probeEventOwner(e.event);
    if (!owner) continue;
    if (owner.pidns !== undefined && owner.pidns !== me.pidns) {
      out.foreign.push(e);
      continue;
    }
    if (owner.pid === me.pid && (owner.start === undefined || owner.start === me.start)) {
      out.alive.push(e);
      continue;
    }
    // (A bpfload in another time namespace reads its start time shifted by that namespace's boot
    // offset and would look like a reused pid; the kernel then refuses to remove its event while a
    // perf event uses it (EBUSY), which the sweep reports as a failure rather than hiding.)
    const start = startOf(owner.pid);
    const gone = start === undefined || (owner.start !== undefined && start !== owner.start);
    (gone ? out.stale : out.alive).push(e);
  }
  return out;
}

/** bpfload's events whose owner process no longer runs (pid-only view, for old callers). Pure. */
export function staleEvents(events: ProbeEvent[], alive: (pid: number) => boolean, me = { pid: process.pid, start: 0, pidns: 0 }): ProbeEvent[] {
  return classifyEvents(events, me, (pid) => (alive(pid) ? 0 : undefined)).stale;
}

export function listProbeEvents(): ProbeEvent[] {
  return PROBE_FILES.filter(hasControl).flatMap((f) => parseProbeEvents(f, readControl(f)));
}

export interface SweepResult {
  removed: ProbeEvent[];
  /** Listed as stale, then gone before bpfload removed it (its run ended meanwhile): not a failure. */
  vanished: ProbeEvent[];
  failed: { event: ProbeEvent; reason: string }[];
  alive: ProbeEvent[];
  foreign: ProbeEvent[];
}

export interface SweepDeps {
  list: () => ProbeEvent[];
  remove: (e: ProbeEvent) => void;
  startOf: (pid: number) => number | undefined;
  me: Required<EventOwner>;
}

const realDeps = (): SweepDeps => ({
  list: listProbeEvents,
  remove: (e) => appendControl(TracefsCommand.remove(e.file, e.event)),
  startOf: processStartTime,
  me: selfOwner(),
});

/** Removes the probe events left by dead bpfload processes of this PID namespace. */
export function sweepStaleEvents(deps: SweepDeps = realDeps()): SweepResult {
  const { stale, alive, foreign } = classifyEvents(deps.list(), deps.me, deps.startOf);
  const result: SweepResult = { removed: [], vanished: [], failed: [], alive, foreign };
  for (const e of stale) {
    try {
      deps.remove(e);
      result.removed.push(e);
    } catch (err) {
      if (err instanceof InvalidArgumentError) {
        result.failed.push({ event: e, reason: err.message }); // a listed name no command can hold
        continue;
      }
      if (!(err instanceof TracefsWriteError)) throw err;
      // ENOENT/EINVAL on `-:` of an event that is no longer listed: its owner removed it between
      // our listing and our write (a run that ended during the sweep). The goal is met.
      const gone = ["ENOENT", "EINVAL"].includes(errnoName(err.errno)) && !deps.list().some((x) => x.file === e.file && x.event === e.event);
      if (gone) result.vanished.push(e);
      else result.failed.push({ event: e, reason: err.message });
    }
  }
  return result;
}

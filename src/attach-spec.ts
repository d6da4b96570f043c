// Attach points as users write them (`kprobe:FUNC+OFF`, `tracepoint:CAT:NAME`), parsed into data,
// and the names bpfload gives the probe events it creates. Pure: no kernel access.
import { UsageError } from "./errors.ts";
import type { ProgTypeName } from "./uapi.ts";

export type AttachSpec =
  | { kind: "kprobe"; func: string; offset: number }
  | { kind: "kretprobe"; func: string; maxactive?: number }
  | { kind: "tracepoint"; category: string; name: string };

export const ATTACH_SYNTAX = "kprobe:FUNC[+OFFSET], kretprobe:FUNC, tracepoint:CATEGORY:NAME";

const SYMBOL = /^[A-Za-z_][A-Za-z0-9_.]*$/;
const TP_PART = /^[A-Za-z0-9_]+$/;

function parseOffset(text: string, spec: string): number {
  if (!/^(0x[0-9a-f]+|\d+)$/i.test(text)) throw new UsageError(`bad offset '${text}' in attach point '${spec}': use a decimal or 0x hex number`);
  return Number(text);
}

export function parseAttachSpec(spec: string): AttachSpec {
  const colon = spec.indexOf(":");
  const kind = colon < 0 ? spec : spec.slice(0, colon);
  const rest = colon < 0 ? "" : spec.slice(colon + 1);
  const bad = (why: string) => new UsageError(`bad attach point '${spec}': ${why} (expected ${ATTACH_SYNTAX})`);
  switch (kind) {
    case "kprobe":
    case "p": {
      const [func = "", off] = rest.split("+");
      if (!SYMBOL.test(func)) throw bad("missing or invalid kernel function name");
      return { kind: "kprobe", func, offset: off === undefined ? 0 : parseOffset(off, spec) };
    }
    case "kretprobe":
    case "r": {
      if (rest.includes("+")) throw bad("a kretprobe takes no offset");
      if (!SYMBOL.test(rest)) throw bad("missing or invalid kernel function name");
      return { kind: "kretprobe", func: rest };
    }
    case "tracepoint":
    case "tp": {
      const parts = rest.split(/[:/]/);
      if (parts.length !== 2 || !parts.every((p) => TP_PART.test(p))) throw bad("give the category and the event name");
      return { kind: "tracepoint", category: parts[0]!, name: parts[1]! };
    }
    default:
      throw bad(`unknown kind '${kind}'`);
  }
}

export function formatAttachSpec(s: AttachSpec): string {
  switch (s.kind) {
    case "kprobe":
      return `kprobe:${s.func}${s.offset ? `+${s.offset}` : ""}`;
    case "kretprobe":
      return `kretprobe:${s.func}`;
    case "tracepoint":
      return `tracepoint:${s.category}:${s.name}`;
  }
}

/** The program type an attach point needs when the user did not say. */
export function progTypeFor(s: AttachSpec): ProgTypeName {
  return s.kind === "tracepoint" ? "tracepoint" : "kprobe";
}

/** tracefs group of every probe event bpfload creates. */
export const EVENT_GROUP = "bpfload";
const MAX_EVENT_NAME = 63;

/**
 * Event name for a probe bpfload creates: `bpfload_<pid>_<seq>_<func>`. The pid lets a later run
 * tell whether the owner is still alive; the sequence makes it unique within the process.
 */
export function probeEventName(pid: number, seq: number, func: string): string {
  const prefix = `bpfload_${pid}_${seq}_`;
  const clean = func.replace(/[^A-Za-z0-9_]/g, "_");
  return (prefix + clean).slice(0, MAX_EVENT_NAME);
}

/** The owner pid of an event bpfload created, or undefined if the name is not one of ours. */
export function probeEventOwner(event: string): number | undefined {
  const m = event.match(/^bpfload_(\d+)_\d+_/);
  return m ? Number(m[1]) : undefined;
}

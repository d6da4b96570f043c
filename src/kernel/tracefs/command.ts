// The one builder of what bpfload writes into tracefs probe control files (kprobe_events,
// uprobe_events). A command is built from parts and every part is checked to be exactly one token
// of the kernel's parser, so no user-given name or path can add, or delete, anyone else's probe.
// Pure: no kernel access (tracefs.ts writes the result, and only accepts a TracefsCommand).
//
// How the kernel reads these files (kernel/trace/trace_probe.c, trace_dynevent.c, trace_uprobe.c):
// - the written buffer is cut into commands at '\n', and everything from a '#' on is a comment;
// - each command is split into argv on isspace(): ' ', \t, \n, \v, \f, \r and, in the kernel's
//   Latin-1 ctype table, the byte 0xA0 (which UTF-8 uses inside many characters);
// - `p[:[GROUP/]EVENT] PATH:OFFSET`: 4.17 and older cut PATH:OFFSET at the FIRST ':' (strchr),
//   newer kernels at the LAST one (strrchr): a path with ':' means different files to different
//   kernels, so it is refused;
// - GROUP and EVENT must be C identifiers (is_good_name), EVENT at most 63 characters.
import { EVENT_GROUP } from "../../attach-spec.ts";
import { InvalidArgumentError, opt, optionText } from "../../errors.ts";

export type ProbeFile = "kprobe_events" | "uprobe_events";

/** A tracefs event name the kernel accepts as one token: a C identifier of 1..63 characters. */
export const EVENT_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;
/** A kernel symbol as kprobe_events takes it (dots appear in compiler clones: foo.isra.0). */
const KERNEL_SYMBOL = /^[A-Za-z_][A-Za-z0-9_.]{0,127}$/;
/** `p`, `r` or `rN` (a kretprobe with N instances, at most MAXACTIVE_MAX = 4096). */
const PROBE_KIND = /^(p|r|r[1-9][0-9]{0,3})$/;
const MAXACTIVE_MAX = 4096;
/** The kernel refuses command lines longer than this (WRITE_BUFSIZE - 2). */
const MAX_LINE = 4094;

const PMU_HINT = optionText`use ${opt("probeApi", "pmu")} (Linux 4.17+), which takes the path as a C string`;

/** One command for one control file, proved to be a single line of single-token fields. */
export class TracefsCommand {
  private constructor(readonly file: ProbeFile, readonly text: string) {}

  /** `KIND:bpfload/EVENT TARGET` for a kprobe (`SYMBOL[+OFFSET]`). */
  static kprobe(kind: string, event: string, symbol: string, offset = 0): TracefsCommand {
    checkKind(kind);
    checkEvent(event);
    if (!KERNEL_SYMBOL.test(symbol)) throw new InvalidArgumentError("attach", `kernel function name '${printable(symbol)}' cannot be written to kprobe_events: it must be a C identifier (dots allowed)`);
    checkOffset(offset);
    return new TracefsCommand("kprobe_events", `${kind}:${EVENT_GROUP}/${event} ${symbol}${offset ? `+${offset}` : ""}`);
  }

  /** `KIND:bpfload/EVENT PATH:0xOFFSET` for a uprobe. */
  static uprobe(kind: string, event: string, path: string, offset: number): TracefsCommand {
    if (kind !== "p" && kind !== "r") throw new InvalidArgumentError("kind", `bad uprobe kind '${printable(kind)}': p or r`);
    checkEvent(event);
    checkUprobePath(path);
    checkOffset(offset);
    return new TracefsCommand("uprobe_events", `${kind}:${EVENT_GROUP}/${event} ${path}:0x${offset.toString(16)}`);
  }

  /** `-:bpfload/EVENT`: removes one of bpfload's events, nothing else. */
  static remove(file: ProbeFile, event: string): TracefsCommand {
    if (file !== "kprobe_events" && file !== "uprobe_events") throw new InvalidArgumentError("file", `not a probe control file: ${printable(file)}`);
    checkEvent(event);
    return new TracefsCommand(file, `-:${EVENT_GROUP}/${event}`);
  }
}

function checkKind(kind: string): void {
  if (/^r\d+$/.test(kind) && !(Number(kind.slice(1)) >= 1 && Number(kind.slice(1)) <= MAXACTIVE_MAX)) {
    throw new InvalidArgumentError("maxactive", optionText`bad ${opt("maxactive")} ${kind.slice(1)}: the kernel takes 1 to ${MAXACTIVE_MAX} kretprobe instances`);
  }
  if (!PROBE_KIND.test(kind)) throw new InvalidArgumentError("kind", `bad probe kind '${printable(kind)}': p, r or rN`);
}

function checkEvent(event: string): void {
  if (!EVENT_NAME.test(event)) throw new InvalidArgumentError("event", `bad tracefs event name '${printable(event)}': a C identifier of at most 63 characters`);
}

function checkOffset(offset: number): void {
  if (!Number.isSafeInteger(offset) || offset < 0) throw new InvalidArgumentError("attach", `bad probe offset ${offset}: a non-negative integer`);
}

/** Why `path` cannot be one PATH token of uprobe_events, or undefined when it can. */
export function uprobePathProblem(path: string): string | undefined {
  if (!path.startsWith("/")) return "it is not an absolute path";
  const bytes = new TextEncoder().encode(path);
  if (bytes.length + 80 > MAX_LINE) return "it is too long for a tracefs command line";
  for (const b of bytes) {
    if (b === 0x20 || b === 0xa0) return "it contains a space (uprobe_events splits its commands on whitespace)";
    if (b < 0x20 || b === 0x7f) return "it contains a control character (newline, tab, NUL...), which would end or split the uprobe_events command";
    if (b === 0x23) return "it contains '#', which starts a comment in uprobe_events";
    if (b === 0x3a) return "it contains ':', which separates PATH from OFFSET (older kernels cut at the first ':', newer at the last)";
  }
  return undefined;
}

function checkUprobePath(path: string): void {
  const problem = uprobePathProblem(path);
  if (problem) throw new InvalidArgumentError("attach", optionText`uprobe path '${printable(path)}' cannot be used through tracefs: ${problem}: ${PMU_HINT}`);
}

/** `s` with control characters shown as escapes, so a message stays one line. */
export function printable(s: string): string {
  return s.replace(/[\x00-\x1f\x7f\u00a0]/g, (c) => (c === "\n" ? "\\n" : c === "\t" ? "\\t" : `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`));
}

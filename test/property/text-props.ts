// Properties of the two text parsers: attach specs (command line) and trace_pipe lines.

import { formatAttachSpec, parseAttachSpec, type AttachSpec } from "../../src/attach-spec.ts";
import { InvalidArgumentError } from "../../src/errors.ts";
import { parseTraceLine, type TraceLine } from "../../src/trace-line.ts";
import { type Property, quote, type Rng, shrinkString, Violation } from "./lib.ts";

// ------------------------------------------------------------------ attach specs

const KINDS = ["kprobe", "p", "kretprobe", "r", "tracepoint", "tp", "raw_tracepoint", "raw_tp", "uprobe", "uretprobe", "perf_event", "socket", "Kprobe", "kprobe ", "", "uprobes", "xdp",
  "ksyscall", "kretsyscall", "kprobe.multi", "kretprobe.multi", "uprobe.multi", "uretprobe.multi", "usdt"];
const PIECES = [
  "sys_clone", "do_sys_open", "a", "_", "f.isra.0", "9start", "main", "readline", "syscalls", "sys_enter_getpid", "sched_switch",
  "/bin/true", "/bin/bash", "/usr/lib/x86_64-linux-gnu/libc.so.6", "/", "//", "/tmp/a b", "/x\ny", "/x\0y", "/a:b", "relative/path",
  "cpu-clock", "lo", "eth0", "veth-1.2@x", "0x10", "0X1f", "16", "0", "-1", "0x", "99999999999999999999", "1e3", "+", "+0x8", ":", "::",
  "vfs_*", "*", "?", "a*b?", "python", "function__entry",
  "/", " ", "\t", "\n", "\r", "\0", "\u001b", "\u00a0", "é", "🙂", "$(reboot)", ";", "'", "\"", ">", "p:evil /bin/sh:0",
];

/** Near-valid: the shape of one kind, with its fields drawn from the pieces above (often hostile). */
function shapedSpec(r: Rng): string {
  const piece = () => (r.bool(0.6) ? r.pick(PIECES.slice(0, 11)) : r.pick(PIECES));
  const off = () => (r.bool(0.5) ? "" : `+${r.pick(["0", "8", "0x10", "4096", "-1", "0x", "1e3", "99999999999999999999999", "0xffffffffffffffffff"])}`);
  switch (r.int(7)) {
    case 0: return `${r.pick(["kprobe", "p", "kretprobe", "r"])}:${piece()}${off()}`;
    case 1: return `${r.pick(["tracepoint", "tp"])}:${piece()}${r.pick([":", "/", "::", ""])}${piece()}`;
    case 2: return `${r.pick(["raw_tracepoint", "raw_tp"])}:${piece()}`;
    case 3: return `${r.pick(["uprobe", "uretprobe"])}:${r.pick(PIECES.slice(11, 21))}${r.bool(0.2) ? piece() : ""}:${r.bool(0.3) ? r.pick(["0x1a2b", "123", "0", "0x"]) : piece()}${off()}`;
    case 4: return `perf_event${r.pick(["", ":cpu-clock", ":", ":cycles", `:${piece()}`])}`;
    case 5: return `socket${r.pick(["", ":lo", ":eth0", `:${piece()}`, ":a-very-long-interface-name"])}`;
    default: return `${r.pick(KINDS)}:${piece()}`;
  }
}

export function attachSpecText(r: Rng): string {
  if (r.bool(0.6)) return shapedSpec(r);
  const parts: string[] = [r.pick(KINDS)];
  if (r.bool(0.9)) parts.push(":");
  for (let i = 0, n = r.range(0, 5); i < n; i++) {
    parts.push(r.bool(0.85) ? r.pick(PIECES) : String.fromCharCode(r.int(0x80)));
    if (r.bool(0.3)) parts.push(r.pick([":", "+", "/"]));
  }
  return parts.join("");
}

function parseOrUsage(text: string): AttachSpec | undefined {
  try {
    return parseAttachSpec(text);
  } catch (e) {
    if (e instanceof InvalidArgumentError) {
      if (e.exitCode !== 2) throw new Violation(`InvalidArgumentError with exit code ${e.exitCode}`);
      return undefined;
    }
    throw e;
  }
}

const showString = (s: string) => quote(s);

export const attachSpecRoundTrip: Property<string> = {
  name: "attach specs: random text gives an AttachSpec or a InvalidArgumentError; accepted specs round trip through formatAttachSpec",
  kind: "attach specs",
  gen: attachSpecText,
  check(text) {
    const spec = parseOrUsage(text);
    if (!spec) return "rejected";
    const formatted = formatAttachSpec(spec);
    let again: AttachSpec;
    try {
      again = parseAttachSpec(formatted);
    } catch (e) {
      throw new Violation(`formatAttachSpec gave '${formatted}', which does not parse: ${(e as Error).message.slice(0, 200)}`);
    }
    if (JSON.stringify(again) !== JSON.stringify(spec)) throw new Violation(`round trip changed the spec: ${JSON.stringify(spec)} -> '${formatted}' -> ${JSON.stringify(again)}`);
    return "accepted";
  },
  shrink: shrinkString,
  show: showString,
};

/** Characters that must never reach a tracefs write or a file lookup inside a name field. */
const UNSAFE = /[\s\u0000-\u001f\u007f-\u009f\u2028\u2029]/;
/**
 * A path may hold spaces (a file may be named so, and the perf PMU takes it; the tracefs writer
 * refuses them with its own message), but never NUL, another control character or a line separator.
 */
const UNSAFE_PATH = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

export function unsafeField(spec: AttachSpec): string | undefined {
  for (const [k, v] of Object.entries(spec)) {
    if (typeof v === "string" && (k === "path" ? UNSAFE_PATH : UNSAFE).test(v)) return `${k} ${JSON.stringify(v)}`;
  }
  return undefined;
}

export const attachSpecInjection: Property<string> = {
  name: "attach specs: no accepted spec has whitespace, a newline, NUL or a control character in a path, function or event field",
  kind: "attach specs (injection)",
  gen: attachSpecText,
  check(text) {
    const spec = parseOrUsage(text);
    if (!spec) return "rejected";
    const bad = unsafeField(spec);
    if (bad) throw new Violation(`accepted ${JSON.stringify(text)} with ${bad}`);
    return "accepted";
  },
  shrink: shrinkString,
  show: showString,
};

// ------------------------------------------------------------------ trace lines

export interface GenTrace {
  fields: TraceLine;
  tgid?: string;
  line: string;
}

const TASK_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./: ()<>#";
const MSG_CHARS = "Hello World! abc xyz 0123456789 -+:.,;()[]{}<>%$#@&*/\\'\"\t";

function randomText(r: Rng, chars: string, min: number, max: number): string {
  let s = "";
  for (let i = 0, n = r.range(min, max); i < n; i++) s += chars[r.int(chars.length)];
  return s;
}

/** A task name as the kernel prints it: no leading/trailing blank, at most 16 characters. */
function taskName(r: Rng): string {
  if (r.bool(0.1)) return "<...>";
  if (r.bool(0.2)) return r.pick(["bash", "kworker/u4:1-events", "gnome-shell", "memfd:sealed 91", "sh", "<idle>", "a-1 b", "x-12"]);
  return randomText(r, TASK_CHARS, 1, 16).trim() || "t";
}

function message(r: Rng): string {
  switch (r.int(6)) {
    case 0: return "";
    case 1: return r.pick([": :", "bash-1 [000] d... 1.0: : nested", "a: b: c", " leading", "trailing ", "bpf_trace_printk: x"]);
    default: return randomText(r, MSG_CHARS, 1, 60);
  }
}

/** `exact`: the timestamp in its shortest form (what parsed), else with 6 decimals as the kernel prints. */
export function formatTrace(f: TraceLine, tgid: string | undefined, style: "old" | "new", exact = false): string {
  const task = f.task.padStart(16);
  const pid = style === "new" ? String(f.pid).padEnd(7) : String(f.pid).padEnd(5);
  const cpu = String(f.cpu).padStart(3, "0");
  const t = exact ? (Number.isInteger(f.timestamp) ? f.timestamp.toFixed(1) : String(f.timestamp)) : f.timestamp.toFixed(6);
  const ts = t.padStart(style === "new" ? 12 : 0);
  return `${task}-${pid} ${tgid !== undefined ? `(${tgid}) ` : ""}[${cpu}] ${f.flags ? `${f.flags} ` : ""}${ts}: ${f.event}: ${f.message}`;
}

export function traceLine(r: Rng): GenTrace {
  const style = r.pick(["old", "new"] as const);
  const fields: TraceLine = {
    task: taskName(r),
    pid: r.pick([0, 1, r.range(2, 99999), r.range(100000, 4194304)]),
    cpu: r.pick([0, 1, r.range(2, 511)]),
    flags: r.bool(0.9) ? randomText(r, "dDNnhHsSbB.0123456789z", style === "new" ? 5 : 4, style === "new" ? 5 : 4) : "",
    timestamp: Number((r.range(0, 9_999_999) + r.int(1_000_000) / 1e6).toFixed(6)),
    event: style === "old" ? "" : r.pick(["bpf_trace_printk", "bpf_trace_printk", "bputs"]),
    message: message(r),
  };
  const tgid = style === "new" && r.bool(0.3) ? r.pick(["-------", String(fields.pid).padStart(7)]) : undefined;
  return { fields, tgid, line: formatTrace(fields, tgid, style) };
}

export const traceLineFields: Property<GenTrace> = {
  name: "trace lines: lines formatted as 4.9 and 6.x kernels print them parse back to their fields",
  kind: "trace lines (generated)",
  gen: traceLine,
  check(x) {
    const got = parseTraceLine(x.line);
    if (!got) throw new Violation(`not parsed: ${quote(x.line)}`);
    if (JSON.stringify(got) !== JSON.stringify(x.fields)) throw new Violation(`parsed ${JSON.stringify(got)}, expected ${JSON.stringify(x.fields)}`);
    return "parsed";
  },
  show: (x) => quote(x.line),
};

/**
 * A message holding \r, U+2028 or U+2029 (a BPF program may print them) is kept whole. (A line
 * regex with a plain `.` stops there: the line is not parsed, or a later part of it is, with the
 * whole start taken as the task name.)
 */
export const traceLineSeparators: Property<GenTrace> = {
  name: "trace lines: messages with \\r, U+2028 or U+2029 parse back to their fields",
  kind: "trace lines (generated, \\r/U+2028/U+2029 in the message)",
  gen(r) {
    const x = traceLine(r);
    const at = r.int(x.fields.message.length + 1);
    x.fields.message = `${x.fields.message.slice(0, at)}${r.pick(["\r", "\u2028", "\u2029"])}${x.fields.message.slice(at)}`;
    x.line = formatTrace(x.fields, x.tgid, x.fields.event ? "new" : "old");
    return x;
  },
  check: traceLineFields.check,
  show: traceLineFields.show,
};

/** Random and mutated lines: parsed or undefined, never a throw; what parses reformats to the same fields. */
export function mutatedTrace(r: Rng): string {
  let line = r.bool(0.3) ? randomText(r, `${MSG_CHARS}${TASK_CHARS}\u0000\u2028\r`, 0, 80) : traceLine(r).line;
  for (let k = 0, n = r.range(0, 4); k < n; k++) {
    const p = r.int(line.length + 1);
    switch (r.int(4)) {
      case 0: line = line.slice(0, p) + line.slice(p + r.range(1, 6)); break;
      case 1: line = line.slice(0, p) + r.pick(["-", " ", ":", "[", "]", "(", ")", "1", ".", "\u0000", "\n", "\u2028", "99999999999999999999"]) + line.slice(p); break;
      case 2: line = line.slice(p); break;
      default: line = line.repeat(r.range(1, 3)); break;
    }
  }
  return line;
}

/** What a kernel can print: pids up to PID_MAX_LIMIT (2^22), cpus below NR_CPUS's largest (8192). */
function plausibleNumbers(t: TraceLine): boolean {
  return Number.isInteger(t.pid) && t.pid <= 4194304 && Number.isInteger(t.cpu) && t.cpu < 8192 && t.timestamp < 1e15;
}

/**
 * Random and mutated lines: parsed or undefined, never a throw; what parses has numbers a kernel
 * can print and reformats to the same fields.
 */
export const traceLineNoThrow: Property<string> = {
  name: "trace lines: random and mutated lines parse or give undefined; parsed fields reformat to the same fields",
  kind: "trace lines (random and mutated)",
  gen: mutatedTrace,
  check(line) {
    const got = parseTraceLine(line);
    if (!got) return "not a trace line";
    for (const k of ["pid", "cpu", "timestamp"] as const) if (!Number.isFinite(got[k]) || got[k] < 0) throw new Violation(`${k} ${got[k]}`);
    if (!plausibleNumbers(got)) throw new Violation(`implausible numbers: ${JSON.stringify(got)}`);
    if (/[\r\n\u2028\u2029]/.test(line)) return "parsed (line terminator inside)"; // traceLineSeparators checks those
    // Reformat with the fields alone (flags and event are kept verbatim) and parse again.
    const re = parseTraceLine(formatTrace(got, undefined, "new", true));
    if (JSON.stringify(re) !== JSON.stringify(got)) throw new Violation(`reformatted fields parse differently: ${JSON.stringify(got)} -> ${JSON.stringify(re)}`);
    return "parsed";
  },
  shrink: shrinkString,
  show: showString,
};

export const TEXT_PROPERTIES = [attachSpecRoundTrip, attachSpecInjection, traceLineFields, traceLineSeparators, traceLineNoThrow] as const;

// Finding (and if need be mounting) tracefs, and the probe-event files in it. kprobe_events and
// uprobe_events are only ever opened with O_APPEND: a truncating open would wipe every probe on
// the system, including other tools' (4.9's samples/bpf loader does exactly that).
import { SystemError } from "../../errors.ts";
import { FileError, appendText, exists, makeDirs, readText, tryReadText } from "../../sys/files.ts";
import { mount } from "../../sys/process.ts";
import { mountPointsOf, mounts } from "../mounts.ts";
import { processPolicy } from "../policy.ts";
import { printable, type TracefsCommand } from "./command.ts";

const CANDIDATES = ["/sys/kernel/tracing", "/sys/kernel/debug/tracing"];

let cached: string | undefined;

function isTracefs(dir: string): boolean {
  return exists(`${dir}/trace_pipe`);
}

function fromMountinfo(): string | undefined {
  for (const m of mounts()) {
    if (m.fstype === "tracefs" && isTracefs(m.mountPoint)) return m.mountPoint;
    if (m.fstype === "debugfs" && isTracefs(`${m.mountPoint}/tracing`)) return `${m.mountPoint}/tracing`;
  }
  return undefined;
}

/** Where mountinfo says tracefs (or debugfs's tracing directory) is mounted, readable or not. */
export function tracefsMountPoint(): string | undefined {
  const all = mounts();
  const debugfs = mountPointsOf("debugfs", all)[0];
  return mountPointsOf("tracefs", all)[0] ?? (debugfs === undefined ? undefined : `${debugfs}/tracing`);
}

/** The tracefs directory; mounts tracefs (or debugfs on kernels before 4.1) when none is mounted and setup({ mounts: true }) allowed it. */
export function tracefs(): string {
  if (cached) return cached;
  const found = CANDIDATES.find(isTracefs) ?? fromMountinfo();
  if (found) return (cached = found);
  if (process.geteuid?.() !== 0) {
    const mounted = tracefsMountPoint();
    throw new SystemError(
      mounted
        ? `tracefs is mounted at ${mounted} but this user cannot read it (root only): run as root (BPF tracing needs it anyway)`
        : "tracefs is not mounted, and only root can mount it: run as root (BPF tracing needs it anyway)",
    );
  }
  if (!processPolicy.mounts) {
    throw new SystemError("tracefs is not mounted: mount it (mount -t tracefs nodev /sys/kernel/tracing), or let bpfload mount it: setup({ mounts: true })");
  }
  const attempts: string[] = [];
  for (const [fstype, target, dir] of [
    ["tracefs", "/sys/kernel/tracing", "/sys/kernel/tracing"],
    ["debugfs", "/sys/kernel/debug", "/sys/kernel/debug/tracing"],
  ] as const) {
    try {
      makeDirs(target);
    } catch {
      // sysfs directories cannot be created; they exist when the kernel supports the fs.
    }
    const r = mount("nodev", target, fstype);
    if (r.ret === 0 && isTracefs(dir)) return (cached = dir);
    attempts.push(`${fstype} on ${target}: errno ${r.errno}`);
  }
  throw new SystemError(
    `tracefs is not mounted and mounting it failed (${attempts.join("; ")}): mount it with 'mount -t tracefs nodev /sys/kernel/tracing' (kernel with CONFIG_FTRACE?)`,
  );
}

/** An error from writing a tracefs control file, with the errno name for the hint table. */
export class TracefsWriteError extends Error {
  constructor(readonly file: string, readonly errno: number, readonly detail: string) {
    super(`${file}: ${detail}`);
  }
}

/**
 * Appends one command to its control file (kprobe_events, uprobe_events). Only a TracefsCommand is
 * accepted: kernel/tracefs/command.ts is the one place that proves a command is one line of bpfload's own.
 */
export function appendControl(cmd: TracefsCommand): void {
  const { file, text } = cmd;
  const path = `${tracefs()}/${file}`;
  try {
    appendText(path, `${text}\n`);
  } catch (e) {
    if (!(e instanceof FileError)) throw e;
    const what = e.op === "write" ? `the kernel refused '${printable(text)}'${lastErrorLog()}` : `cannot open ${path}`;
    throw new TracefsWriteError(file, e.errno, what);
  }
}

/** The kernel's own explanation of the last failed tracefs command (error_log, 4.20+). */
function lastErrorLog(): string {
  try {
    const lines = readText(`${tracefs()}/error_log`).trim().split("\n");
    const msg = lines.findLast((l) => /error:/.test(l));
    return msg ? ` (${msg.replace(/^\[[^\]]*\]\s*/, "").trim()})` : "";
  } catch {
    return "";
  }
}

export function hasControl(file: string): boolean {
  return exists(`${tracefs()}/${file}`);
}

export function readControl(file: string): string {
  return readText(`${tracefs()}/${file}`);
}

/** Trace event id (the perf `config` of a tracepoint or probe event), or undefined when absent. */
export function eventId(group: string, event: string): number | undefined {
  const text = tryReadText(`${tracefs()}/events/${group}/${event}/id`);
  return text === undefined ? undefined : Number(text.trim());
}

// uprobes and uretprobes on a user-space file: by symbol (from the target's .symtab/.dynsym) or by
// raw file offset; through the uprobe PMU (4.17+) or tracefs uprobe_events.
import { formatAttachSpec, type AttachSpec } from "../../attach-spec.ts";
import { findTargetSymbol, readTargetSymbols, TargetError } from "../../elf/target.ts";
import { InputError, SyscallError, SystemError, errnoName, ERRNO } from "../../errors.ts";
import { hintFor } from "../../hints.ts";
import { FileError, fileSize, openFile, readInto, statFd } from "../../sys/files.ts";
import { close } from "../../sys/fd.ts";
import { perfEventOpen } from "../../sys/perf.ts";
import { attachToPerfFd, type PerfEventLink } from "./perf-link.ts";
import { chooseProbeApi, type ProbeApi } from "./probe-pmu.ts";
import type { Program } from "../program.ts";
import { TracefsWriteError, hasControl } from "../tracefs/tracefs.ts";
import { TracefsCommand } from "../tracefs/command.ts";
import { attachProbeEvent, createProbeEvent, nextEventName } from "../tracefs/probe-events.ts";

type USpec = AttachSpec & { kind: "uprobe" | "uretprobe" };

const O_NONBLOCK = 0o4000;

/**
 * Opens the uprobe target for reading its symbols: O_NONBLOCK, so a FIFO (or a device) given by
 * mistake cannot block the open forever, and then refused unless it is a regular file (the
 * kernel's uprobe code refuses anything else too).
 */
function openTarget(path: string): number {
  let fd: number;
  try {
    fd = openFile(path, O_NONBLOCK);
  } catch (e) {
    if (!(e instanceof FileError)) throw e;
    throw new InputError(path, e.errno === ERRNO.ENOENT ? "no such file (uprobe target)" : `cannot open the uprobe target: ${errnoName(e.errno)}`);
  }
  let type: string;
  try {
    type = statFd(fd, path).type;
  } catch (e) {
    if (!(e instanceof FileError)) throw e;
    type = "unknown";
  }
  if (type !== "regular file") {
    close(fd);
    throw new InputError(path, "not a regular file: a uprobe goes on an executable or a shared library");
  }
  return fd;
}

const resolved = new WeakMap<object, number>();

/** File offset of SYMBOL(+OFF) in the target, read from its symbol tables (the file checked either way). */
export function uprobeFileOffset(spec: USpec): number {
  const known = resolved.get(spec);
  if (known !== undefined) return known;
  const fd = openTarget(spec.path);
  try {
    if (spec.symbol === undefined) {
      resolved.set(spec, spec.offset);
      return spec.offset;
    }
    const size = fileSize(fd);
    const read = (offset: number, length: number) => {
      const buf = new Uint8Array(length);
      const n = readInto(fd, buf, offset);
      if (n < 0) throw new InputError(spec.path, `cannot read the uprobe target: ${errnoName(-n)}`);
      return buf.subarray(0, n);
    };
    const sym = findTargetSymbol(readTargetSymbols(read, size), spec.symbol);
    if (!sym) throw new InputError(spec.path, `no function symbol '${spec.symbol}' (in .symtab or .dynsym): give a raw file offset instead (uprobe:${spec.path}:0xOFFSET)`);
    resolved.set(spec, sym.fileOffset + spec.offset);
    return sym.fileOffset + spec.offset;
  } catch (e) {
    if (e instanceof TargetError) throw new InputError(spec.path, `cannot read its symbols: ${e.message}`);
    throw e;
  } finally {
    close(fd);
  }
}

/**
 * Everything about a uprobe that can be refused without the program: the target file, the symbol,
 * the probe API and, for tracefs, the uprobe_events command. Run before loading anything.
 */
export function checkUprobe(spec: USpec, api?: ProbeApi): void {
  const offset = uprobeFileOffset(spec);
  if (chooseProbeApi("uprobe", api).api === "tracefs") {
    TracefsCommand.uprobe(spec.kind === "uprobe" ? "p" : "r", nextEventName(uprobeLabel(spec, offset)), spec.path, offset);
  }
}

const uprobeLabel = (spec: USpec, offset: number) => spec.symbol ?? `off_${offset.toString(16)}`;

export function attachUprobe(prog: Program, spec: USpec, opts: { api?: ProbeApi; onInfo?: (i: { offset: number; event: string }) => void } = {}): PerfEventLink {
  const target = formatAttachSpec(spec);
  const offset = uprobeFileOffset(spec);
  const { api, pmu } = chooseProbeApi("uprobe", opts.api);
  if (api === "pmu") {
    const open = perfEventOpen({
      type: pmu!.type,
      config: spec.kind === "uretprobe" ? 1n << BigInt(pmu!.retprobeBit) : 0n,
      config1String: spec.path,
      config2: offset,
      samplePeriod: 1,
      wakeupEvents: 1,
    });
    if (open.ret < 0) {
      const call = "perf_event_open(uprobe PMU)";
      throw new SyscallError(`attach '${prog.name}' to ${target}`, call, open.errno, hintFor("uprobe", errnoName(open.errno), { euid: process.geteuid?.() ?? 0 }));
    }
    opts.onInfo?.({ offset, event: "pmu" });
    return attachToPerfFd(prog, open.ret, target, {});
  }
  if (!hasControl("uprobe_events")) throw new SystemError(`attach '${prog.name}' to ${target}: this kernel has no uprobes (no uprobe PMU, no uprobe_events in tracefs: CONFIG_UPROBE_EVENTS off)`);
  try {
    const kind = spec.kind === "uprobe" ? "p" : "r";
    const created = createProbeEvent(uprobeLabel(spec, offset), (event) => TracefsCommand.uprobe(kind, event, spec.path, offset));
    opts.onInfo?.({ offset, event: created.event });
    return attachProbeEvent(prog, created, target);
  } catch (e) {
    if (!(e instanceof TracefsWriteError)) throw e;
    throw new SyscallError(`attach '${prog.name}' to ${target}`, "uprobe_events", e.errno, `${hintFor("uprobe", errnoName(e.errno), { euid: process.geteuid?.() ?? 0 }) ?? "the kernel refused the probe"} [${e.detail}]`);
  }
}

// A program attached to a perf event (tracepoint or probe event): the one attach mechanism that
// works from 4.9 on. Every link registers itself with the cleanup list the moment it owns
// something, so no exit path (signal, error, normal end) can leave a probe in the kernel.
import { SyscallError, errnoName } from "../../errors.ts";
import { hintFor, type HintContext } from "../../hints.ts";
import { close } from "../../sys/fd.ts";
import { ioctl, perfEventOpen, readU64 } from "../../sys/perf.ts";
import { PERF_EVENT_IOC_DISABLE, PERF_EVENT_IOC_ENABLE, PERF_EVENT_IOC_SET_BPF, PERF_SAMPLE_RAW, PERF_TYPE_TRACEPOINT } from "../../uapi.ts";
import { onCleanup } from "../cleanup.ts";
import type { Program } from "../program.ts";

export interface Link {
  /** What it is attached to, in attach-spec syntax. */
  readonly target: string;
  /** How many times the program ran (hits of the event), when the kernel can tell. */
  hits(): bigint | undefined;
  close(): void;
}

export class PerfEventLink implements Link {
  private closed = false;
  private readonly unregister: () => void;

  constructor(
    readonly target: string,
    readonly perfFd: number,
    /** Removes the probe event behind the perf event, if bpfload created one. */
    private readonly removeEvent?: () => void,
  ) {
    this.unregister = onCleanup(() => this.close());
  }

  hits(): bigint | undefined {
    const r = readU64(this.perfFd);
    return r.errno ? undefined : r.value;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    ioctl(this.perfFd, PERF_EVENT_IOC_DISABLE);
    close(this.perfFd); // before removing the event: removing it while the fd is open gives EBUSY
    this.removeEvent?.();
    this.unregister();
  }
}

/**
 * Opens a perf event for trace event `eventId` and runs `prog` on it. The program runs on every
 * CPU: it is attached to the event, not to this CPU-0 perf fd (a second SET_BPF on the same event
 * gives EEXIST on 4.9 and 6.1 alike, so one perf event per probe is the right pattern).
 */
export function attachToTraceEvent(prog: Program, eventId: number, target: string, ctx: Partial<HintContext>, removeEvent?: () => void): PerfEventLink {
  const open = perfEventOpen({ type: PERF_TYPE_TRACEPOINT, config: eventId, samplePeriod: 1, wakeupEvents: 1, sampleType: PERF_SAMPLE_RAW });
  if (open.ret < 0) {
    removeEvent?.();
    throw attachError(prog, target, "perf_event_open", open.errno, ctx);
  }
  return attachToPerfFd(prog, open.ret, target, ctx, removeEvent);
}

export function attachError(prog: Program, target: string, call: string, errno: number, ctx: Partial<HintContext> = {}): SyscallError {
  return new SyscallError(`attach '${prog.name}' to ${target}`, call, errno, hintFor(call, errnoName(errno), { euid: process.geteuid?.() ?? 0, ...ctx }));
}

/** SET_BPF + ENABLE on an open perf event fd; the link owns the fd from here on. */
export function attachToPerfFd(prog: Program, perfFd: number, target: string, ctx: Partial<HintContext>, removeEvent?: () => void): PerfEventLink {
  const link = new PerfEventLink(target, perfFd, removeEvent);
  const set = ioctl(link.perfFd, PERF_EVENT_IOC_SET_BPF, prog.fd);
  if (set.ret < 0) {
    link.close();
    throw attachError(prog, target, "PERF_EVENT_IOC_SET_BPF", set.errno, ctx);
  }
  const enable = ioctl(link.perfFd, PERF_EVENT_IOC_ENABLE);
  if (enable.ret < 0) {
    link.close();
    throw attachError(prog, target, "PERF_EVENT_IOC_ENABLE", enable.errno, ctx);
  }
  return link;
}

/** The sum of the counts the kernel could tell, or undefined when it could tell none. */
export function sumKnown(counts: (bigint | undefined)[]): bigint | undefined {
  return counts.reduce<bigint | undefined>((sum, n) => (n === undefined ? sum : (sum ?? 0n) + n), undefined);
}

/** Several links closed as one (a perf_event program on every CPU). */
export class MultiLink implements Link {
  constructor(readonly target: string, private readonly links: Link[]) {}

  hits(): bigint | undefined {
    return sumKnown(this.links.map((l) => l.hits()));
  }

  close(): void {
    for (const l of this.links) l.close();
  }
}

/** A link that is just a file descriptor (raw tracepoints, sockets): closing it detaches. */
/** An attachment undone by a function (a link fd's close, netlink, BPF_PROG_ATTACH), on every way out. */
export class UndoLink implements Link {
  private closed = false;
  private readonly unregister: () => void;

  constructor(readonly target: string, private readonly undo: () => void) {
    this.unregister = onCleanup(() => this.close());
  }

  hits(): bigint | undefined {
    return undefined;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.unregister();
    this.undo();
  }
}

/** An attachment that lives as long as one fd (a bpf_link, a raw tracepoint, a socket). */
export class FdLink extends UndoLink {
  constructor(target: string, readonly fd: number) {
    super(target, () => close(fd));
  }
}

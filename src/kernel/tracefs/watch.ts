// Streams trace_pipe until a stop condition: Ctrl-C, SIGTERM, SIGHUP, a duration, or a line count.
// No busy loop while idle (ppoll, below), and signals resolve the wait.
//
// Event readers (ringbuf, perf_event_array) are polled in the same tick, right after the pipe,
// so records and trace lines come out in the order they arrived, to within one tick. Idle, the
// tick sleeps in ppoll(2) on trace_pipe and the rings' fds with a short timeout (pollMs): a
// blocking call through bun:ffi stops the JS thread (no signal handlers, no timers until it
// returns), so it never sleeps longer than that. While lines or records flow the next tick comes
// at once.
import type { EventReader, EventRecord, LostRecords } from "../events/types.ts";
import { parseTraceLine, type TraceLine } from "../../trace-line.ts";
import { expandTraceBuffer, TracePipe } from "./trace-pipe.ts";
import { FdPoller } from "../../sys/poll.ts";

export type StopReason = "duration" | "count" | "signal" | "aborted";

export interface WatchOptions {
  /** Total hits so far, polled for the live count (undefined when unknown). */
  hits?: () => bigint | undefined;
  /** Seconds; undefined or Infinity to run until a signal. */
  duration?: number;
  /** Stop after this many lines (trace lines and event records together). */
  count?: number;
  /** Ringbuf / perf_event_array readers to drain on every tick (still the caller's to close). */
  readers?: EventReader[];
  onRecord?: (r: EventRecord) => void;
  /** Records the kernel (perf) or the program (ringbuf) said were lost. */
  onLost?: (l: LostRecords) => void;
  onLine: (raw: string, parsed: TraceLine | undefined) => void;
  /** Called about twice a second when the hit count changed. */
  onHits?: (hits: bigint) => void;
  /** Called once the pipe is open and signals are hooked: the place to trigger the probe. */
  onReady?: () => void;
  /** The longest an idle tick sleeps in ppoll (default WAIT_MS): timers and signals wait that long at most. */
  pollMs?: number;
  /** Stops the watch (e.g. stdout's reader went away). */
  abort?: AbortSignal;
  /** false: leave an unexpanded trace buffer at its 7 KB a CPU (default: expand it, see expandTraceBuffer). */
  expandBuffer?: boolean;
  /** trace_pipe opened by the caller before loading anything (it stays the caller's to close). */
  pipe?: TracePipe;
}

export interface WatchResult {
  reason: StopReason;
  signal?: string;
  lines: number;
  hits?: bigint;
  /** Event records delivered, and lost (as the kernel or the program counted them). */
  records?: number;
  lost?: number;
}

const SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;
const WARM_UP_LINE = "           <...>-4242    [001] d..31  1234.567890: bpf_trace_printk: warm up";
/** The longest an idle watch sleeps in ppoll by default before timers and signals run. */
const WAIT_MS = 10;
/** setTimeout takes 32-bit milliseconds: a longer delay fires after 1 ms (TimeoutOverflowWarning). */
export const MAX_TIMEOUT_MS = 2 ** 31 - 1;

/** setTimeout for any delay: chains timers of at most MAX_TIMEOUT_MS until `ms` have passed. Returns a cancel. */
export function setLongTimeout(fn: () => void, ms: number): () => void {
  const end = Date.now() + ms;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const arm = (delay: number) => {
    timer = setTimeout(() => {
      const left = end - Date.now();
      if (left > 0) arm(left);
      else fn();
    }, Math.min(delay, MAX_TIMEOUT_MS));
  };
  arm(ms);
  return () => clearTimeout(timer);
}

export async function watch(opts: WatchOptions): Promise<WatchResult> {
  const pipe = opts.pipe ?? new TracePipe();
  let lines = 0;
  let records = 0;
  let lost = 0;
  let lastHits: bigint | undefined;
  const pollMs = opts.pollMs ?? WAIT_MS;
  try {
    return await new Promise<WatchResult>((resolve) => {
      let immediate: ReturnType<typeof setImmediate> | undefined;
      let cancelDuration = () => {};
      const handlers = new Map<string, () => void>();
      const finish = (reason: StopReason, signal?: string) => {
        if (immediate) clearImmediate(immediate);
        cancelDuration();
        for (const [sig, h] of handlers) process.off(sig, h);
        pump(); // lines that arrived just before the stop
        const counts = opts.readers?.length ? { records, lost } : {};
        resolve({ reason, signal, lines, hits: opts.hits?.(), ...counts });
      };
      let done = false;
      const stop = (reason: StopReason, signal?: string) => {
        if (done) return;
        done = true;
        finish(reason, signal);
      };
      let lastLineAt = -Infinity;
      const pump = () => {
        let got = 0;
        for (const raw of pipe.drain()) {
          if (opts.abort?.aborted) break;
          if (raw.trim() === "") continue; // a message ending in \n leaves an empty line behind
          if (opts.count !== undefined && lines >= opts.count) break;
          lines++;
          got++;
          opts.onLine(raw, parseTraceLine(raw));
        }
        if (got) lastLineAt = Date.now();
        // The rings are polled again while they bring records, up to 2 ms (trace_pipe is read
        // once a tick: a syscall; the rings are shared memory): a flat-out producer refills a
        // small ring faster than a tick comes round.
        const until = performance.now() + 2;
        for (let more = opts.readers !== undefined; more && performance.now() < until; ) {
          more = false;
          for (const reader of opts.readers ?? []) {
            if (opts.abort?.aborted || (opts.count !== undefined && lines + records >= opts.count)) {
              more = false;
              break;
            }
            const n = reader.poll(
              (r) => {
                // a poll hands over what is there: past --count the rest is read but not shown
                if (opts.count !== undefined && lines + records >= opts.count) return;
                records++;
                opts.onRecord?.(r);
              },
              (l) => {
                lost += l.count;
                opts.onLost?.(l);
              },
            );
            got += n;
            if (n > 0) more = true;
          }
        }
        if (opts.count !== undefined && lines + records >= opts.count) stop("count");
        return got;
      };
      opts.abort?.addEventListener("abort", () => stop("aborted"));
      for (const sig of SIGNALS) {
        const h = () => stop("signal", sig);
        handlers.set(sig, h);
        process.on(sig, h);
      }
      let lastHitsAt = 0;
      // A tick that found lines or records comes round again at once (setImmediate: the
      // output it queued is written first, a microtask). One that found none sleeps in ppoll on
      // trace_pipe and the rings' fds, so the next record wakes it at once (as libbpf's
      // epoll_wait does; a 50 ms idle timer let a perf buffer overflow at the start of a burst,
      // and spinning 200 ms after each record kept a core busy for a trickle), for at most
      // pollMs so timers and signals get their turn. trace_pipe's poll wakes only once its
      // buffer is buffer_percent full (measured: 3-8 ms at 55k lines/s on 6.18), and a trace
      // buffer can be 7 KB a CPU: while lines flow (200 ms after the last) the sleep is 1 ms.
      const poller = new FdPoller([pipe.fd, ...(opts.readers ?? []).flatMap((r) => r.pollFds)]);
      const tick = () => {
        if (done) return;
        const busy = pump() > 0;
        if (opts.onHits && opts.hits && Date.now() - lastHitsAt >= 500) {
          lastHitsAt = Date.now();
          const h = opts.hits();
          if (h !== undefined && h !== lastHits) opts.onHits((lastHits = h));
        }
        if (done) return;
        immediate = setImmediate(busy ? tick : waitThenTick);
      };
      const waitThenTick = () => {
        if (done) return;
        poller.wait(Date.now() - lastLineAt < 200 ? Math.min(1, pollMs) : pollMs);
        tick();
      };
      if (opts.duration !== undefined && Number.isFinite(opts.duration)) {
        cancelDuration = setLongTimeout(() => stop("duration"), opts.duration * 1000);
      }
      // The line parser compiled before the first burst: its first calls ran cold for ~4 ms,
      // and a small trace buffer (7 KB a CPU) overflowed a page meanwhile (measured).
      for (let i = 0; i < 64; i++) parseTraceLine(WARM_UP_LINE);
      // The programs are loaded by now: their bpf_trace_printk event is on (see expandTraceBuffer).
      if (opts.expandBuffer !== false && pipe instanceof TracePipe) expandTraceBuffer(pipe.dir);
      opts.onReady?.();
      tick();
    });
  } finally {
    if (!opts.pipe) pipe.close();
  }
}

// Streams trace_pipe until a stop condition: Ctrl-C, SIGTERM, SIGHUP, a duration, or a line count.
// No busy loop: the pipe is drained on a short timer, and signals resolve the wait.
//
// Event readers (ringbuf, perf_event_array) are polled on the same timer, right after the pipe,
// so records and trace lines come out in the order they arrived, to within one tick. Not epoll:
// a blocking epoll_wait through bun:ffi would stop the JS thread (no signal handlers, no timers
// until it returns), and epoll_wait with a 0 timeout costs a syscall to learn what reading the
// rings' positions in shared memory tells for free. While records flow the next tick comes at
// once (no 50 ms sleep between full rings); idle, the timer runs at pollMs.
import type { EventReader, EventRecord, LostRecords } from "./events/types.ts";
import { parseTraceLine, type TraceLine } from "../trace-line.ts";
import { TracePipe } from "./trace-pipe.ts";
import { FdPoller } from "../sys/poll.ts";

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
  pollMs?: number;
  /** Stops the watch (e.g. stdout's reader went away). */
  abort?: AbortSignal;
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
/** The longest an idle watch with event readers sleeps in ppoll before timers and signals run. */
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
  const pollMs = opts.pollMs ?? 50;
  try {
    return await new Promise<WatchResult>((resolve) => {
      const timers: ReturnType<typeof setTimeout>[] = [];
      let immediate: ReturnType<typeof setImmediate> | undefined;
      let lastRecordAt = -Infinity;
      let cancelDuration = () => {};
      const handlers = new Map<string, () => void>();
      const finish = (reason: StopReason, signal?: string) => {
        for (const t of timers) clearTimeout(t);
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
      const pump = () => {
        for (const raw of pipe.drain()) {
          if (opts.abort?.aborted) break;
          if (raw.trim() === "") continue; // a message ending in \n leaves an empty line behind
          if (opts.count !== undefined && lines >= opts.count) break;
          lines++;
          opts.onLine(raw, parseTraceLine(raw));
        }
        let got = 0;
        // The rings are polled again while they bring records, up to 2 ms (trace_pipe is read
        // once a tick: a syscall; the rings are shared memory): a flat-out producer refills a
        // small ring faster than a tick comes round.
        const until = performance.now() + 2;
        for (let more = true; more && performance.now() < until; ) {
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
      // While records flow (and for 200 ms after the last), poll again straight after the I/O
      // callbacks: the lowest latency, so a small ring does not overflow (setTimeout(0) waits
      // about 1 ms). This spins a core while events flow. Idle, a watch with event readers
      // sleeps in ppoll on the rings' fds, so the first record wakes it at once (as libbpf's
      // epoll_wait does; a timer of 50 ms let a perf buffer overflow at the start of a burst), for
      // at most WAIT_MS so timers, signals and trace_pipe get their turn; without readers the
      // timer runs at pollMs (trace_pipe's per-CPU buffers hold seconds of lines).
      const poller = opts.readers?.length ? new FdPoller(opts.readers.flatMap((r) => r.pollFds)) : undefined;
      const tick = () => {
        if (done) return;
        const busy = pump() > 0;
        if (opts.onHits && opts.hits && Date.now() - lastHitsAt >= 500) {
          lastHitsAt = Date.now();
          const h = opts.hits();
          if (h !== undefined && h !== lastHits) opts.onHits((lastHits = h));
        }
        if (done) return;
        // (setImmediate, not a loop: the output this tick queued is written first, a microtask)
        if (busy) lastRecordAt = Date.now();
        if (Date.now() - lastRecordAt < 200) immediate = setImmediate(tick);
        else if (poller) immediate = setImmediate(waitThenTick);
        else timers[0] = setTimeout(tick, pollMs);
      };
      const waitThenTick = () => {
        if (done) return;
        poller!.wait(WAIT_MS);
        tick();
      };
      if (opts.duration !== undefined && Number.isFinite(opts.duration)) {
        cancelDuration = setLongTimeout(() => stop("duration"), opts.duration * 1000);
      }
      opts.onReady?.();
      tick();
    });
  } finally {
    if (!opts.pipe) pipe.close();
  }
}

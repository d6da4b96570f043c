// Streams trace_pipe until a stop condition: Ctrl-C, SIGTERM, SIGHUP, a duration, or a line count.
// No busy loop: the pipe is drained on a short timer, and signals resolve the wait.
import { parseTraceLine, type TraceLine } from "../trace-line.ts";
import { TracePipe } from "./trace-pipe.ts";

export type StopReason = "duration" | "count" | "signal" | "aborted";

export interface WatchOptions {
  /** Total hits so far, polled for the live count (undefined when unknown). */
  hits?: () => bigint | undefined;
  /** Seconds; undefined or Infinity to run until a signal. */
  duration?: number;
  /** Stop after this many lines. */
  count?: number;
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
}

const SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;
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
  let lastHits: bigint | undefined;
  const pollMs = opts.pollMs ?? 50;
  try {
    return await new Promise<WatchResult>((resolve) => {
      const timers: ReturnType<typeof setTimeout>[] = [];
      let cancelDuration = () => {};
      const handlers = new Map<string, () => void>();
      const finish = (reason: StopReason, signal?: string) => {
        for (const t of timers) clearTimeout(t);
        cancelDuration();
        for (const [sig, h] of handlers) process.off(sig, h);
        pump(); // lines that arrived just before the stop
        resolve({ reason, signal, lines, hits: opts.hits?.() });
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
        if (opts.count !== undefined && lines >= opts.count) stop("count");
      };
      opts.abort?.addEventListener("abort", () => stop("aborted"));
      for (const sig of SIGNALS) {
        const h = () => stop("signal", sig);
        handlers.set(sig, h);
        process.on(sig, h);
      }
      let ticks = 0;
      const tick = () => {
        if (done) return;
        pump();
        if (opts.onHits && opts.hits && ++ticks % 10 === 0) {
          const h = opts.hits();
          if (h !== undefined && h !== lastHits) opts.onHits((lastHits = h));
        }
        if (!done) timers[0] = setTimeout(tick, pollMs);
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

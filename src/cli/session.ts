// The part of `load` and `hello` that runs once a program is loaded: attach, stream trace_pipe,
// detach on every way out, and report what happened.
import { attach, checkAttach, countRuns, runCleanup, runStatusLine, TracePipe, TracePipeBusy, watch, type AttachOptions, type AttachSpec, type Link, type Program, type WatchResult } from "../index.ts";
import type { EventReader } from "../kernel/events/types.ts";
import type { RecordPrinter } from "./records.ts";

/** How a session ended: a watch's result, or "iterator" when it only ran iterators. */
export type SessionResult = Omit<WatchResult, "reason"> & { reason: WatchResult["reason"] | "iterator" };
import type { Output } from "./output.ts";

export interface SessionOptions {
  /** Seconds to watch; undefined: until Ctrl-C. 0: detach right after attaching. */
  duration?: number;
  count?: number;
  /** Called once everything is attached and trace_pipe is open. */
  onReady?: () => void;
  /** Called for every trace line (after it is printed). */
  onTrace?: (message: string) => void;
  attach?: AttachOptions;
  /** trace_pipe, opened by prepareSession before anything was loaded; closed at the end. */
  pipe?: TracePipe;
  /** Ringbuf / perf_event_array readers streamed with the trace lines (the caller closes them). */
  readers?: EventReader[];
  records?: RecordPrinter;
}

/**
 * What a run can be refused for before anything is loaded or attached: the uprobe targets (file,
 * symbol, tracefs command) and trace_pipe, which only one process may read on newer kernels.
 * Returns the open pipe when the run will watch it (hand it to attachAndWatch).
 */
export function prepareSession(out: Output, specs: (AttachSpec | undefined)[], opts: { watch: boolean; attach?: AttachOptions }): TracePipe | undefined {
  for (const spec of specs) if (spec) checkAttach(spec, opts.attach);
  if (!opts.watch) return undefined;
  try {
    const pipe = new TracePipe();
    // Lines already in the trace buffer were printed before this run loaded anything (an earlier
    // run's last lines, nobody read them): they are not this program's, so they are not shown.
    const stale = pipe.discardBuffered();
    if (stale) out.detail(`discarded ${stale} trace line${stale === 1 ? "" : "s"} left in the trace buffer from before this run`);
    return pipe;
  } catch (e) {
    // Only "another process reads it" is final here. Anything else (tracefs unreadable to this
    // user, not mounted) is left to the watch to report, so that e.g. a user without privileges
    // hears first what the kernel says to loading (run as root), as before.
    if (e instanceof TracePipeBusy) throw e;
    return undefined;
  }
}

export interface AttachTarget {
  prog: Program;
  spec: AttachSpec;
}

export async function attachAndWatch(out: Output, targets: AttachTarget[], opts: SessionOptions): Promise<SessionResult> {
  const links: Link[] = [];
  try {
    for (const { prog, spec } of targets) {
      const link = attach(prog, spec, {
        ...opts.attach,
        onProbe: ({ symbol, offset, event }) => {
          if ((spec.kind === "kprobe" || spec.kind === "kretprobe") && symbol && symbol !== spec.func) {
            out.info(`${spec.func} is ${symbol} on this kernel: probing ${symbol}`);
          }
          if (offset !== undefined) out.detail(`file offset 0x${offset.toString(16)}`);
          out.detail(event === "pmu" ? "probe created through the perf PMU" : `probe event ${event}`);
        },
      });
      links.push(link);
      out.event("attached", { program: prog.name, target: link.target }, `attached '${prog.name}' to ${link.target}`);
      if (link.linkId) out.detail(`bpf_link id ${link.linkId}`);
    }
    // Iterators run once, their text to stdout (like `cat` of a pinned iterator); an object of
    // iterators only stops there, with no trace_pipe to watch.
    const iters = links.filter((l) => l.iterator);
    for (const it of iters) {
      const text = new TextDecoder().decode(it.runIterator());
      if (out.json) out.event("iterator", { target: it.target, text });
      else out.raw(text);
    }
    if (iters.length && iters.length === links.length) return { reason: "iterator", lines: 0 };
    if (opts.duration === 0) {
      return { reason: "duration", lines: 0 };
    }
    const until = [
      opts.duration !== undefined ? `${opts.duration} s` : "Ctrl-C",
      opts.count !== undefined ? `${opts.count} ${opts.count === 1 ? "line" : "lines"}` : undefined,
    ].filter(Boolean);
    const rings = (opts.readers ?? []).map((r) => ` and ${r.kind === "ringbuf" ? "ring buffer" : "perf event array"} '${r.map}' (${opts.records?.describe(r.map) ?? "as hex"})`).join("");
    out.info(`watching trace_pipe${rings} until ${until.join(" or ")}...`);
    // Program runs for the live count where the kernel really counts them (stats.ts); else trace lines only.
    const runs = out.liveStatus ? countRuns([...new Set(targets.map((t) => t.prog))]) : undefined;
    let shown = 0;
    const what = opts.readers?.length ? "trace and record" : "trace";
    let lastRuns = runs?.count(); // shown again under every trace line (printing a line clears the status)
    const result = await watch({
      pipe: opts.pipe,
      hits: runs?.count,
      abort: out.stdoutGone.signal,
      duration: opts.duration,
      count: opts.count,
      onReady: opts.onReady,
      readers: opts.readers,
      onRecord: (r) => {
        shown++;
        opts.records?.record(r);
      },
      onLost: (l) => opts.records?.lost(l),
      onLine: (raw, parsed) => {
        shown++;
        out.trace(raw, parsed);
        opts.onTrace?.(parsed?.message ?? raw);
        out.status(runStatusLine(lastRuns, shown, what));
      },
      onHits: (n) => out.status(runStatusLine((lastRuns = n), shown, what)),
    });
    runs?.stop();
    return result;
  } finally {
    for (const link of links) link.close();
    runCleanup();
    opts.pipe?.close();
  }
}

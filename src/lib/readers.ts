// What programs print (trace_pipe) and send (ring buffers, perf event arrays), as async iterators
// that end when the reader is closed; disposable.
import type { Btf } from "../elf/btf.ts";
import { InvalidArgumentError, SystemError } from "../errors.ts";
import type { EventReader as KernelEventReader, LostRecords } from "../kernel/events/index.ts";
import type { TracePipe } from "../kernel/tracefs/trace-pipe.ts";
import { parseTraceLine, type TraceLine } from "../trace-line.ts";
import type { Value } from "./codec.ts";
import { lazy } from "./lazy.ts";
import type { BpfMap } from "./map.ts";
import { Closeable, watchLeak } from "./leaks.ts";

// Loaded when a reader is opened (lib/lazy.ts), not when "bpfload" is imported.
const events = lazy(() => require("../kernel/events/index.ts") as typeof import("../kernel/events/index.ts"));
const btfCodec: typeof import("./codec.ts").btfCodec = (...a) => (require("./codec.ts") as typeof import("./codec.ts")).btfCodec(...a);
const tracePipe = lazy(() => require("../kernel/tracefs/trace-pipe.ts") as typeof import("../kernel/tracefs/trace-pipe.ts"));

/** How a reader's async iteration polls and when it stops. */
export interface ReadOptions {
  /** Milliseconds between polls while nothing comes (default 10). */
  pollMs?: number;
  /** Ends the iteration (the reader stays open). */
  signal?: AbortSignal;
}

/** Something `collect` and `for await` can read: trace lines or event records. */
export interface Reader<T> extends AsyncIterable<T>, Disposable, AsyncDisposable {
  /** Everything available now, without waiting. */
  poll(): T[];
  close(): void;
  readonly closed: boolean;
}

async function* iterate<T>(r: Reader<T>, opts: ReadOptions): AsyncGenerator<T> {
  while (!r.closed && !opts.signal?.aborted) {
    const got = r.poll();
    for (const x of got) yield x;
    if (r.closed || opts.signal?.aborted) return;
    if (!got.length) await Bun.sleep(opts.pollMs ?? 10);
  }
}

/** One line of trace_pipe (bpf_printk / bpf_trace_printk output): its fields, and the line as printed. */
export interface TraceEvent extends Partial<TraceLine> {
  raw: string;
}

/**
 * Reads trace_pipe, where bpf_printk() prints (every program on the machine prints there: filter
 * by `pid` or `message`). The kernel allows one reader at a time on recent kernels: a second one
 * fails with EBUSY naming the holder. Lifetime: the pipe is open until `close()` / `using` ends;
 * iteration ends then. Needs root (tracefs). Minimum kernel: 4.9 (trace_pipe itself is older).
 *
 *     using trace = openTrace();
 *     for await (const line of trace) if (line.message?.startsWith("exec")) break;
 */
export class TraceReader extends Closeable implements Reader<TraceEvent> {
  readonly #pipe: TracePipe;
  readonly #release: () => void;
  #closed = false;

  constructor(readonly opts: ReadOptions & { path?: string } = {}) {
    super();
    const pipe = new (tracePipe().TracePipe)(opts.path);
    this.#pipe = pipe;
    this.#release = watchLeak(this, "trace_pipe reader", () => pipe.close());
  }
  get closed(): boolean {
    return this.#closed;
  }
  poll(): TraceEvent[] {
    if (this.#closed) return [];
    let lines: string[];
    try {
      lines = this.#pipe.drain();
    } catch (e) {
      throw e instanceof SystemError ? e : new SystemError(`read trace_pipe: ${(e as Error).message}`, { cause: e });
    }
    return lines.map((raw) => ({ raw, ...parseTraceLine(raw) }));
  }
  [Symbol.asyncIterator](): AsyncGenerator<TraceEvent> {
    return iterate(this, this.opts);
  }
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#release();
    this.#pipe.close();
  }
}

/** Opens trace_pipe (see TraceReader). Lifetime: one fd until close() or the end of its `using` block; one reader at a time on recent kernels (EBUSY otherwise). Needs root. Minimum kernel: 4.9. */
export function openTrace(opts: ReadOptions = {}): TraceReader {
  return new TraceReader(opts);
}

/** A record a program sent through a ring buffer or perf event array. */
export interface EventRecord {
  map: string;
  /** perf event arrays: the CPU it came from. */
  cpu?: number;
  /** The bytes the program sent. */
  data: Uint8Array;
  /** The record decoded through the object's BTF (the struct `type`, or the one named `event`/`*_event`), when there is one. */
  value?: Value;
}

/** How openEvents reads and decodes records. */
export interface EventOptions extends ReadOptions {
  /** The BTF to decode records with, and the struct's name (default: the one `event` or `*_event` struct). */
  btf?: Btf;
  type?: string;
  /** perf event arrays: pages per CPU buffer. */
  pages?: number;
}

/**
 * Reads the records of a ring buffer (5.8+) or perf event array (4.3+; bpf_perf_event_output 4.4)
 * map. Records lost by the kernel or the program are counted in `lost`. Lifetime: the buffers are
 * mapped until `close()`. Minimum kernel: 4.9 (perf event arrays), 5.8 for ring buffers.
 *
 *     using events = openEvents(coll.maps.get("events")!, { btf: spec.btf });
 *     for await (const r of events) console.log(r.value);
 */
export class EventReader extends Closeable implements Reader<EventRecord> {
  readonly #inner: KernelEventReader;
  readonly #release: () => void;
  readonly #decode?: (b: Uint8Array) => Value;
  #closed = false;
  /** Records lost so far. */
  lost = 0;

  constructor(map: BpfMap, readonly opts: EventOptions = {}) {
    super();
    if (map.type !== "ringbuf" && map.type !== "perf_event_array") throw new InvalidArgumentError("map", `map '${map.name}' is a ${map.type} map: events come through a ringbuf or perf_event_array map`);
    const inner = events().openEventReader(map.raw, opts.pages ? { pages: opts.pages } : {});
    this.#inner = inner;
    const typeId = opts.btf ? events().findEventType(opts.btf, opts.type) : undefined;
    if (opts.btf && typeId !== undefined) {
      const codec = btfCodec(opts.btf, typeId);
      this.#decode = (b) => codec.decode(b);
    }
    this.#release = watchLeak(this, `event reader of map '${map.name}'`, () => inner.close());
  }
  get closed(): boolean {
    return this.#closed;
  }
  get map(): string {
    return this.#inner.map;
  }
  poll(): EventRecord[] {
    if (this.#closed) return [];
    const out: EventRecord[] = [];
    this.#inner.poll(
      (r) => out.push(this.#decode ? { ...r, value: this.#decode(r.data) } : r),
      (l: LostRecords) => (this.lost += l.count),
    );
    return out;
  }
  [Symbol.asyncIterator](): AsyncGenerator<EventRecord> {
    return iterate(this, this.opts);
  }
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#release();
    this.#inner.close();
  }
}

/** Opens the reader of a ring buffer (5.8+) or perf event array map (see EventReader). Lifetime: its fds and mmaps until close() or the end of its `using` block; the map must stay open meanwhile. Minimum kernel: 4.9 (perf event arrays, 4.3+), 5.8 for ring buffers. */
export function openEvents(map: BpfMap, opts: EventOptions = {}): EventReader {
  return new EventReader(map, opts);
}

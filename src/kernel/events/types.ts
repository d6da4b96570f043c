// What every event reader gives: records as the program wrote them, and what was lost.

export interface EventRecord {
  /** The map the record came through. */
  map: string;
  /** perf_event_array: the CPU whose buffer held it; ringbuf: undefined (one ring for all CPUs). */
  cpu?: number;
  /** The bytes the program passed to bpf_perf_event_output / bpf_ringbuf_output (a copy). */
  data: Uint8Array;
}

/** Records lost: perf's PERF_RECORD_LOST counts (per CPU), or a ringbuf program's own drop counter. */
export interface LostRecords {
  map: string;
  cpu?: number;
  count: number;
}

export interface EventReader extends AsyncIterable<EventRecord> {
  readonly map: string;
  readonly kind: "ringbuf" | "perf_event_array";
  /**
   * Hands every record available now to `onRecord`, and each loss to `onLost` (never blocks).
   * Returns the number of records delivered.
   */
  poll(onRecord: (r: EventRecord) => void, onLost?: (l: LostRecords) => void): number;
  /** Records delivered and lost so far. */
  readonly received: number;
  readonly lost: number;
  /** File descriptors that poll(2) readable when records are there (the watch sleeps on them). */
  readonly pollFds: number[];
  close(): void;
}

/**
 * The async iterator of a reader: polls on a timer (quickly while records flow), stops when
 * `close()` is called or `signal` aborts. Losses are thrown away here: read `reader.lost`.
 */
export async function* iterateRecords(reader: EventReader, opts: { pollMs?: number; signal?: AbortSignal; isClosed: () => boolean }): AsyncGenerator<EventRecord> {
  const pollMs = opts.pollMs ?? 10;
  const queue: EventRecord[] = [];
  while (!opts.isClosed() && !opts.signal?.aborted) {
    reader.poll((r) => queue.push(r));
    while (queue.length) yield queue.shift()!;
    if (opts.isClosed() || opts.signal?.aborted) return;
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

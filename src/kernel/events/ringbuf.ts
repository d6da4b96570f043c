// BPF ring buffer (BPF_MAP_TYPE_RINGBUF, 5.8+) consumer, as the kernel's kernel/bpf/ringbuf.c
// lays it out: page 0 is the consumer position (ours to write), page 1 the producer position,
// then the data pages mapped twice in a row, so a record that wraps is contiguous in memory.
// Each record starts with an 8-byte header: u32 length with BUSY (bit 31: being written) and
// DISCARD (bit 30) flags, u32 page offset; records are 8-byte aligned.
//
// Memory ordering: the kernel publishes with smp_store_release (the header's length once the
// record is written, producer_pos once reserved) and reads consumer_pos with smp_load_acquire.
// The producer pages are mapped read-only, and JSC's optimising JIT compiles Atomics.load as a
// locked read-modify-write (measured here: a SIGSEGV on the read-only page once the loop got
// hot), so producer_pos and each header are read with plain aligned loads (one 8- or 4-byte
// load each), each followed by an Atomics operation on the writable consumer page, which JSC
// emits with a full barrier: that orders the later reads of the record after the load (the
// acquire the kernel's protocol asks for; x86_64's TSO gives it anyway, arm64 needs the fence).
// consumer_pos is written with Atomics.store (release: the copy of the record comes first).
//
// poll() moves the ring's records into a much bigger RingQueue and hands them over from there;
// a copier thread (ringbuf-worker.ts, a Worker) does the moving while the main thread pauses
// (GC, JIT, output), so those pauses no longer fill the kernel's ring. If the Worker cannot be
// started, poll() reads the ring directly.
import { SystemError, errnoName } from "../../errors.ts";
import { clearEventFd, eventFd } from "../../sys/eventfd.ts";
import { mmapShared, munmap, pageSize, PROT_READ, PROT_WRITE, type Mapping } from "../../sys/mmap.ts";
import { close as closeFd } from "../../sys/fd.ts"; // the readers have close() methods
import type { BpfMap } from "../map.ts";
import { RingCopy } from "./ring-copy.ts";
import { createQueueBuffers, EXITED, HEARTBEAT, OWNER, OWNER_MAIN, RingQueue, STATE, STOP, WAKE_PENDING } from "./ring-queue.ts";
import type { CopierInit } from "./ringbuf-worker.ts";
import { iterateRecords, type EventReader, type EventRecord, type LostRecords } from "./types.ts";

const BUSY = 0x80000000;
const DISCARD = 0x40000000;
const LEN_MASK = 0x3fffffff;
const HEADER = 8;

export interface RingbufOptions {
  /** A counter the program keeps of records it could not reserve (read at each poll), if any. */
  dropped?: () => number | undefined;
  /** false: no copier thread, poll() reads the kernel's ring itself (default: a Worker copies). */
  thread?: boolean;
  /** The copier's queue in bytes (default: 64 times the ring, within 2-64 MiB; no copier for rings over 16 MiB). */
  queueBytes?: number;
}

type Copier = { worker: import("node:worker_threads").Worker; queue: RingQueue; copy: RingCopy; wakeFd: number };

/** Records a poll moves from the ring into the queue before it hands them over. */
const DRAIN_BATCH = 1024;

// STATE values (ring-queue.ts)
const COPIER = 1;
const CLOSED = 2;
const MAX_THREADED_RING = 16 << 20;
/** How long the reader waits for its copier thread to start before it reads the ring itself. */
const COPIER_START_MS = 2000;

/**
 * The copier's entry: next to this file from source; in the executable, under bunfs's root (src/,
 * see build.ts). A relative path there is looked up in the executable before the working directory
 * (checked: a ./kernel/events/ringbuf-worker.ts planted in the cwd is not run).
 */
function copierEntry(): string {
  if (import.meta.url.startsWith("file:///$bunfs/")) return "./kernel/events/ringbuf-worker.ts";
  return new URL("./ringbuf-worker.ts", import.meta.url).pathname;
}

export class RingbufReader implements EventReader {
  readonly kind = "ringbuf" as const;
  readonly map: string;
  received = 0;
  private droppedSeen = 0;
  private droppedReadAt = -Infinity;
  private readonly consumer: Mapping;
  private readonly producer: Mapping;
  private readonly consumerPos: BigUint64Array;
  private readonly producerPos: BigUint64Array;
  private readonly words: Uint32Array;
  private readonly data: Uint8Array;
  private readonly mask: number;
  private readonly dataStart: number;
  private closed = false;
  private copier?: Copier;
  /** Polls in a row that found nothing (with a copier). */
  private idlePolls = 1;
  /** A copier that stopped by itself (its eventfd is closed at close). */
  private retiredCopier?: Copier;
  /**
   * The map's fd polls readable while the ring holds data (ringbuf_map_poll); with a copier,
   * also the eventfd it signals once it put records in its queue.
   */
  readonly pollFds: number[];

  constructor(map: BpfMap, private readonly opts: RingbufOptions = {}) {
    this.map = map.def.name;
    this.pollFds = [map.fd];
    const page = pageSize();
    const size = map.def.maxEntries;
    const mapping = (length: number, prot: number, offset: number, what: string) => {
      const r = mmapShared(map.fd, length, prot, offset);
      if (!r.mapping) throw new SystemError(`cannot map the ring buffer '${this.map}' (${what}): mmap: ${errnoName(r.errno)}${r.errno === 1 || r.errno === 13 ? ": run as root" : ""}`);
      return r.mapping;
    };
    this.consumer = mapping(page, PROT_READ | PROT_WRITE, 0, "consumer page");
    try {
      this.producer = mapping(page + 2 * size, PROT_READ, page, "producer and data pages");
    } catch (e) {
      munmap(this.consumer);
      throw e;
    }
    this.consumerPos = new BigUint64Array(this.consumer.buffer, 0, 1);
    this.producerPos = new BigUint64Array(this.producer.buffer, 0, 1);
    this.words = new Uint32Array(this.producer.buffer);
    this.data = new Uint8Array(this.producer.buffer);
    this.dataStart = page;
    this.mask = size - 1;
    // (a ring of 16 MiB or more rides out a pause by itself; its queue would have to be bigger still)
    if (opts.thread !== false && size <= MAX_THREADED_RING) this.startCopier(page, size);
  }

  /** "thread": a copier thread reads the kernel's ring; "inline": poll() does. */
  get readBy(): "thread" | "inline" {
    return this.copier ? "thread" : "inline";
  }

  /**
   * Starts the copier and waits for it to be running (15-30 ms measured). If the Worker cannot start,
   * or does not within 2 s, this thread reads the ring itself (and the copier, if it ever
   * starts, finds the ring given up: STATE, ring-queue.ts).
   */
  private startCopier(page: number, size: number): void {
    const wakeFd = eventFd();
    if (wakeFd < 0) return;
    const bytes = this.opts.queueBytes ?? Math.min(64 << 20, Math.max(2 << 20, 64 * size));
    const buffers = createQueueBuffers(Math.max(bytes, 2 * size + 64));
    const init: CopierInit = { ...buffers, consumerAddress: this.consumer.address, producerAddress: this.producer.address, page, size, fd: this.pollFds[0]!, wakeFd };
    const queue = new RingQueue(buffers);
    let worker: import("node:worker_threads").Worker;
    try {
      const { Worker } = require("node:worker_threads") as typeof import("node:worker_threads");
      worker = new Worker(copierEntry(), { workerData: init });
    } catch {
      closeFd(wakeFd);
      return;
    }
    worker.on("error", () => {}); // (a copier that failed to start: the ring is read here, below)
    worker.unref(); // it never keeps the process alive
    const until = performance.now() + COPIER_START_MS;
    while (Atomics.load(queue.control, STATE) === 0 && performance.now() < until) Atomics.wait(queue.control, STATE, 0, 20);
    if (Atomics.compareExchange(queue.control, STATE, 0, CLOSED) !== COPIER) {
      void worker.terminate();
      closeFd(wakeFd);
      return;
    }
    const copy = new RingCopy(new Uint32Array(this.consumer.buffer, 0, 2), this.words, page, size - 1, queue);
    this.copier = { worker, queue, copy, wakeFd };
    this.pollFds.push(wakeFd);
  }

  get lost(): number {
    return this.droppedSeen;
  }

  poll(onRecord: (r: EventRecord) => void, onLost?: (l: LostRecords) => void): number {
    if (this.closed) return 0;
    let n = 0;
    const c = this.copier;
    if (c) {
      const control = c.queue.control;
      Atomics.add(control, HEARTBEAT, 1); // (the copier takes over while this stands still)
      // The ring into the queue first, behind what the copier put there (unless it is at it
      // now: then its records come next poll), then the queue out: onRecord's allocations
      // (a GC pause) come after the lock is released, so the copier can take over meanwhile.
      if (Atomics.compareExchange(control, OWNER, 0, OWNER_MAIN) === 0) {
        try {
          c.copy.copy(DRAIN_BATCH);
        } finally {
          Atomics.store(control, OWNER, 0);
        }
      }
      // The copier signals, then sets WAKE_PENDING: the eventfd is cleared when the flag was set,
      // and after a poll that found nothing (a signal whose flag came late would otherwise keep
      // ppoll returning at once and this thread spinning). A poll that finds records costs no syscall.
      if (Atomics.exchange(control, WAKE_PENDING, 0) === 1 || this.idlePolls > 0) clearEventFd(c.wakeFd);
      n += c.queue.drain((data) => onRecord({ map: this.map, data }));
      if (Atomics.load(control, EXITED) === 1) {
        // The copier stopped by itself (its ppoll failed, or it threw): what it left in the
        // queue first, then this thread reads the ring directly (the eventfd stays open, and
        // silent, until close).
        n += c.queue.drain((data) => onRecord({ map: this.map, data }));
        this.copier = undefined;
        this.retiredCopier = c;
        n += this.readRing(onRecord);
      }
      this.idlePolls = n > 0 ? 0 : this.idlePolls + 1;
    } else {
      n += this.readRing(onRecord);
    }
    this.received += n;
    this.reportDropped(n, onLost);
    return n;
  }

  /** Records in the kernel's ring, read by this thread. */
  private readRing(onRecord: (r: EventRecord) => void): number {
    let n = 0;
    let cons = Number(Atomics.load(this.consumerPos, 0));
    let prod = this.loadProducer();
    while (cons < prod) {
      const at = this.dataStart + (cons & this.mask);
      const len = this.words[at / 4]! >>> 0;
      this.fence();
      if (len & BUSY) break; // still being written: the rest comes next poll
      const size = len & LEN_MASK;
      if (!(len & DISCARD)) {
        onRecord({ map: this.map, data: this.data.slice(at + HEADER, at + HEADER + size) });
        n++;
      }
      cons += (size + HEADER + 7) & ~7;
      Atomics.store(this.consumerPos, 0, BigInt(cons)); // frees the space for the producer
      if (cons >= prod) prod = this.loadProducer();
    }
    return n;
  }

  private reportDropped(n: number, onLost?: (l: LostRecords) => void): void {
    // The program's drop counter is a map lookup (a syscall): while records flow, at most every
    // 10 ms; always once the ring is empty, so the last count is reported before a stop.
    const now = performance.now();
    if (n > 0 && now - this.droppedReadAt < 10) return;
    this.droppedReadAt = now;
    const dropped = this.opts.dropped?.();
    if (dropped !== undefined && dropped > this.droppedSeen) {
      onLost?.({ map: this.map, count: dropped - this.droppedSeen });
      this.droppedSeen = dropped;
    }
  }

  /** producer_pos: a plain load (the page is read-only, see above), then a barrier. */
  private loadProducer(): number {
    const p = Number(this.producerPos[0]);
    this.fence();
    return p;
  }

  /** A full barrier: an Atomics operation on our own writable page (the consumer position). */
  private fence(): void {
    Atomics.load(this.consumerPos, 0);
  }

  [Symbol.asyncIterator](): AsyncIterator<EventRecord> {
    return iterateRecords(this, { isClosed: () => this.closed });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.retiredCopier) {
      void this.retiredCopier.worker.terminate();
      closeFd(this.retiredCopier.wakeFd);
    }
    const c = this.copier;
    if (c) {
      const control = c.queue.control;
      Atomics.store(control, STOP, 1);
      Atomics.notify(control, STOP); // (it ticks in Atomics.wait on STOP)
      // The copier leaves the ring within its ppoll's timeout (10 ms); one that never started
      // gives it up here (CLOSED). Only then is it unmapped: a thread reading unmapped pages
      // would crash the process. One that does not answer in 1 s keeps its mapping (a leak, not a crash).
      const left = Atomics.wait(control, EXITED, 0, 1000) !== "timed-out";
      void c.worker.terminate();
      closeFd(c.wakeFd);
      if (!left) return;
    }
    munmap(this.producer);
    munmap(this.consumer);
  }
}

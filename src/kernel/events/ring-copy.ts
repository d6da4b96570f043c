// Moves records from the kernel's ring buffer (layout: ringbuf.ts) into a RingQueue, advancing
// consumer_pos as it goes. Both the copier thread and the main thread run it, one at a time (the
// queue's OWNER lock), so the queue keeps the ring's order. It allocates nothing (no GC pause
// while it holds the lock): positions are read and written as 32-bit halves, records copied word
// by word. Pure: the caller maps the pages (sys/mmap.ts) and passes views of them.
//
// Memory ordering as in ringbuf.ts: plain loads on the read-only producer pages, each followed by
// an Atomics operation on the writable consumer page (a full barrier); consumer_pos written with
// Atomics.store. It is 64 bits, written as two 32-bit stores, low half first: a kernel that reads
// between them sees a smaller position than the true one (less free space, never more).
import type { RingQueue } from "./ring-queue.ts";

const BUSY = 0x80000000;
const DISCARD = 0x40000000;
const LEN_MASK = 0x3fffffff;

export class RingCopy {
  /** The last copy() stopped because the queue was full. */
  full = false;
  private readonly out: Uint32Array;

  /**
   * consumer: the consumer page's first two words; ring: the producer page and the data pages
   * (mapped twice) as words; dataStart: the data's first byte (a page); size: the data's bytes.
   */
  constructor(
    private readonly consumer: Uint32Array,
    private readonly ring: Uint32Array,
    private readonly dataStart: number,
    private readonly mask: number,
    private readonly queue: RingQueue,
  ) {
    this.out = queue.dataWords;
  }

  private fence(): void {
    Atomics.load(this.consumer, 0);
  }

  /** producer_pos (plain loads of the read-only page, then a barrier; hi, lo, hi again). */
  producer(): number {
    const ring = this.ring;
    for (;;) {
      const hi = ring[1]!;
      const lo = ring[0]!;
      this.fence();
      if (ring[1] === hi) return hi * 2 ** 32 + lo;
    }
  }

  consumerPos(): number {
    return Atomics.load(this.consumer, 1) * 2 ** 32 + Atomics.load(this.consumer, 0);
  }

  /** Copies up to `max` records (what is there, and what comes meanwhile); returns how many. */
  copy(max: number): number {
    const { ring, out, queue, consumer } = this;
    const dataStart = this.dataStart / 4;
    let cons = this.consumerPos();
    let prod = this.producer();
    let n = 0;
    this.full = false;
    while (cons < prod && n < max) {
      const at = dataStart + (cons & this.mask) / 4;
      const len = ring[at]!;
      this.fence();
      if (len & BUSY) break; // still being written
      const size = len & LEN_MASK;
      if (!(len & DISCARD)) {
        const off = queue.reserve(size);
        if (off < 0) {
          this.full = true;
          break;
        }
        const from = at + 2; // past the 8-byte header
        const to = off / 4;
        for (let i = 0, words = (size + 3) >>> 2; i < words; i++) out[to + i] = ring[from + i]!;
        queue.commit(off, size);
        n++;
      }
      cons += (size + 8 + 7) & ~7;
      Atomics.store(consumer, 0, cons % 2 ** 32);
      Atomics.store(consumer, 1, Math.floor(cons / 2 ** 32));
      if (cons >= prod) prod = this.producer();
    }
    return n;
  }
}

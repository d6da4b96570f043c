// The ring buffer's copier thread (a Worker, started by RingbufReader): it owns the wait on the
// map's fd and moves each record out of the kernel's ring into the RingQueue as soon as it is
// there, advancing consumer_pos at once, so the kernel's ring is free again even while the main
// thread is stalled (a GC or JIT pause of 3-11 ms overflowed a 4 KiB ring at 50k records/s:
// measured). The loop allocates nothing (no GC pauses of its own): positions are read and
// written as 32-bit halves, records copied word by word.
//
// Memory ordering as in ringbuf.ts: plain loads on the read-only producer pages, each followed by
// an Atomics operation on the writable consumer page (a full barrier); consumer_pos written with
// Atomics.store. It is 64 bits, written as two 32-bit stores, low half first: a kernel that reads
// between them sees a smaller position than the true one (less free space, never more).
import { workerData } from "node:worker_threads";
import { viewMapping } from "../../sys/mmap.ts";
import { FdPoller } from "../../sys/poll.ts";
import { signalEventFd } from "../../sys/eventfd.ts";
import { EXITED, RingQueue, STATE, STOP, WAKE_PENDING, type RingQueueBuffers } from "./ring-queue.ts";

export interface CopierInit extends RingQueueBuffers {
  consumerAddress: number;
  producerAddress: number;
  page: number;
  size: number;
  fd: number;
  wakeFd: number;
}

const BUSY = 0x80000000;
const DISCARD = 0x40000000;
const LEN_MASK = 0x3fffffff;
/** The longest sleep in ppoll before STOP is looked at again. */
const IDLE_MS = 10;

function run(init: CopierInit): void {
  const q = new RingQueue(init);
  const control = q.control;
  // The reader waits for this (STATE, ring-queue.ts); one that gave up (CLOSED) reads the ring itself.
  const won = Atomics.compareExchange(control, STATE, 0, 1) === 0;
  Atomics.notify(control, STATE);
  if (!won) return;
  try {
    copyUntilStopped(init, q);
  } finally {
    Atomics.store(control, EXITED, 1);
    Atomics.notify(control, EXITED);
  }
}

function copyUntilStopped(init: CopierInit, q: RingQueue): void {
  const control = q.control;
  const consumer = new Uint32Array(viewMapping(init.consumerAddress, init.page), 0, 2);
  const ring = new Uint32Array(viewMapping(init.producerAddress, init.page + 2 * init.size));
  const out = q.dataWords;
  const dataStart = init.page / 4;
  const mask = init.size - 1;
  const poller = new FdPoller([init.fd]);
  const fence = () => Atomics.load(consumer, 0);
  const producer = (): number => {
    for (;;) {
      const hi = ring[1]!;
      const lo = ring[0]!;
      fence();
      if (ring[1] === hi) return hi * 2 ** 32 + lo;
    }
  };
  let cons = Atomics.load(consumer, 1) * 2 ** 32 + Atomics.load(consumer, 0);
  while (Atomics.load(control, STOP) === 0) {
    let prod = producer();
    let n = 0;
    let full = false;
    while (cons < prod) {
      const at = dataStart + (cons & mask) / 4;
      const len = ring[at]!;
      fence();
      if (len & BUSY) break; // still being written
      const size = len & LEN_MASK;
      if (!(len & DISCARD)) {
        const off = q.reserve(size);
        if (off < 0) {
          full = true;
          break;
        }
        const from = at + 2; // past the 8-byte header
        const to = off / 4;
        for (let i = 0, words = (size + 3) >>> 2; i < words; i++) out[to + i] = ring[from + i]!;
        q.commit(off, size);
        n++;
      }
      cons += (size + 8 + 7) & ~7;
      Atomics.store(consumer, 0, cons % 2 ** 32);
      Atomics.store(consumer, 1, Math.floor(cons / 2 ** 32));
      if (cons >= prod) prod = producer();
    }
    // One signal until the reader looked (it clears the eventfd, then WAKE_PENDING, then reads the queue)
    if (n > 0 && Atomics.exchange(control, WAKE_PENDING, 1) === 0) signalEventFd(init.wakeFd);
    if (full) {
      Atomics.wait(control, STOP, 0, 1); // the reader frees space; look again in 1 ms
    } else if (n === 0) {
      if (poller.wait(IDLE_MS) < 0) return; // (the reader then reads the ring itself: EXITED)
    }
  }
}

if (workerData) run(workerData as CopierInit); // (imported for its types elsewhere: nothing to do)

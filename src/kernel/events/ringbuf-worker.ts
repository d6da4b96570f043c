// The ring buffer's copier thread (a Worker, started by RingbufReader): the main thread reads the
// kernel's ring itself while it keeps polling (one thread on the records: flat out, a second
// one on 2 cores only took CPU from it, measured 0.1-0.7x libbpf's rate); this thread watches
// it, and when the main thread has not polled for a tick (TICK_MS; a GC or JIT pause of 3-11 ms, a
// slow stdout: a 4 KiB ring overflowed in 1.7 ms at 50k records/s, measured) while records wait
// in the ring, it moves them into the RingQueue (ring-copy.ts) every tick until the main thread
// polls again, and wakes it through the eventfd. It also copies whenever it finds the ring over
// half full (its own tick may come late on a busy machine). Who copies is the queue's OWNER lock.
// While the ring stays empty it sleeps in ppoll on the map's fd instead of ticking.
import { workerData } from "node:worker_threads";
import { viewMapping } from "../../sys/mmap.ts";
import { FdPoller } from "../../sys/poll.ts";
import { signalEventFd } from "../../sys/eventfd.ts";
import { RingCopy } from "./ring-copy.ts";
import { COPIED, EXITED, HEARTBEAT, OWNER, OWNER_COPIER, RingQueue, STATE, STOP, WAKE_PENDING, type RingQueueBuffers } from "./ring-queue.ts";

export interface CopierInit extends RingQueueBuffers {
  consumerAddress: number;
  producerAddress: number;
  page: number;
  size: number;
  fd: number;
  wakeFd: number;
}

/** How often the main thread's heartbeat is looked at while records flow (0.5 ms asked slept ~0.7 ms, 1,350 wake-ups/s measured, and paced 10:100 lost 3-418 records in 3 of 3 runs; 0.2 ms: 0-66 in 3). */
const TICK_MS = 0.2;
/** Ticks without a new record before the copier sleeps in ppoll (10-20 ms). */
const IDLE_TICKS = 50;
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
    copyWhileStalled(init, q);
  } finally {
    Atomics.store(control, EXITED, 1);
    Atomics.notify(control, EXITED);
  }
}

function copyWhileStalled(init: CopierInit, q: RingQueue): void {
  const control = q.control;
  const consumer = new Uint32Array(viewMapping(init.consumerAddress, init.page), 0, 2);
  const ring = new Uint32Array(viewMapping(init.producerAddress, init.page + 2 * init.size));
  const copy = new RingCopy(consumer, ring, init.page, init.size - 1, q);
  const poller = new FdPoller([init.fd]);
  let beat = Atomics.load(control, HEARTBEAT);
  let lastProducer = copy.producer();
  let idle = 0;
  const halfRing = init.size / 2;
  while (Atomics.load(control, STOP) === 0) {
    if (idle >= IDLE_TICKS) {
      // nothing came for a while: sleep until the ring has data (or STOP is due a look)
      if (poller.wait(IDLE_MS) < 0) return; // (the reader then reads the ring itself: EXITED)
      idle = 0;
      beat = Atomics.load(control, HEARTBEAT); // the main thread is due its own chance first
    }
    Atomics.wait(control, STOP, 0, TICK_MS);
    const prod = copy.producer();
    idle = prod === lastProducer ? idle + 1 : 0;
    lastProducer = prod;
    const now = Atomics.load(control, HEARTBEAT);
    const stalled = now === beat;
    beat = now;
    // Also when the ring is over half full though the main thread polled since the last look: a
    // tick that came late (this thread waited for a core) leaves less than the ring's fill time.
    const waiting = prod - copy.consumerPos();
    if (waiting <= 0 || (!stalled && waiting <= halfRing)) continue;
    if (Atomics.compareExchange(control, OWNER, 0, OWNER_COPIER) !== 0) continue; // the main thread is at it
    let n: number;
    try {
      n = copy.copy(Infinity);
    } finally {
      Atomics.store(control, OWNER, 0);
    }
    Atomics.add(control, COPIED, n);
    // Signal, then the flag: a reader that finds the flag clears the eventfd (ringbuf.ts)
    if (n > 0 && Atomics.load(control, WAKE_PENDING) === 0) {
      signalEventFd(init.wakeFd);
      Atomics.store(control, WAKE_PENDING, 1);
    }
  }
}

if (workerData) run(workerData as CopierInit); // (imported for its types elsewhere: nothing to do)

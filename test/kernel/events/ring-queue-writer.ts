// The writer side of ring-queue.test.ts, in a Worker: `count` records of 1-203 bytes, record i
// holding i as a u32 (when it has room) and then the byte (i + k) & 255 at each k; waits when the queue is full.
import { workerData } from "node:worker_threads";
import { RingQueue, STOP } from "../../../src/kernel/events/ring-queue.ts";

const { buffers, count } = workerData as { buffers: import("../../../src/kernel/events/ring-queue.ts").RingQueueBuffers; count: number };
const q = new RingQueue(buffers);
for (let i = 0; i < count; i++) {
  const len = 1 + (i % 203);
  const rec = new Uint8Array(len);
  for (let k = 0; k < len; k++) rec[k] = (i + k) & 255;
  if (len >= 4) new DataView(rec.buffer).setUint32(0, i, true);
  while (!q.push(rec)) Atomics.wait(q.control, STOP, 0, 1);
}

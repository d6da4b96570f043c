// The ring buffer copier's queue (ring-queue.ts): records come out as they went in, in order,
// across the wrap at the end, never over unread ones when full; and with the writer in another
// thread (a Worker, as the copier is), 200,000 records of every length arrive intact. No kernel.
import { expect, test } from "bun:test";
import { Worker } from "node:worker_threads";
import { createQueueBuffers, RingQueue } from "../../../src/kernel/events/ring-queue.ts";

const bytes = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, k) => (seed + k) & 255);

test("records in order, through many wraps of a small queue, each intact", () => {
  const q = new RingQueue(createQueueBuffers(256));
  const out: Uint8Array[] = [];
  let sent = 0;
  for (let round = 0; round < 500; round++) {
    // push until full, then read some: the write position wraps at every offset
    while (q.push(bytes(1 + (sent % 37), sent))) sent++;
    q.drain((d) => out.push(d));
  }
  q.drain((d) => out.push(d));
  expect(out.length).toBe(sent);
  out.forEach((d, i) => expect(d).toEqual(bytes(1 + (i % 37), i)));
});

test("a full queue refuses a record (it never writes over unread ones) and takes it once read", () => {
  const q = new RingQueue(createQueueBuffers(64));
  let n = 0;
  while (q.push(bytes(8, n))) n++;
  expect(n).toBeGreaterThan(3); // 12 bytes each in 64, one gap kept
  expect(n).toBeLessThan(6);
  const got: Uint8Array[] = [];
  expect(q.drain((d) => got.push(d))).toBe(n);
  got.forEach((d, i) => expect(d).toEqual(bytes(8, i)));
  expect(q.used).toBe(0);
  expect(q.push(bytes(8, 99))).toBe(true);
});

test("a record as big as the queue can take fits; the queue's size is checked", () => {
  const q = new RingQueue(createQueueBuffers(128));
  expect(q.push(bytes(q.maxRecord, 1))).toBe(true);
  const got: Uint8Array[] = [];
  q.drain((d) => got.push(d));
  expect(got[0]).toEqual(bytes(q.maxRecord, 1));
  expect(() => createQueueBuffers(100 + 2)).toThrow(RangeError);
});

test("a writer in another thread: 200,000 records of 1-203 bytes, none lost, none repeated, in order", async () => {
  const buffers = createQueueBuffers(16 * 1024); // small: the writer waits on a full queue often
  const q = new RingQueue(buffers);
  const count = 200_000;
  const w = new Worker(new URL("./ring-queue-writer.ts", import.meta.url).pathname, { workerData: { buffers, count } });
  let next = 0;
  let bad = "";
  const check = (d: Uint8Array) => {
    const len = 1 + (next % 203);
    if (!bad && d.length !== len) bad = `record ${next}: ${d.length} bytes, not ${len}`;
    if (!bad && len >= 4 && new DataView(d.buffer, d.byteOffset).getUint32(0, true) !== next) bad = `record ${next} holds ${new DataView(d.buffer, d.byteOffset).getUint32(0, true)}`;
    if (!bad && len !== 4 && d[len - 1] !== ((next + len - 1) & 255)) bad = `record ${next}: last byte ${d[len - 1]}`;
    next++;
  };
  const until = Date.now() + 30_000;
  while (next < count && Date.now() < until) {
    if (q.drain(check) === 0) await Bun.sleep(0);
  }
  await w.terminate();
  expect(bad).toBe("");
  expect(next).toBe(count);
}, 40_000);

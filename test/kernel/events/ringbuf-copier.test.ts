// The ring buffer's copier thread: while the main thread is stalled (here a 600 ms busy loop,
// standing in for a GC or JIT pause, a slow stdout) a paced producer's records, 20 times what the
// fixture's 4 KiB ring holds, are all kept (none dropped by the program, all delivered, in
// order), where a reader without the thread loses most of them. The program's own counters
// (stats = sent, events_dropped) are the oracle.
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { parseAttachSpec } from "../../../src/attach-spec.ts";
import { readObject } from "../../../src/elf/index.ts";
import { attach } from "../../../src/kernel/attach/index.ts";
import { loadCollection } from "../../../src/kernel/collection.ts";
import { COPIED, EXITED, HEARTBEAT, STOP } from "../../../src/kernel/events/ring-queue.ts";
import { RingbufReader } from "../../../src/kernel/events/ringbuf.ts";
import type { BpfMap } from "../../../src/kernel/map.ts";
import { kernelSkipReason, REPO } from "../../support.ts";

const python = Bun.which("python3");
const skip = kernelSkipReason ?? (!python ? "no python3 to trigger getppid" : undefined);

const u64 = (m: BpfMap) => Number(new DataView(m.lookup(new Uint8Array(4))!.buffer).getBigUint64(0, true));

/** 2000 getppid calls, 10 at a time with 1 ms pauses (about 200 ms), while this thread is stalled. */
async function stalledRun(thread: boolean, beating = false) {
  const obj = await readObject(readFileSync(`${REPO}/test/fixtures/ringbuf.o`), "ringbuf.o");
  const col = loadCollection(obj);
  const link = attach(col.programs[0]!.program, parseAttachSpec("tracepoint:syscalls:sys_enter_getppid"));
  const reader = new RingbufReader(col.maps.get("events")!, { thread, dropped: () => u64(col.maps.get("events_dropped")!) });
  try {
    const producer = Bun.spawn([python!, "-c", "import os, time\nfor i in range(200):\n  for _ in range(10): os.getppid()\n  time.sleep(0.001)\nprint(os.getpid())"], { stdout: "pipe" });
    const end = performance.now() + 600;
    // the stall: no event loop, no poll; `beating`: the heartbeat a poll gives moves all along
    // (as when the copier's look comes late, just after a poll), yet nothing copies the ring
    const control = (reader as unknown as { copier?: { queue: { control: Int32Array } } }).copier?.queue.control;
    while (performance.now() < end) if (beating) Atomics.add(control!, HEARTBEAT, 1);
    await producer.exited;
    const seqs: number[] = [];
    let lost = 0;
    // every record (other processes call getppid too): its seq field is the program's count
    const take = () => reader.poll((r) => void seqs.push(Number(new DataView(r.data.buffer, r.data.byteOffset).getBigUint64(8, true))), (l) => (lost += l.count));
    for (let quiet = 0; quiet < 20; await Bun.sleep(10)) quiet = take() ? 0 : quiet + 1;
    const copier = (reader as unknown as { copier?: { queue: { control: Int32Array } } }).copier;
    return { readBy: reader.readBy, copied: copier ? Atomics.load(copier.queue.control, COPIED) : 0, seqs, lost, sent: u64(col.maps.get("stats")!), dropped: u64(col.maps.get("events_dropped")!) };
  } finally {
    reader.close();
    link.close();
    col.close();
  }
}

describe.skipIf(!!skip)("ring buffer copier thread", () => {
  test("a copier that stopped by itself: the reader reads the ring itself, and nothing is lost", async () => {
    const obj = await readObject(readFileSync(`${REPO}/test/fixtures/ringbuf.o`), "ringbuf.o");
    const col = loadCollection(obj);
    const link = attach(col.programs[0]!.program, parseAttachSpec("tracepoint:syscalls:sys_enter_getppid"));
    const reader = new RingbufReader(col.maps.get("events")!, {});
    try {
      expect(reader.readBy).toBe("thread");
      // stand-in for a copier whose ppoll failed: it leaves its loop and says EXITED
      const control = (reader as unknown as { copier: { queue: { control: Int32Array } } }).copier.queue.control;
      Atomics.store(control, STOP, 1);
      expect(Atomics.wait(control, EXITED, 0, 2000)).not.toBe("timed-out");
      await Bun.spawn([python!, "-c", "import os\nfor _ in range(50): os.getppid()"]).exited;
      const seqs: number[] = [];
      for (let quiet = 0; quiet < 10; await Bun.sleep(10)) quiet = reader.poll((r) => void seqs.push(Number(new DataView(r.data.buffer, r.data.byteOffset).getBigUint64(8, true)))) ? 0 : quiet + 1;
      expect(reader.readBy).toBe("inline");
      const sent = u64(col.maps.get("stats")!);
      expect(sent).toBeGreaterThanOrEqual(50);
      expect(seqs).toEqual(Array.from({ length: sent }, (_, i) => i));
    } finally {
      reader.close();
      link.close();
      col.close();
    }
  }, 20_000);

  test("a stalled main thread loses nothing: every record arrives in order, the program dropped none", async () => {
    const r = await stalledRun(true);
    expect(r.readBy).toBe("thread");
    expect(r.dropped).toBe(0);
    expect(r.lost).toBe(0);
    expect(r.sent).toBeGreaterThanOrEqual(2000);
    // seq 0, 1, 2... as the program numbered them: none lost, none twice, in order
    expect(r.seqs).toEqual(Array.from({ length: r.sent }, (_, i) => i));
    expect(r.copied).toBeGreaterThan(1000); // (the copier did: this thread was stalled)
  }, 20_000);

  test("a ring over half full is copied even when the main thread's heartbeat moved since the copier's last look", async () => {
    // (the takeover waited for a tick with no poll: a 4 KiB ring lost records at 45k/s when ticks came late)
    const r = await stalledRun(true, true);
    expect(r.readBy).toBe("thread");
    expect(r.dropped).toBe(0);
    expect(r.lost).toBe(0);
    expect(r.sent).toBeGreaterThanOrEqual(2000);
    expect(r.seqs).toEqual(Array.from({ length: r.sent }, (_, i) => i));
    expect(r.copied).toBeGreaterThan(1000);
  }, 20_000);

  test("a main thread that keeps polling reads the ring itself: the copier moves only what comes during its pauses", async () => {
    // (flat out on 2 cores, a copier on every record took the CPU the main thread needed: 0.1-0.7x libbpf's rate)
    const obj = await readObject(readFileSync(`${REPO}/test/fixtures/ringbuf.o`), "ringbuf.o");
    const col = loadCollection(obj);
    const link = attach(col.programs[0]!.program, parseAttachSpec("tracepoint:syscalls:sys_enter_getppid"));
    const reader = new RingbufReader(col.maps.get("events")!, { dropped: () => u64(col.maps.get("events_dropped")!) });
    try {
      expect(reader.readBy).toBe("thread");
      const control = (reader as unknown as { copier: { queue: { control: Int32Array } } }).copier.queue.control;
      const producer = Bun.spawn([python!, "-c", "import os, time\nfor i in range(200):\n  for _ in range(10): os.getppid()\n  time.sleep(0.001)"]);
      const seqs: number[] = [];
      let lost = 0;
      const take = () => reader.poll((r) => void seqs.push(Number(new DataView(r.data.buffer, r.data.byteOffset).getBigUint64(8, true))), (l) => (lost += l.count));
      const end = performance.now() + 1500; // (the producer takes about 300 ms with python's start)
      while (performance.now() < end) take(); // no pause longer than a poll
      await producer.exited;
      for (let quiet = 0; quiet < 10; await Bun.sleep(10)) quiet = take() ? 0 : quiet + 1;
      const sent = u64(col.maps.get("stats")!);
      // (its pauses over a tick, GC or a preemption, hand the copier some: 346 of 2048 seen with a 0.2 ms tick)
      expect(Atomics.load(control, COPIED)).toBeLessThan(sent / 2);
      expect(sent).toBeGreaterThanOrEqual(2000);
      expect(lost).toBe(0);
      expect(seqs).toEqual(Array.from({ length: sent }, (_, i) => i));
    } finally {
      reader.close();
      link.close();
      col.close();
    }
  }, 20_000);

  test("the same stall without the thread overflows the ring, and the loss is reported", async () => {
    const r = await stalledRun(false);
    expect(r.readBy).toBe("inline");
    expect(r.dropped).toBeGreaterThan(1000);
    expect(r.lost).toBe(r.dropped);
    expect(r.seqs.length).toBe(r.sent);
  }, 20_000);
});

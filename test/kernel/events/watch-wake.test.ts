// An idle watch with event readers sleeps in ppoll on the readers' fds and wakes when a record
// comes, instead of on its idle timer (pollMs): with pollMs 2000 the first record of a burst is
// still taken within a fraction of that (a 50 ms timer let a perf buffer overflow at a burst's
// start). The reader here is a fake over a FIFO another process writes to: no kernel needed.
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import type { EventReader, EventRecord } from "../../../src/kernel/events/types.ts";
import type { TracePipe } from "../../../src/kernel/tracefs/trace-pipe.ts";
import { watch } from "../../../src/kernel/tracefs/watch.ts";
import { openNonblocking, readInto } from "../../../src/sys/files.ts";
import { close } from "../../../src/sys/fd.ts";

const dir = mkdtempSync(`${tmpdir()}/bpfload-wake-`);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test("the first record after an idle spell is taken at once, not on the next pollMs tick", async () => {
  const fifo = `${dir}/fifo`;
  expect(Bun.spawnSync(["mkfifo", fifo]).exitCode).toBe(0);
  const fd = openNonblocking(fifo);
  const buf = new Uint8Array(64);
  let polls = 0;
  const reader: EventReader = {
    map: "fake",
    kind: "ringbuf",
    received: 0,
    lost: 0,
    pollFds: [fd],
    poll(onRecord: (r: EventRecord) => void) {
      polls++;
      const n = readInto(fd, buf);
      if (n <= 0) return 0;
      onRecord({ map: "fake", data: buf.slice(0, n) });
      return 1;
    },
    close() {},
    [Symbol.asyncIterator]: () => ({ next: async () => ({ done: true as const, value: undefined }) }),
  };
  const noPipe = { fd: -1, drain: () => [], close() {} } as unknown as TracePipe; // (ppoll skips fd -1)
  let latencyMs = -1;
  // the writer lets the watch go idle, then writes its clock
  const child = Bun.spawn(["sh", "-c", `sleep 0.7; date +%s%N > ${fifo}`]);
  try {
    const result = await watch({
      pipe: noPipe,
      readers: [reader],
      count: 1,
      duration: 8,
      pollMs: 2000,
      onLine: () => {},
      onRecord: (r) => {
        const sentNs = BigInt(new TextDecoder().decode(r.data).trim());
        latencyMs = Number(BigInt(Date.now()) * 1_000_000n - sentNs) / 1e6;
      },
    });
    expect(result.reason).toBe("count");
  } finally {
    await child.exited;
    close(fd);
  }
  expect(latencyMs).toBeGreaterThanOrEqual(-5); // (clock granularity)
  expect(latencyMs).toBeLessThan(300); // the idle timer would take up to 2000 ms
  expect(polls).toBeLessThan(100_000); // and it slept: no spinning while idle
});

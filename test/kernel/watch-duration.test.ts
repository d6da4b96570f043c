// --duration longer than setTimeout's 32-bit milliseconds (24.8 days): the timer is chained, so a
// 3,000,000 s run does not stop at once. Fake clock: setTimeout is recorded, time advanced by hand.
import { afterEach, expect, setSystemTime, test } from "bun:test";
import { MAX_TIMEOUT_MS, setLongTimeout } from "../../src/kernel/tracefs/watch.ts";

const realSetTimeout = globalThis.setTimeout;
afterEach(() => {
  globalThis.setTimeout = realSetTimeout;
  setSystemTime();
});

test("a duration past 2^31-1 ms fires once, only after the whole duration", () => {
  let now = Date.UTC(2026, 0, 1);
  setSystemTime(new Date(now));
  const pending: { fn: () => void; ms: number }[] = [];
  globalThis.setTimeout = ((fn: () => void, ms: number) => {
    pending.push({ fn, ms });
    return pending.length as unknown as ReturnType<typeof setTimeout>;
  }) as typeof setTimeout;

  const duration = 3_000_000 * 1000; // --duration 3000000 (34.7 days)
  let fired = 0;
  let firedAt = 0;
  setLongTimeout(() => {
    fired++;
    firedAt = now;
  }, duration);
  const start = now;
  const delays: number[] = [];
  while (pending.length) {
    const t = pending.shift()!;
    delays.push(t.ms);
    expect(t.ms).toBeLessThanOrEqual(MAX_TIMEOUT_MS); // more would fire after 1 ms
    now += t.ms;
    setSystemTime(new Date(now));
    t.fn();
  }
  expect(fired).toBe(1);
  expect(firedAt - start).toBe(duration);
  expect(delays).toEqual([MAX_TIMEOUT_MS, duration - MAX_TIMEOUT_MS]);
});

test("a short duration is one timer; the cancel stops it", async () => {
  let fired = false;
  const cancel = setLongTimeout(() => (fired = true), 20);
  cancel();
  await Bun.sleep(40);
  expect(fired).toBe(false);
  let fired2 = false;
  setLongTimeout(() => (fired2 = true), 5);
  await Bun.sleep(30);
  expect(fired2).toBe(true);
});

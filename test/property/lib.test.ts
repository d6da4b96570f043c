// The runner itself: a property that is false is caught, shrunk and reported with its seed; a slow
// case is a hang; the same seed gives the same cases.
import { expect, test } from "bun:test";
import { caseSeed, formatFailure, Rng, runProperty, shrinkBytes, shrinkString, type Property } from "./lib.ts";

test("the same seed gives the same inputs, another seed others", () => {
  const a = new Rng(caseSeed(1, "p", 3));
  const b = new Rng(caseSeed(1, "p", 3));
  const c = new Rng(caseSeed(2, "p", 3));
  const xs = [a.u32(), a.u32(), a.u32()];
  expect([b.u32(), b.u32(), b.u32()]).toEqual(xs);
  expect([c.u32(), c.u32(), c.u32()]).not.toEqual(xs);
});

test("a false property fails with its seed and a shrunk input", async () => {
  // "no string contains 'zz'": false, and the minimal counterexample is exactly "zz"
  const p: Property<string> = {
    name: "no zz",
    kind: "test",
    gen: (r) => Array.from({ length: r.range(5, 40) }, () => r.pick(["a", "z", "b", " "])).join(""),
    check: (s) => {
      if (s.includes("zz")) throw new TypeError("found zz"); // a crash, not a Violation
      return "ok";
    },
    shrink: shrinkString,
  };
  const s = await runProperty(p, { runs: 500, seed: 7 });
  expect(s.failures).toHaveLength(1);
  const f = s.failures[0]!;
  expect(f.minimal).toBe('"zz"');
  expect(f.error).toContain("TypeError: found zz");
  expect(formatFailure(f)).toContain("BPFLOAD_PROPERTY_SEED=7");
});

test("byte shrinking reaches a minimal array", async () => {
  const p: Property<Uint8Array> = {
    name: "no 0xff",
    kind: "test",
    gen: (r) => r.bytes(64),
    check: (b) => {
      if (b.includes(0xff)) throw new Error("0xff");
      return "ok";
    },
    shrink: (b) => shrinkBytes(b),
    show: (b) => Buffer.from(b).toString("hex"),
  };
  const s = await runProperty(p, { runs: 100, seed: 1 });
  expect(s.failures[0]?.minimal).toBe("ff");
});

test("a case slower than the budget is reported as a hang", async () => {
  const p: Property<number> = {
    name: "slow",
    kind: "test",
    gen: (r) => r.int(10),
    check: () => {
      const end = performance.now() + 30;
      while (performance.now() < end);
      return "ok";
    },
  };
  const s = await runProperty(p, { runs: 2, seed: 1, hangMs: 10 });
  expect(s.failures[0]?.hang).toBe(true);
});

test("outcomes are counted", async () => {
  const p: Property<number> = { name: "parity", kind: "test", gen: (r) => r.int(100), check: (n) => (n % 2 ? "odd" : "even") };
  const s = await runProperty(p, { runs: 200, seed: 3 });
  expect((s.outcomes.get("odd") ?? 0) + (s.outcomes.get("even") ?? 0)).toBe(200);
  expect(s.outcomes.get("odd")).toBeGreaterThan(50);
});

test("failures are classed: a Violation, a crash (any other exception), a hang", async () => {
  const { Violation } = await import("./lib.ts");
  const p: Property<number> = {
    name: "classes",
    kind: "test",
    gen: (r) => r.int(3),
    check: (n) => {
      if (n === 0) throw new Violation("false");
      if (n === 1) throw new RangeError("boom");
      return "ok";
    },
  };
  const s = await runProperty(p, { runs: 300, seed: 5, keepGoing: true });
  expect(s.violations).toBeGreaterThan(50);
  expect(s.crashes).toBeGreaterThan(50);
  expect(s.violations + s.crashes + (s.outcomes.get("ok") ?? 0)).toBe(300);
  expect(s.failures.length).toBeLessThanOrEqual(5);
});

// Histogram charts: bpftrace's hist() layout (label 16 wide, count 8 right-aligned, a 52-column bar
// of '@' scaled to the largest bucket), log2 and linear bucket labels, bucket placement checked
// against Math.log2 on the raw values as an independent oracle.
import { describe, expect, test } from "bun:test";
import { UsageError } from "../../src/errors.ts";
import { bucketCounts, linearLabel, log2Bucket, log2Label, parseHistSpec, renderHist, sizeLabel } from "../../src/cli/hist.ts";

describe("labels", () => {
  test("log2 buckets as bpftrace prints them", () => {
    expect([0, 1, 2, 3, 4, 10, 11, 12, 21, 31].map(log2Label)).toEqual(["[0]", "[1]", "[2, 4)", "[4, 8)", "[8, 16)", "[512, 1K)", "[1K, 2K)", "[2K, 4K)", "[1M, 2M)", "[1G, 2G)"]);
  });
  test("linear buckets", () => {
    expect(linearLabel(0, 100)).toBe("[0, 100)");
    expect(linearLabel(10, 100)).toBe("[1000, 1100)");
    expect(linearLabel(1, 1024)).toBe("[1K, 2K)");
  });
  test("size suffixes only for exact multiples of 1024", () => {
    expect([1024n, 1536n, 1n << 20n, 3n << 30n, 1000n].map(sizeLabel)).toEqual(["1K", "1536", "1M", "3G", "1000"]);
  });
});

describe("bucket placement", () => {
  test("the log2 bucket of v is floor(log2 v) + 1 (0 for 0), like bcc's bpf_log2l", () => {
    for (const v of [0, 1, 2, 3, 4, 7, 8, 52, 1023, 1024, 1042, 65535, 2 ** 40 + 5]) {
      const oracle = v === 0 ? 0 : Math.floor(Math.log2(v)) + 1;
      expect([v, log2Bucket(BigInt(v))]).toEqual([v, oracle]);
    }
  });
});

describe("charts", () => {
  test("bpftrace's layout, zero buckets between shown, leading/trailing zeros not", () => {
    const c = new Map<number, bigint>([[0, 0n], [1, 3n], [2, 0n], [3, 6n], [4, 1n], [5, 0n]]);
    expect(renderHist(c, "log2")).toEqual([
      "[1]                    3 |@@@@@@@@@@@@@@@@@@@@@@@@@@                          |",
      "[2, 4)                 0 |                                                    |",
      "[4, 8)                 6 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|",
      "[8, 16)                1 |@@@@@@@@                                            |",
    ]);
  });
  test("every line is 16 + 8 + 2 + 52 + 1 columns; bars floor(count * 52 / max)", () => {
    const c = new Map<number, bigint>([[0, 7n], [1, 100n], [2, 99n], [3, 1n]]);
    const lines = renderHist(c, "linear", 10);
    for (const l of lines) expect(l.length).toBe(79);
    expect(lines.map((l) => l.split("|")[1]!.replace(/ /g, "").length)).toEqual([3, 52, 51, 0]);
    expect(lines[1]!.startsWith("[10, 20)")).toBe(true);
  });
  test("all zero: nothing to draw", () => {
    expect(renderHist(new Map([[3, 0n]]), "log2")).toEqual([]);
  });
  test("counts from entries: summed per bucket; non-integer keys are not a histogram", () => {
    expect(bucketCounts([{ key: 2n, value: 5n }, { key: 2n, value: 1n }, { key: 4n, value: 0n }])).toEqual(new Map([[2, 6n], [4, 0n]]));
    expect(bucketCounts([{ key: undefined, value: 1n }])).toBeUndefined();
  });
});

describe("--hist specs", () => {
  test.each([
    ["sizes", { map: "sizes", kind: "log2", step: 1 }],
    ["sizes:log2", { map: "sizes", kind: "log2", step: 1 }],
    ["sizes:linear", { map: "sizes", kind: "linear", step: 1 }],
    ["sizes:linear:100", { map: "sizes", kind: "linear", step: 100 }],
  ])("%s", (text, spec) => expect(parseHistSpec(text)).toEqual(spec as never));
  test.each(["", "sizes:cubic", "sizes:linear:0", "sizes:linear:x", "sizes:log2:4", "a:b:c:d"])("'%s' is a usage error", (text) => {
    expect(() => parseHistSpec(text)).toThrow(UsageError);
  });
});

// The one number parser: exact (BigInt), explicit ranges, nothing wraps or rounds.
import { describe, expect, test } from "bun:test";
import { InvalidArgumentError } from "../src/errors.ts";
import { integerOption } from "../src/cli/index.ts";
import { formatRange, parseBigInt, parseDecimal, parseInteger, U32_MAX, U64_MAX } from "../src/numbers.ts";

const u64 = { min: 0n, max: U64_MAX };

describe("parseBigInt / parseInteger", () => {
  test("decimal and 0x hex, exact at the edges of u64", () => {
    expect(parseBigInt("0xffffffffffffffff", u64, "x")).toBe(U64_MAX);
    expect(parseBigInt("18446744073709551615", u64, "x")).toBe(U64_MAX);
    expect(parseBigInt("0X10", u64, "x")).toBe(16n);
    expect(parseInteger("4294967295", { min: 0n, max: U32_MAX }, "x")).toBe(4294967295);
  });
  test("one past the range is refused with the range, never wrapped (Number('0x10000000000000000') is 2^64)", () => {
    expect(() => parseBigInt("0x10000000000000000", u64, "a file offset")).toThrow("a file offset is out of range: '0x10000000000000000' does not fit in 0..0xffffffffffffffff");
    expect(() => parseInteger("4294967296", { min: 0n, max: U32_MAX }, "x")).toThrow(InvalidArgumentError);
    expect(() => parseInteger("0", { min: 1n, max: 10n }, "x")).toThrow("x is out of range: '0' does not fit in 1..10");
  });
  test("anything but digits is not a number: undefined, for the caller to say what it expected", () => {
    for (const t of ["", " 1", "1 ", "1.5", "-3", "+3", "1e99", "0x", "0b101", "Infinity", "NaN", "1_000", "٣"]) expect([t, parseBigInt(t, u64, "x")]).toEqual([t, undefined]);
  });
  test("a range beyond exact Numbers is a programming error", () => {
    expect(() => parseInteger("1", u64, "x")).toThrow(RangeError);
  });
  test("ranges print in hex at u32/u64 sizes", () => {
    expect(formatRange({ min: 0n, max: U32_MAX })).toBe("0..0xffffffff");
    expect(formatRange({ min: 1n, max: 4096n })).toBe("1..4096");
  });
});

describe("integerOption", () => {
  test("in range", () => {
    expect(integerOption("count", "5", 1, 10)).toBe(5);
    expect(integerOption("count", "0xa", 1, 10)).toBe(10);
  });
  test("1.5, -3, 1e99 and out-of-range values are refused, naming the option and the range", () => {
    expect(() => integerOption("count", "1.5", 1, 10)).toThrow("bad --count '1.5': give a whole number from 1 to 10");
    expect(() => integerOption("count", "-3", 1, 10)).toThrow("bad --count '-3'");
    expect(() => integerOption("count", "1e99", 1, 10)).toThrow("bad --count '1e99'");
    expect(() => integerOption("count", "11", 1, 10)).toThrow("--count is out of range: '11' does not fit in 1..10");
  });
});

describe("parseDecimal", () => {
  test("seconds with a fraction", () => {
    expect(parseDecimal("2.5", 100, "--duration")).toBe(2.5);
    expect(parseDecimal("0", 100, "--duration")).toBe(0);
    expect(parseDecimal(".5", 100, "--duration")).toBe(0.5);
  });
  test("malformed is undefined; too large is a range error", () => {
    for (const t of ["", "-1", "1e3", "soon", "1.2.3", "Infinity", "0x10"]) expect([t, parseDecimal(t, 100, "x")]).toEqual([t, undefined]);
    expect(() => parseDecimal("101", 100, "--duration")).toThrow("--duration is out of range: '101' is more than 100");
    expect(() => parseDecimal("9".repeat(400), 100, "--duration")).toThrow(InvalidArgumentError);
  });
});

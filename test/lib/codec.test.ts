// Keys and values as JavaScript values (pure): by size, and through an object's BTF, checked
// against the bytes clang laid out (struct event of the example: u32 pid, u32 cpu, char comm[16]).
import { expect, test } from "bun:test";
import { readObject, InvalidArgumentError } from "../../src/index.ts";
import { btfCodec, sizeCodec } from "../../src/lib/codec.ts";
import { findEventType } from "../../src/kernel/events/decode.ts";
import { REPO } from "../support.ts";

test("by size: numbers for 1/2/4 bytes, bigint for 8, bytes otherwise; ranges checked", () => {
  const c4 = sizeCodec(4);
  expect([...c4.encode(0x01020304, "k")]).toEqual([4, 3, 2, 1]);
  expect(c4.decode(new Uint8Array([4, 3, 2, 1]))).toBe(0x01020304);
  expect([...c4.encode(-1, "k")]).toEqual([255, 255, 255, 255]); // two's complement
  expect(() => c4.encode(2 ** 32, "k")).toThrow(InvalidArgumentError);
  expect(() => c4.encode(1.5, "k")).toThrow(/not an integer/);
  const c8 = sizeCodec(8);
  expect(c8.decode(c8.encode(2n ** 63n + 5n, "v"))).toBe(2n ** 63n + 5n);
  expect(c8.decode(c8.encode(7, "v"))).toBe(7n); // a number is taken for a u64 too
  const c12 = sizeCodec(12);
  expect(c12.decode(new Uint8Array(12).fill(9))).toEqual(new Uint8Array(12).fill(9));
  expect(() => c12.encode(5, "v")).toThrow(/give 12 bytes as a Uint8Array/);
  expect(() => c12.encode(new Uint8Array(11), "v")).toThrow(/11 bytes given, 12 expected/);
});

test("writeTo/readFrom (the map call buffer) agree with encode/decode, fast path and slow path", () => {
  for (const size of [1, 2, 4, 8, 12]) {
    const c = sizeCodec(size);
    const buf = new DataView(new ArrayBuffer(32));
    const values = size === 8 ? [0n, 1n, 2n ** 64n - 1n, -1n] : size === 12 ? [new Uint8Array(12).fill(3)] : [0, 1, 2 ** (8 * size) - 1, -1];
    for (const v of values) {
      c.writeTo(v, buf, 8, "v");
      expect([...new Uint8Array(buf.buffer, 8, size)]).toEqual([...c.encode(v, "v")]);
      expect(c.readFrom(buf, 8)).toEqual(c.decode(c.encode(v, "v")));
    }
  }
});

test("through BTF: struct event as an object, char arrays as strings, bad fields named", async () => {
  const spec = await readObject(`${REPO}/examples/ci/counter.o`);
  const btf = spec.btf!;
  const id = findEventType(btf)!;
  const c = btfCodec(btf, id);
  const bytes = c.encode({ pid: 0x1234, cpu: 1, comm: "bun" }, "event");
  expect(bytes.length).toBe(24);
  expect([...bytes.subarray(0, 8)]).toEqual([0x34, 0x12, 0, 0, 1, 0, 0, 0]);
  expect(new TextDecoder().decode(bytes.subarray(8, 11))).toBe("bun");
  expect(c.decode(bytes)).toEqual({ pid: 0x1234, cpu: 1, comm: "bun" });
  expect(() => c.encode({ pid: 1, uid: 2 }, "event")).toThrow(/has no field 'uid' \(it has pid, cpu, comm\)/);
  expect(() => c.encode({ comm: "x".repeat(16) }, "event")).toThrow(/does not fit in char\[16\] with its NUL/);
  expect(() => c.encode({ pid: -1 }, "event")).toThrow(/out of range for an unsigned 32-bit integer/);
});

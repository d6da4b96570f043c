// The compiled record formatter (one function per record type, built once) prints exactly what
// the field-by-field decoder prints, for every struct and union of every fixture's BTF, on
// random bytes (the generic decoder is the oracle). Pure: no kernel.
import { expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { objectBtf } from "../../../src/cli/records.ts";
import { compileFormatter, decodeRecord, formatFields } from "../../../src/kernel/events/decode.ts";
import { BTF_KIND_STRUCT, BTF_KIND_UNION } from "../../../src/elf/btf.ts";

const FIXTURES = new URL("../../fixtures/", import.meta.url).pathname;

/** A tiny seeded generator (xorshift32): the same bytes every run. */
function random(seed: number) {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

test("compiled text = formatFields(decodeRecord(...)) for every struct of the fixtures, 50 random records each", () => {
  const next = random(20261201);
  let compared = 0;
  // struct_ops/ too: its vmlinux types have unions of anonymous structs at one offset (qspinlock)
  const objects = [...readdirSync(FIXTURES).filter((f) => f.endsWith(".o")), "struct_ops/struct_ops_ca.o"];
  for (const name of objects) {
    const btf = objectBtf(new Uint8Array(readFileSync(`${FIXTURES}/${name}`)), name);
    if (!btf) continue;
    for (const t of btf.types) {
      if (!t || (t.kind !== BTF_KIND_STRUCT && t.kind !== BTF_KIND_UNION)) continue;
      let f;
      try {
        f = compileFormatter(btf, t.id);
      } catch {
        continue; // a type the reader cannot size (the generic decoder cannot either)
      }
      if (!f || f.size > 4096) continue;
      for (let i = 0; i < 50; i++) {
        const bytes = new Uint8Array(f.size + (i % 3) * 8);
        // mostly ASCII with NULs (char arrays), sometimes high bytes (UTF-8 path, big u64s, negatives)
        for (let k = 0; k < bytes.length; k++) {
          const r = next();
          bytes[k] = i % 2 ? r & 0xff : r % 5 === 0 ? 0 : 0x20 + (r % 0x5f);
        }
        expect(`${name} ${t.name}: ${f.format(bytes)}`).toBe(`${name} ${t.name}: ${formatFields(decodeRecord(btf, t.id, bytes))}`);
        compared++;
      }
    }
  }
  expect(compared).toBeGreaterThan(500);
});

test("the ring buffer fixture's struct event prints as the generic decoder does (u64 above 2^53, a UTF-8 comm)", () => {
  const btf = objectBtf(new Uint8Array(readFileSync(`${FIXTURES}/ringbuf.o`)), "ringbuf.o")!;
  const id = btf.types.find((t) => t?.name === "event")!.id;
  const bytes = new Uint8Array(32);
  const v = new DataView(bytes.buffer);
  v.setUint32(0, 4242, true);
  v.setUint32(4, 1, true);
  v.setBigUint64(8, 0xfedcba9876543210n, true);
  bytes.set(new TextEncoder().encode("caf\u00e9"), 16);
  const text = compileFormatter(btf, id)!.format(bytes);
  expect(text).toBe(`pid=4242 cpu=1 seq=${0xfedcba9876543210n} comm="caf\u00e9"`);
  expect(text).toBe(formatFields(decodeRecord(btf, id, bytes)));
});

// Symbols of uprobe targets: against binutils' view of real files, and hostile input.
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { findTargetSymbol, readTargetSymbols, TargetError } from "../../src/elf/target.ts";

const reader = (bytes: Uint8Array) => (offset: number, length: number) => bytes.subarray(offset, offset + length);

const LIBC = ["/lib/x86_64-linux-gnu/libc.so.6", "/lib/aarch64-linux-gnu/libc.so.6"].find((p) => Bun.file(p).size > 0);

test.skipIf(!LIBC)("finds libc's exported functions with file offsets inside the file", () => {
  const bytes = new Uint8Array(readFileSync(LIBC!));
  const syms = readTargetSymbols(reader(bytes), bytes.length);
  expect(syms.length).toBeGreaterThan(1000);
  expect(findTargetSymbol(syms, "malloc")).toBeDefined();
  for (const s of syms) expect(s.fileOffset).toBeLessThan(bytes.length);
});

test("versioned dynamic names match their plain name", () => {
  const syms = [{ name: "malloc@@GLIBC_2.2.5", value: 16n, size: 8n, fileOffset: 16, dynamic: true }];
  expect(findTargetSymbol(syms, "malloc")?.fileOffset).toBe(16);
  expect(findTargetSymbol(syms, "free")).toBeUndefined();
});

test("hostile files give a TargetError, never another exception", () => {
  const good = new Uint8Array(readFileSync("/bin/sh"));
  const cases: Uint8Array[] = [new Uint8Array(0), new Uint8Array(63), new TextEncoder().encode("#!/bin/sh\necho hi\n".padEnd(80))];
  for (let k = 1; k < 16; k++) cases.push(good.subarray(0, Math.floor((good.length * k) / 16)));
  let seed = 7;
  for (let i = 0; i < 200; i++) {
    const copy = good.slice();
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    copy[seed % 4096]! ^= 0xff; // the headers and tables live near the start and the end
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    copy[copy.length - 1 - (seed % 8192)]! ^= 0xff;
    cases.push(copy);
  }
  for (const c of cases) {
    try {
      readTargetSymbols(reader(c), c.length);
    } catch (e) {
      expect(e).toBeInstanceOf(TargetError);
    }
  }
});

// The arena kept alive by construction: in src/sys/, a system call that passes a pointer goes
// through arena.ts syscallWith (which references the memory until the kernel has returned), never
// through plain `syscall`. A source check, because a GC that reuses an arena mid-call is a rare,
// silent corruption that no run-time test catches reliably (BUN-NOTES: pointer hazards).
import { expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

const SYS = join(import.meta.dir, "../../src/sys");
// What a pointer argument looks like in src/sys/: an arena's base or region address, addressOf().
const POINTER = /\.base\b|\baddress\(|\baddressOf\(|\bptr\(|\bbase \+/;

/** Each plain `syscall(...)` call in `source` (not syscallWith, not the definition), with its arguments. */
export function plainSyscalls(source: string): string[] {
  const out: string[] = [];
  const re = /(?<![\w.])syscall\(/g;
  for (let m = re.exec(source); m; m = re.exec(source)) {
    const before = source.slice(Math.max(0, m.index - 9), m.index);
    if (/function $/.test(before)) continue; // the definition in libc.ts
    let depth = 1;
    let i = m.index + m[0].length;
    for (; i < source.length && depth > 0; i++) {
      if (source[i] === "(") depth++;
      else if (source[i] === ")") depth--;
    }
    out.push(source.slice(m.index, i));
  }
  return out;
}

test("the check sees a pointer passed through plain syscall (its own oracle)", () => {
  expect(plainSyscalls("const r = syscall(NR.fstat, fd, arena.base);").filter((c) => POINTER.test(c))).toHaveLength(1);
  expect(plainSyscalls("syscall(NR.write, fd, addressOf(bytes, done), n)").filter((c) => POINTER.test(c))).toHaveLength(1);
  expect(plainSyscalls("syscallWith(arena, NR.fstat, fd, arena.base); syscall(NR.close, fd)").filter((c) => POINTER.test(c))).toHaveLength(0);
});

test("every system call in src/sys/ that passes a pointer keeps its memory alive (syscallWith)", () => {
  const offenders: string[] = [];
  for (const file of readdirSync(SYS).filter((f) => f.endsWith(".ts"))) {
    const source = readFileSync(join(SYS, file), "utf8");
    for (const call of plainSyscalls(source)) if (POINTER.test(call)) offenders.push(`${file}: ${call}`);
  }
  expect(offenders).toEqual([]);
});

test("only src/sys/ makes system calls (others may import its types)", () => {
  const SRC = join(import.meta.dir, "../../src");
  const offenders: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) {
        if (p !== SYS) walk(p);
      } else if (e.name.endsWith(".ts") && /^import (?!type )[^;]*from "(?:[./]*sys\/libc\.ts|bun:ffi)"/m.test(readFileSync(p, "utf8"))) offenders.push(p.slice(SRC.length + 1));
    }
  };
  walk(SRC);
  expect(offenders).toEqual([]);
});

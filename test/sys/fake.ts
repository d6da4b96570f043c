// A fake kernel behind the one syscall seam (src/sys/libc.ts overrideSyscall): it records every
// call with its name, arguments and (for bpf(2)) its command and attr bytes, and answers what the
// test's function says. Nothing reaches the real kernel while it is installed, so these tests run
// without root. Use with `using kernel = new FakeKernel(...)`: disposing it puts the kernel back.
import { syscallTables } from "../../src/sys/arch.ts";
import { field, type FieldName, type Layout } from "../../src/sys/layout.ts";
import { memoryAt, overrideSyscall, type SysResult } from "../../src/sys/libc.ts";

const TABLE: Record<string, number> = process.arch === "arm64" ? syscallTables.arm64 : syscallTables.x64;
// mmap/munmap are not in arch.ts's table (sys/mmap.ts keeps its own), nor the paths.ts calls.
const EXTRA: Record<string, Record<string, number>> = {
  x64: { mmap: 9, munmap: 11, openat2: 437, unlinkat: 263, fstatfs: 138, statfs: 137, readlinkat: 267 },
  arm64: { mmap: 222, munmap: 215, openat2: 437, unlinkat: 35, fstatfs: 44, statfs: 43, readlinkat: 78 },
};
const NAMES = new Map<number, string>(Object.entries({ ...(EXTRA[process.arch] ?? EXTRA.x64), ...TABLE }).map(([name, nr]) => [nr, name]));

export interface FakeCall {
  nr: number;
  /** The call's name ("bpf", "read", "ioctl"), or "nr N" for one the tables do not name. */
  name: string;
  args: [number, number, number, number, number, number];
  /**
   * bpf(2) only: the command, and the attr: a live view while the answer runs (write into it to
   * answer, as the kernel does), a copy afterwards. Other pointer arguments are the caller's memory
   * only during the call: read them with memoryAt inside the answer, never later.
   */
  cmd?: number;
  attr?: Uint8Array;
}

/** What a fake answers: a return value, an errno (ret -1), a full result; undefined is ret 0. */
export type Answer = number | { errno: number } | SysResult | undefined | void;

export class FakeKernel implements Disposable {
  readonly calls: FakeCall[] = [];
  readonly #restore: () => void;

  constructor(answer: (call: FakeCall, kernel: FakeKernel) => Answer) {
    this.#restore = overrideSyscall((nr, a, b, c, d, e, f) => {
      const name = NAMES.get(nr) ?? `nr ${nr}`;
      const call: FakeCall = { nr, name, args: [a, b, c, d, e, f] };
      if (name === "bpf") {
        call.cmd = a;
        call.attr = c > 0 ? memoryAt(b, c) : new Uint8Array(0);
      }
      this.calls.push(call);
      const r = answer(call, this);
      // After the call the caller's arena may be collected: keep a copy, never a view of it.
      if (call.attr) call.attr = call.attr.slice();
      if (r === undefined) return { ret: 0, errno: 0 };
      if (typeof r === "number") return { ret: r, errno: 0 };
      if ("ret" in r) return r;
      return { ret: -1, errno: r.errno };
    });
  }

  /** The calls of one name (or one bpf command). */
  named(name: string, cmd?: number): FakeCall[] {
    return this.calls.filter((c) => c.name === name && (cmd === undefined || c.cmd === cmd));
  }

  [Symbol.dispose](): void {
    this.#restore();
  }
}

/** A u32/u64 field of a bpf attr the fake got (0 when the attr the caller sent stops before it). */
export function attrField<N extends string>(call: FakeCall, l: Layout<N>, name: NoInfer<N>): number {
  const f = field(l, name);
  const attr = call.attr!;
  if (f.offset + f.size > attr.length) return 0;
  const v = new DataView(attr.buffer, attr.byteOffset, attr.byteLength);
  if (f.size === 8) return Number(v.getBigUint64(f.offset, true));
  if (f.size === 4) return v.getUint32(f.offset, true);
  if (f.size === 2) return v.getUint16(f.offset, true);
  return v.getUint8(f.offset);
}

/** Writes a u32 field of the attr back, as the kernel does for its out fields. */
export function setAttrU32<N extends string>(call: FakeCall, l: Layout<N>, name: NoInfer<N>, value: number): void {
  const f = field(l, name);
  new DataView(call.attr!.buffer, call.attr!.byteOffset, call.attr!.byteLength).setUint32(f.offset, value, true);
}

/** A NUL-terminated string at `address` (the caller's memory). */
export function cstringAt(address: number, max = 4096): string {
  const bytes: number[] = [];
  for (let i = 0; i < max; i++) {
    const b = memoryAt(address + i, 1)[0]!;
    if (b === 0) break;
    bytes.push(b);
  }
  return new TextDecoder().decode(new Uint8Array(bytes));
}

/** Copies `text` and a NUL to `address`, at most `size` bytes (a verifier log the kernel writes). */
export function writeCString(address: number, size: number, text: string): void {
  const bytes = new TextEncoder().encode(text).subarray(0, Math.max(0, size - 1));
  const mem = memoryAt(address, bytes.length + 1);
  mem.set(bytes);
  mem[bytes.length] = 0;
}

export type { FieldName };

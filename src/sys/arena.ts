// Memory the kernel reads or writes during one system call. One explicit ArrayBuffer per call:
// typed arrays over an explicit ArrayBuffer never move, and `syscallWith` uses the arena after
// the call returns, so the GC cannot reuse it while the kernel holds its address (BUN-NOTES: both
// hazards were reproduced). Regions are sized by the caller from the kernel's rule for what it
// will write (sys/bpf.ts mapValueBytes for map values), never from what the caller expects back.
import { addressOf, syscall, type SysResult } from "./libc.ts";

/** Written after every call so that the last use of an arena cannot be optimised away. */
let keepAliveSink = 0;

export interface Region {
  offset: number;
  size: number;
}

export class Arena {
  readonly bytes: Uint8Array;
  readonly view: DataView;
  readonly base: number;

  /** `sizes`: the regions to reserve, each 8-byte aligned; get them back with `region(i)`. */
  constructor(private readonly sizes: number[]) {
    const total = sizes.reduce((sum, n) => sum + align8(Math.max(n, 1)), 0);
    this.bytes = new Uint8Array(new ArrayBuffer(total));
    this.view = new DataView(this.bytes.buffer);
    this.base = addressOf(this.bytes);
  }

  region(i: number): Region {
    let offset = 0;
    for (let k = 0; k < i; k++) offset += align8(Math.max(this.sizes[k]!, 1));
    return { offset, size: this.sizes[i]! };
  }

  /** The region's address as the kernel's `__aligned_u64` pointer fields want it. */
  address(r: Region): bigint {
    return BigInt(this.base + r.offset);
  }

  slice(r: Region): Uint8Array {
    return this.bytes.subarray(r.offset, r.offset + r.size);
  }

  /** Copies bytes into a region. */
  put(r: Region, data: Uint8Array): void {
    this.bytes.set(data.subarray(0, r.size), r.offset);
  }

  /** A use of the buffer the optimiser must keep (Go's runtime.KeepAlive): call after the syscall. */
  keepAlive(): void {
    keepAliveSink ^= this.bytes[0]!;
  }

  /** Reads a NUL-terminated string from a region. */
  cstring(r: Region): string {
    const s = this.slice(r);
    const end = s.indexOf(0);
    return new TextDecoder().decode(end < 0 ? s : s.subarray(0, end));
  }
}

/** Memory a call points into: an arena, or explicit-ArrayBuffer views their owner keeps. */
export type CallMemory = Arena | Uint8Array | readonly Uint8Array[];

/**
 * The one way to make a system call whose arguments point into memory: `memory` (all of it) stays
 * referenced until the kernel has returned, so the GC cannot reuse it while the kernel holds its
 * address (cilium's runtime.KeepAlive after its one syscall). Plain `syscall` is for calls that
 * pass no pointer (test/sys/keep-alive.test.ts checks that src/sys/ keeps to this).
 */
export function syscallWith(memory: CallMemory, nr: number, a = 0, b = 0, c = 0, d = 0, e = 0, f = 0): SysResult {
  const r = syscall(nr, a, b, c, d, e, f);
  if (memory instanceof Arena) memory.keepAlive();
  else if (memory instanceof Uint8Array) keepAliveSink ^= memory.byteLength;
  else for (const m of memory) keepAliveSink ^= m.byteLength;
  return r;
}

export function align8(n: number): number {
  return (n + 7) & ~7;
}

export function cstringBytes(s: string): Uint8Array {
  const enc = new TextEncoder().encode(s);
  const out = new Uint8Array(enc.length + 1);
  out.set(enc);
  return out;
}

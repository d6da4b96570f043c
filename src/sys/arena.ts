// Memory the kernel reads or writes during one system call. One explicit ArrayBuffer per call:
// typed arrays over an explicit ArrayBuffer never move, and the arena object stays referenced
// until the call returns, so the GC cannot reuse it (BUN-NOTES: both hazards were reproduced).
import { addressOf } from "./libc.ts";

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

  /** Reads a NUL-terminated string from a region. */
  cstring(r: Region): string {
    const s = this.slice(r);
    const end = s.indexOf(0);
    return new TextDecoder().decode(end < 0 ? s : s.subarray(0, end));
  }
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

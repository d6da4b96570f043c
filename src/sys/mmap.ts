// mmap(2)/munmap(2) of the shared rings the kernel writes events into (BPF ringbuf maps, perf
// event buffers). The mapping is read through an ArrayBuffer that points at it (libc.ts
// mappedBuffer): no copy per read. The caller unmaps once nothing reads the buffer any more.
import { readFile } from "./files.ts";
import { mappedBuffer, syscall, type SysResult } from "./libc.ts";

// Not in arch.ts's table (owned elsewhere): only this module maps memory.
const NR_MMAP = process.arch === "arm64" ? { mmap: 222, munmap: 215 } : { mmap: 9, munmap: 11 };

export const PROT_READ = 1;
export const PROT_WRITE = 2;
const MAP_SHARED = 1;

export interface Mapping {
  address: number;
  length: number;
  buffer: ArrayBuffer;
}

/** mmap(NULL, length, prot, MAP_SHARED, fd, offset): the mapping, or the errno. */
export function mmapShared(fd: number, length: number, prot: number, offset = 0): { mapping?: Mapping; errno: number } {
  const r: SysResult = syscall(NR_MMAP.mmap, 0, length, prot, MAP_SHARED, fd, offset);
  // Failures come back as -1..-4095 (MAP_FAILED); i64_fast gives a plain number for addresses.
  if (r.ret < 0) return { errno: r.errno };
  return { mapping: { address: r.ret, length, buffer: mappedBuffer(r.ret, length) }, errno: 0 };
}

/** Another view of a mapping made elsewhere in this process (a Worker gets the address, not the buffer). */
export function viewMapping(address: number, length: number): ArrayBuffer {
  return mappedBuffer(address, length);
}

export function munmap(m: Mapping): SysResult {
  return syscall(NR_MMAP.munmap, m.address, m.length);
}

let pageSizeCache: number | undefined;

/** The page size (4096 on x86_64; 4096, 16384 or 65536 on arm64), from the auxiliary vector. */
export function pageSize(): number {
  if (pageSizeCache !== undefined) return pageSizeCache;
  // /proc/self/auxv: pairs of u64 (type, value); AT_PAGESZ is 6.
  let size = 4096;
  try {
    const auxv = readFile("/proc/self/auxv");
    const v = new DataView(auxv.buffer, auxv.byteOffset, auxv.byteLength);
    for (let i = 0; i + 16 <= auxv.length; i += 16) {
      if (v.getBigUint64(i, true) === 6n) size = Number(v.getBigUint64(i + 8, true));
    }
  } catch {
    // keep 4096
  }
  return (pageSizeCache = size);
}

// The only module that imports bun:ffi. It binds libc's variadic syscall() with six fixed i64
// arguments (works on x86_64 and aarch64) and reads errno through __errno_location(), whose
// pointer is taken once: reading it right after the call, with nothing allocating in between,
// is what BUN-NOTES measured to be reliable.
import { dlopen, FFIType, ptr, read, toArrayBuffer, type Pointer } from "bun:ffi";

const libc = dlopen("libc.so.6", {
  // i64_fast returns a plain number where it fits (no BigInt allocation per call).
  syscall: { args: ["i64", "i64", "i64", "i64", "i64", "i64", "i64"], returns: FFIType.i64_fast },
  __errno_location: { args: [], returns: FFIType.ptr },
} as const);

const errnoPtr = libc.symbols.__errno_location() as Pointer;
const rawSyscall = libc.symbols.syscall;

/** Result of a raw system call: `ret` >= 0 on success, otherwise `errno` says why. */
export interface SysResult {
  ret: number;
  errno: number;
}

/** Calls syscall(nr, ...args); arguments are numbers (pointers included, from `ptr()`). */
export function syscall(nr: number, a = 0, b = 0, c = 0, d = 0, e = 0, f = 0): SysResult {
  const ret = Number(rawSyscall(nr, a, b, c, d, e, f));
  if (ret < 0) return { ret, errno: read.i32(errnoPtr, 0) };
  return { ret, errno: 0 };
}

/** Address of a byte range inside an ArrayBuffer-backed view (never a zero-length view). */
export function addressOf(view: Uint8Array, offset = 0): number {
  if (view.byteLength === 0) throw new RangeError("addressOf: zero-length view");
  return ptr(view, offset) as number;
}

/**
 * An ArrayBuffer over memory the process mapped (mmap): no copy, reads and writes go to the
 * mapping. Only for addresses that stay mapped as long as the buffer is used (sys/mmap.ts).
 */
export function mappedBuffer(address: number, length: number): ArrayBuffer {
  return toArrayBuffer(address as Pointer, 0, length);
}

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

/**
 * What answers a system call: the kernel, or a test's fake. Arguments are numbers; a pointer
 * argument is an address in this process (a fake reads what it points at with `memoryAt`).
 */
export type SyscallHandler = (nr: number, a: number, b: number, c: number, d: number, e: number, f: number) => SysResult;

function kernelSyscall(nr: number, a: number, b: number, c: number, d: number, e: number, f: number): SysResult {
  const ret = Number(rawSyscall(nr, a, b, c, d, e, f));
  if (ret < 0) return { ret, errno: read.i32(errnoPtr, 0) };
  return { ret, errno: 0 };
}

let handler: SyscallHandler = kernelSyscall;

/**
 * Calls syscall(nr, ...args); arguments are numbers (pointers included, from `ptr()`). The one seam
 * every system call of bpfload goes through: a call that passes pointers goes through
 * arena.ts syscallWith, which keeps the memory alive until this returns.
 */
export function syscall(nr: number, a = 0, b = 0, c = 0, d = 0, e = 0, f = 0): SysResult {
  return handler(nr, a, b, c, d, e, f);
}

/**
 * For tests: every system call goes to `fake` instead of the kernel until the returned function is
 * called (aya's override_syscall). Calls are synchronous, so a fake installed for one test body
 * sees only that test's calls.
 */
export function overrideSyscall(fake: SyscallHandler): () => void {
  const previous = handler;
  handler = fake;
  return () => {
    handler = previous;
  };
}

/**
 * The bytes at `address` as a view over this process's memory, no copy: how a fake reads an attr
 * the caller points at and writes back what the kernel would. Only during the call (the caller's
 * arena is alive until it returns).
 */
export function memoryAt(address: number, length: number): Uint8Array {
  return new Uint8Array(toArrayBuffer(address as Pointer, 0, length));
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

// eventfd(2): how the ring buffer's copier thread wakes the main thread's ppoll (the main thread
// sleeps on its fds, and a SharedArrayBuffer cannot wake a system call).
import { NR } from "./arch.ts";
import { syscallWith } from "./arena.ts";
import { addressOf, syscall } from "./libc.ts";

// Not in arch.ts's table (owned elsewhere): only this module makes eventfds.
const NR_EVENTFD2 = process.arch === "arm64" ? 19 : 290;
const EFD_CLOEXEC = 0o2000000;
const EFD_NONBLOCK = 0o4000;

/** A non-blocking eventfd, or -errno. */
export function eventFd(): number {
  const r = syscall(NR_EVENTFD2, 0, EFD_CLOEXEC | EFD_NONBLOCK);
  return r.ret < 0 ? -r.errno : r.ret;
}

// One 8-byte buffer per thread that uses this module (each thread has its own module instance).
const counter = new BigUint64Array(new ArrayBuffer(8));
const counterBytes = new Uint8Array(counter.buffer);

/** Makes the eventfd readable (adds 1 to its counter). */
export function signalEventFd(fd: number): void {
  counter[0] = 1n;
  syscallWith(counterBytes, NR.write, fd, addressOf(counterBytes), 8);
}

/** Resets the counter (not readable until the next signal); EAGAIN when it was 0 is fine. */
export function clearEventFd(fd: number): void {
  syscallWith(counterBytes, NR.read, fd, addressOf(counterBytes), 8);
}

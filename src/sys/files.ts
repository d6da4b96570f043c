// File access through our own syscall binding instead of node:fs: importing node:fs costs about
// 1.2 ms of start-up, a tenth of what a one-shot load may spend outside the kernel. The files we
// touch on that path are small kernel files (tracefs, /proc, sysfs) and the program itself.
import { cstringBytes } from "./arena.ts";
import { Arena } from "./arena.ts";
import { NR } from "./arch.ts";
import { syscall } from "./libc.ts";

const AT_FDCWD = -100;
const O_RDONLY = 0;
const O_WRONLY = 1;
const O_APPEND = 0o2000;
const O_NONBLOCK = 0o4000;
const O_CLOEXEC = 0o2000000;
const EINTR = 4;

/** A failed file operation: `errno` for the caller's message. */
export class FileError extends Error {
  constructor(readonly path: string, readonly errno: number, readonly op: "open" | "read" | "write" | "mkdir" = "open") {
    super(`${path}: ${op}: errno ${errno}`);
  }
}

export function openFile(path: string, flags = O_RDONLY): number {
  const p = cstringBytes(path);
  const arena = new Arena([p.length]);
  arena.put(arena.region(0), p);
  const r = syscall(NR.openat, AT_FDCWD, arena.base, flags | O_CLOEXEC, 0o644);
  if (r.ret < 0) throw new FileError(path, r.errno);
  return r.ret;
}

export function openNonblocking(path: string): number {
  return openFile(path, O_RDONLY | O_NONBLOCK);
}

/** read(2) into `buf`; returns the count, 0 at the end, or -errno (EAGAIN on an empty pipe). */
export function readInto(fd: number, buf: Uint8Array, offset?: number): number {
  const arena = new Arena([buf.length]);
  for (;;) {
    const r = offset === undefined ? syscall(NR.read, fd, arena.base, buf.length) : syscall(NR.pread64, fd, arena.base, buf.length, offset);
    if (r.ret < 0 && r.errno === EINTR) continue;
    if (r.ret > 0) buf.set(arena.bytes.subarray(0, r.ret));
    return r.ret < 0 ? -r.errno : r.ret;
  }
}

/** Size of an open file (lseek to the end). */
export function fileSize(fd: number): number {
  const r = syscall(NR.lseek, fd, 0, 2 /* SEEK_END */);
  if (r.ret < 0) throw new FileError(`fd ${fd}`, r.errno, "read");
  return r.ret;
}

export function closeFd(fd: number): void {
  syscall(NR.close, fd);
}

/** The whole file (kernel files report size 0 in stat, so this reads until the end). */
export function readFile(path: string, limit = 512 * 1024 * 1024): Uint8Array {
  const fd = openFile(path);
  try {
    const chunks: Uint8Array[] = [];
    let total = 0;
    let chunk = 64 * 1024;
    for (;;) {
      const buf = new Uint8Array(chunk);
      const n = readInto(fd, buf);
      if (n < 0) throw new FileError(path, -n, "read");
      if (n === 0) break;
      chunks.push(buf.subarray(0, n));
      total += n;
      if (total > limit) throw new FileError(path, 27 /* EFBIG */, "read");
      chunk = Math.min(chunk * 2, 8 * 1024 * 1024);
    }
    if (chunks.length === 1) return chunks[0]!;
    const out = new Uint8Array(total);
    let p = 0;
    for (const c of chunks) {
      out.set(c, p);
      p += c.length;
    }
    return out;
  } finally {
    closeFd(fd);
  }
}

export function readText(path: string): string {
  return new TextDecoder().decode(readFile(path));
}

/** The text of a file, or undefined when it cannot be read. */
export function tryReadText(path: string): string | undefined {
  try {
    return readText(path);
  } catch (e) {
    if (e instanceof FileError) return undefined;
    throw e;
  }
}

/** Reads `length` bytes at `offset` (e.g. from /proc/self/mem). */
export function readAt(path: string, offset: number, length: number): Uint8Array {
  const fd = openFile(path);
  try {
    const buf = new Uint8Array(length);
    const n = readInto(fd, buf, offset);
    if (n < 0) throw new FileError(path, -n, "read");
    return buf.subarray(0, n);
  } finally {
    closeFd(fd);
  }
}

export function exists(path: string): boolean {
  const p = cstringBytes(path);
  const arena = new Arena([p.length]);
  arena.put(arena.region(0), p);
  return syscall(NR.faccessat, AT_FDCWD, arena.base, 0 /* F_OK */, 0).ret === 0;
}

/** Appends `text` with one write(2) on an O_APPEND descriptor (never truncating). */
export function appendText(path: string, text: string): void {
  const fd = openFile(path, O_WRONLY | O_APPEND);
  try {
    const data = new TextEncoder().encode(text);
    const arena = new Arena([data.length]);
    arena.put(arena.region(0), data);
    const r = syscall(NR.write, fd, arena.base, data.length);
    if (r.ret < 0) throw new FileError(path, r.errno, "write");
  } finally {
    closeFd(fd);
  }
}

/** mkdir -p. */
export function makeDirs(path: string): void {
  let at = "";
  for (const part of path.split("/").filter(Boolean)) {
    at += `/${part}`;
    const p = cstringBytes(at);
    const arena = new Arena([p.length]);
    arena.put(arena.region(0), p);
    const r = syscall(NR.mkdirat, AT_FDCWD, arena.base, 0o755);
    if (r.ret < 0 && r.errno !== 17 /* EEXIST */) throw new FileError(at, r.errno, "mkdir");
  }
}

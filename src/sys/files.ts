// File access through our own syscall binding instead of node:fs: importing node:fs costs about
// 1.2 ms of start-up, a tenth of what a one-shot load may spend outside the kernel. The files we
// touch on that path are small kernel files (tracefs, /proc, sysfs) and the program itself.
import { BpfloadError, errnoName, errnoText, exitCodeForErrno, ERRNO } from "../errors.ts";
import { cstringBytes } from "./arena.ts";
import { Arena, syscallWith } from "./arena.ts";
import { NR } from "./arch.ts";
import { close } from "./fd.ts";
import { addressOf, syscall } from "./libc.ts";

const AT_FDCWD = -100;
const O_RDONLY = 0;
const O_WRONLY = 1;
const O_CREAT = 0o100;
const O_TRUNC = 0o1000;
const O_APPEND = 0o2000;
const O_NONBLOCK = 0o4000;
const O_CLOEXEC = 0o2000000;
const { EINTR, EAGAIN, EEXIST, EFBIG } = ERRNO;

export type FileOp = "open" | "read" | "write" | "mkdir" | "stat";

/**
 * A failed file operation, with the errno by name. Its exit code follows the one errno rule
 * (errors.ts): a wrong path is bad input (2), a refusal by the system (EMFILE, ENOSPC, EACCES) is 1.
 */
export class FileError extends BpfloadError {
  readonly kind = "file";
  readonly exitCode: 1 | 2;
  constructor(readonly path: string, override readonly errno: number, readonly op: FileOp = "open", override readonly hint?: string) {
    super(`${path}: ${op}: ${errnoText(errno)}${hint ? `: ${hint}` : ""}`);
    this.exitCode = exitCodeForErrno(errno);
  }
  override get errnoName(): string {
    return errnoName(this.errno);
  }
}

/** The user named something that is not a regular file (a device, a FIFO, a socket): bad input. */
export class NotRegularFileError extends BpfloadError {
  readonly kind = "input";
  readonly exitCode = 2;
  constructor(readonly path: string, readonly fileType: string) {
    super(`${path}: is a ${fileType}, not a regular file: give a file`);
  }
}

// struct stat: st_mode is at 24 on x86_64 and at 16 in the generic layout (arm64); st_size at 48 in both.
const STAT_SIZE = 144;
const ST_MODE = process.arch === "x64" ? 24 : 16;
const ST_SIZE = 48;
const S_IFMT = 0o170000;
const FILE_TYPES: Record<number, string> = {
  0o140000: "socket",
  0o120000: "symbolic link",
  0o100000: "regular file",
  0o060000: "block device",
  0o040000: "directory",
  0o020000: "character device",
  0o010000: "FIFO (named pipe)",
};

export interface FileStat {
  /** "regular file", "directory", "character device", ... */
  type: string;
  mode: number;
  size: number;
}

/** fstat(2) of an open descriptor. */
export function statFd(fd: number, path = `fd ${fd}`): FileStat {
  const arena = new Arena([STAT_SIZE]);
  const r = syscallWith(arena, NR.fstat, fd, arena.base);
  if (r.ret < 0) throw new FileError(path, r.errno, "stat");
  const mode = arena.view.getUint32(ST_MODE, true);
  return { type: FILE_TYPES[mode & S_IFMT] ?? "special file", mode, size: Number(arena.view.getBigInt64(ST_SIZE, true)) };
}

/** Largest input file bpfload reads (a program, an object, assembler source). */
export const INPUT_LIMIT = 256 * 1024 * 1024;

/**
 * A file the user named. Opened non-blocking (a FIFO would otherwise wait for a writer), then refused
 * unless it is a regular file (/dev/zero never ends) of at most `limit` bytes (EFBIG).
 */
export function readUserFile(path: string, limit = INPUT_LIMIT): Uint8Array {
  const fd = openFile(path, O_RDONLY | O_NONBLOCK);
  try {
    const st = statFd(fd, path);
    if (st.type !== "regular file") throw new NotRegularFileError(path, st.type);
    const tooBig = () => new FileError(path, EFBIG, "read", `larger than ${limit / (1024 * 1024)} MiB, bpfload's limit for an input file`);
    if (st.size > limit) throw tooBig();
    return readAll(fd, path, limit, tooBig);
  } finally {
    close(fd);
  }
}

export function openFile(path: string, flags = O_RDONLY): number {
  const p = cstringBytes(path);
  const arena = new Arena([p.length]);
  arena.put(arena.region(0), p);
  const r = syscallWith(arena, NR.openat, AT_FDCWD, arena.base, flags | O_CLOEXEC, 0o644);
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
    const r = offset === undefined ? syscallWith(arena, NR.read, fd, arena.base, buf.length) : syscallWith(arena, NR.pread64, fd, arena.base, buf.length, offset);
    if (r.ret < 0 && r.errno === EINTR) continue;
    if (r.ret > 0) buf.set(arena.bytes.subarray(0, r.ret));
    return r.ret < 0 ? -r.errno : r.ret;
  }
}

/**
 * read(2) straight into `buf`, which must be a view of an explicit `new ArrayBuffer` its owner
 * keeps (such buffers never move: arena.ts): no arena per call. For a reader that polls a pipe
 * thousands of times a second (trace_pipe), where readInto's fresh 64 KiB arena per call was most
 * of the cost. Returns the count, 0 at the end, or -errno.
 */
export function readIntoStable(fd: number, buf: Uint8Array): number {
  for (;;) {
    const r = syscallWith(buf, NR.read, fd, addressOf(buf), buf.length);
    if (r.ret < 0 && r.errno === EINTR) continue;
    return r.ret < 0 ? -r.errno : r.ret;
  }
}

/** Size of an open file (lseek to the end). */
export function fileSize(fd: number): number {
  const r = syscall(NR.lseek, fd, 0, 2 /* SEEK_END */);
  if (r.ret < 0) throw new FileError(`fd ${fd}`, r.errno, "read");
  return r.ret;
}

/** The whole file (kernel files report size 0 in stat, so this reads until the end). */
export function readFile(path: string, limit = 512 * 1024 * 1024): Uint8Array {
  const fd = openFile(path);
  try {
    return readAll(fd, path, limit, () => new FileError(path, EFBIG, "read"));
  } finally {
    close(fd);
  }
}

function readAll(fd: number, path: string, limit: number, tooBig: () => Error): Uint8Array {
  // Each read fills what is left of the current chunk (procfs gives a page per read: /proc/kallsyms
  // is ~2,000 reads; a fresh chunk and arena per read, up to 8 MiB each, made it take a second).
  const chunks: Uint8Array[] = [];
  let total = 0;
  let buf = new Uint8Array(new ArrayBuffer(64 * 1024)); // a stable buffer: read straight into it
  let used = 0;
  for (;;) {
    if (used === buf.length) {
      chunks.push(buf);
      buf = new Uint8Array(new ArrayBuffer(Math.min(buf.length * 2, 8 * 1024 * 1024)));
      used = 0;
    }
    const n = readIntoStable(fd, buf.subarray(used));
    if (n < 0) throw new FileError(path, -n, "read");
    if (n === 0) break;
    used += n;
    total += n;
    if (total > limit) throw tooBig();
  }
  if (used > 0 || !chunks.length) chunks.push(buf.subarray(0, used));
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(total);
  let p = 0;
  for (const c of chunks) {
    out.set(c, p);
    p += c.length;
  }
  return out;
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
    close(fd);
  }
}

export function exists(path: string): boolean {
  const p = cstringBytes(path);
  const arena = new Arena([p.length]);
  arena.put(arena.region(0), p);
  return syscallWith(arena, NR.faccessat, AT_FDCWD, arena.base, 0 /* F_OK */, 0).ret === 0;
}

/** Appends `text` with one write(2) on an O_APPEND descriptor (never truncating). */
export function appendText(path: string, text: string): void {
  const fd = openFile(path, O_WRONLY | O_APPEND);
  try {
    const data = new TextEncoder().encode(text);
    const arena = new Arena([data.length]);
    arena.put(arena.region(0), data);
    const r = syscallWith(arena, NR.write, fd, arena.base, data.length);
    if (r.ret < 0) throw new FileError(path, r.errno, "write");
  } finally {
    close(fd);
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
    const r = syscallWith(arena, NR.mkdirat, AT_FDCWD, arena.base, 0o755);
    if (r.ret < 0 && r.errno !== EEXIST) throw new FileError(at, r.errno, "mkdir");
  }
}

const POLLOUT = 4;

/** Waits (without spinning) until `fd` can take more bytes: ppoll(2) for POLLOUT, no timeout. */
function waitWritable(fd: number): number {
  const arena = new Arena([8]);
  arena.view.setInt32(0, fd, true);
  arena.view.setInt16(4, POLLOUT, true);
  const r = syscallWith(arena, NR.ppoll, arena.base, 1, 0, 0, 8);
  return r.ret < 0 && r.errno !== EINTR ? r.errno : 0;
}

/**
 * Writes all of `bytes` to `fd`, or throws a FileError: short writes are continued, EINTR retried,
 * and EAGAIN (a non-blocking pipe that is full — Bun makes stdout one) waits for the reader.
 */
export function writeAll(fd: number, bytes: Uint8Array, path = `fd ${fd}`): void {
  let done = 0;
  while (done < bytes.length) {
    const r = syscallWith(bytes, NR.write, fd, addressOf(bytes, done), bytes.length - done);
    if (r.ret >= 0) {
      done += r.ret;
      continue;
    }
    if (r.errno === EINTR) continue;
    if (r.errno === EAGAIN) {
      const e = waitWritable(fd);
      if (e) throw new FileError(path, e, "write");
      continue;
    }
    throw new FileError(path, r.errno, "write");
  }
}

/**
 * Creates or truncates `path` and writes `bytes` into it, completely or with a FileError. Opened
 * non-blocking so a FIFO nobody reads is ENXIO at once instead of a wait forever.
 */
export function writeFile(path: string, bytes: Uint8Array): void {
  const fd = openFile(path, O_WRONLY | O_CREAT | O_TRUNC | O_NONBLOCK);
  try {
    if (bytes.length) writeAll(fd, bytes, path);
  } finally {
    close(fd);
  }
}

const F_SETPIPE_SZ = 1031;
const F_GETPIPE_SZ = 1032;

/**
 * Grows the pipe behind `fd` to `size` bytes when it is a pipe (fewer waits for the reader of a big
 * listing); silently nothing otherwise, or beyond /proc/sys/fs/pipe-max-size for an unprivileged user.
 */
export function growPipe(fd: number, size: number): void {
  const now = syscall(NR.fcntl, fd, F_GETPIPE_SZ).ret;
  if (now > 0 && now < size) syscall(NR.fcntl, fd, F_SETPIPE_SZ, size);
}

/**
 * The `size` bytes of an open file (its size from fstat) read straight into one buffer, and an
 * EFBIG FileError if it holds more. For sysfs files that give at most a page per read(2)
 * (/sys/kernel/btf/vmlinux: 5.5 MB in ~1,350 reads): no buffer per read and no copy, ~2 ms where
 * a 64 KiB bounce buffer per read cost ~30 ms.
 */
export function readSized(fd: number, size: number, path: string): Uint8Array {
  const out = new Uint8Array(new ArrayBuffer(size)); // explicit buffer: never moves (arena.ts)
  const base = addressOf(out);
  let at = 0;
  while (at < size) {
    const r = syscallWith(out, NR.read, fd, base + at, size - at);
    if (r.ret < 0 && r.errno === EINTR) continue;
    if (r.ret < 0) throw new FileError(path, r.errno, "read");
    if (r.ret === 0) return out.subarray(0, at);
    at += r.ret;
  }
  const more = new Uint8Array(1);
  if (readInto(fd, more) > 0) throw new FileError(path, EFBIG, "read"); // grew while read
  return out;
}

const TCGETS = 0x5401; // the same on x86_64 and arm64
/**
 * isatty(3): the TCGETS ioctl succeeds only on a terminal. Asked instead of process.stderr.isTTY,
 * which builds Bun's whole Node stream for the fd (3-10 ms of every command's start, measured).
 */
export function isTerminal(fd: number): boolean {
  const arena = new Arena([64]); // struct termios (60 bytes)
  return syscallWith(arena, NR.ioctl, fd, TCGETS, arena.base).ret === 0;
}

// Path calls that must not follow links or must say which filesystem a file is on: openat2 with
// RESOLVE_NO_SYMLINKS (5.6+), openat relative to a directory fd with O_NOFOLLOW, mkdirat/unlinkat
// relative to a parent fd, fstatfs/statfs, readlinkat. Thin wrappers: each returns ret/errno.
import { cstringBytes, Arena, syscallWith } from "./arena.ts";
import type { SysResult } from "./libc.ts";
import { ERRNO } from "../errors.ts";

const NUMBERS = {
  x64: { openat: 257, openat2: 437, mkdirat: 258, unlinkat: 263, fstatfs: 138, statfs: 137, readlinkat: 267 },
  arm64: { openat: 56, openat2: 437, mkdirat: 34, unlinkat: 35, fstatfs: 44, statfs: 43, readlinkat: 78 },
} as const;
const NR = process.arch === "arm64" ? NUMBERS.arm64 : NUMBERS.x64;

// O_DIRECTORY and O_NOFOLLOW differ on arm64 (arch/arm64/include/uapi/asm/fcntl.h).
const O_DIRECTORY = process.arch === "arm64" ? 0o40000 : 0o200000;
const O_NOFOLLOW = process.arch === "arm64" ? 0o100000 : 0o400000;
const O_RDONLY = 0;
const O_NONBLOCK = 0o4000;
const O_CLOEXEC = 0o2000000;
const AT_FDCWD = -100;
const AT_REMOVEDIR = 0x200;
const RESOLVE_NO_SYMLINKS = 0x04;
const { EINTR } = ERRNO;

/** f_type of a BPF filesystem (include/uapi/linux/magic.h). */
export const BPF_FS_MAGIC = 0xcafe4a11;

function withPath<T>(path: string, extra: number, call: (arena: Arena) => T): T {
  const p = cstringBytes(path);
  const arena = new Arena([p.length, extra]);
  arena.put(arena.region(0), p);
  return call(arena);
}

/**
 * Opens the directory `path` (absolute) without following any symbolic link on the way, through
 * openat2(RESOLVE_NO_SYMLINKS). errno ENOSYS (before 5.6) or E2BIG: the caller walks instead.
 */
export function openDirNoSymlinks(path: string): SysResult {
  return withPath(path, 24, (a) => {
    const how = a.region(1);
    a.view.setBigUint64(how.offset, BigInt(O_RDONLY | O_DIRECTORY | O_CLOEXEC), true);
    a.view.setBigUint64(how.offset + 8, 0n, true);
    a.view.setBigUint64(how.offset + 16, BigInt(RESOLVE_NO_SYMLINKS), true);
    return syscallWith(a, NR.openat2, AT_FDCWD, a.base, a.base + how.offset, 24);
  });
}

/** Opens directory `name` inside the directory `dirFd`, refusing a symbolic link (ELOOP/ENOTDIR). */
export function openDirAt(dirFd: number, name: string): SysResult {
  return withPath(name, 0, (a) => syscallWith(a, NR.openat, dirFd, a.base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC, 0));
}

/** Opens `path` read-only without blocking (a FIFO opens at once instead of waiting for a writer). */
export function openNonblockingNoFollow(path: string, follow = true): SysResult {
  return withPath(path, 0, (a) => syscallWith(a, NR.openat, AT_FDCWD, a.base, O_RDONLY | O_NONBLOCK | O_CLOEXEC | (follow ? 0 : O_NOFOLLOW), 0));
}

export function mkdirAt(dirFd: number, name: string, mode = 0o755): SysResult {
  return withPath(name, 0, (a) => syscallWith(a, NR.mkdirat, dirFd, a.base, mode));
}

/** Removes `name` in `dirFd`: a directory with `dir`, else a file (a pinned object). */
export function unlinkAt(dirFd: number, name: string, dir: boolean): SysResult {
  return withPath(name, 0, (a) => syscallWith(a, NR.unlinkat, dirFd, a.base, dir ? AT_REMOVEDIR : 0));
}

/** f_type of the filesystem `fd` is on (struct statfs starts with a long f_type on 64-bit). */
export function fstatfsType(fd: number): SysResult & { type: number } {
  const arena = new Arena([128]);
  const r = syscallWith(arena, NR.fstatfs, fd, arena.base);
  return { ...r, type: r.ret < 0 ? 0 : Number(arena.view.getBigUint64(0, true) & 0xffffffffn) };
}


/** f_type of the filesystem `path` is on (follows links: it answers "where would this open go"). */
export function statfsType(path: string): SysResult & { type: number } {
  return withPath(path, 128, (a) => {
    const buf = a.region(1);
    const r = syscallWith(a, NR.statfs, a.base, a.base + buf.offset);
    return { ...r, type: r.ret < 0 ? 0 : Number(a.view.getBigUint64(buf.offset, true) & 0xffffffffn) };
  });
}

/** The target of a symbolic link (e.g. /proc/self/ns/pid, /proc/PID/fd/N), or undefined. */
export function readLink(path: string): string | undefined {
  return withPath(path, 4096, (a) => {
    const buf = a.region(1);
    for (;;) {
      const r = syscallWith(a, NR.readlinkat, AT_FDCWD, a.base, a.base + buf.offset, 4096);
      if (r.ret < 0 && r.errno === EINTR) continue;
      if (r.ret < 0) return undefined;
      return new TextDecoder().decode(a.bytes.subarray(buf.offset, buf.offset + r.ret));
    }
  });
}

/** The entries of a directory (for scans of /proc on error paths only: node:fs loads lazily). */
export function listDir(path: string): string[] {
  try {
    const fs = require("node:fs") as typeof import("node:fs");
    return fs.readdirSync(path);
  } catch {
    return [];
  }
}

// readSized: a file of known size read straight into one buffer (sysfs BTF gives a page per read).
// Oracle: node:fs's readFileSync of the same file.
import { expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { FileError, openFile, readSized, statFd } from "../../src/sys/files.ts";
import { close } from "../../src/sys/fd.ts";

function readWith(path: string, size?: number): Uint8Array {
  const fd = openFile(path);
  try {
    return readSized(fd, size ?? statFd(fd, path).size, path);
  } finally {
    close(fd);
  }
}

test.skipIf(!existsSync("/sys/kernel/btf/vmlinux"))("/sys/kernel/btf/vmlinux (a page per read): every byte, as readFileSync gives them", () => {
  const ours = readWith("/sys/kernel/btf/vmlinux");
  const theirs = new Uint8Array(readFileSync("/sys/kernel/btf/vmlinux"));
  expect(ours.length).toBe(theirs.length);
  expect(Buffer.compare(Buffer.from(ours), Buffer.from(theirs))).toBe(0);
});

test("a regular file; a size smaller than the file is EFBIG; a larger one gives what is there", () => {
  const path = import.meta.path;
  const theirs = new Uint8Array(readFileSync(path));
  expect(Buffer.compare(Buffer.from(readWith(path)), Buffer.from(theirs))).toBe(0);
  expect(() => readWith(path, 10)).toThrow(FileError);
  expect(() => readWith(path, 10)).toThrow(/EFBIG/);
  expect(readWith(path, theirs.length + 100).length).toBe(theirs.length);
});

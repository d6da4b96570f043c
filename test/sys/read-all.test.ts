// readFile of a file the kernel gives a page per read(2) (/proc/kallsyms: ~2,000 reads of 4 KiB):
// each read fills what is left of the current buffer. Before, every read got a fresh buffer and a
// bounce arena of the next chunk size (up to 8 MiB each): an externs.o load took 1.2 s, of which
// reading kallsyms ~1.1 s. Oracle: node's readFileSync / the bytes the writer sent. (The time is
// measured by test/bench, not asserted here: no timed assertions in tests.)
import { expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { readFile } from "../../src/sys/files.ts";

test("a FIFO fed in 4 KiB writes (4 MiB) reads back whole, across the growing chunks", async () => {
  const dir = mkdtempSync(`${tmpdir()}/bpfload-readall-`);
  try {
    const fifo = `${dir}/fifo`;
    Bun.spawnSync(["mkfifo", fifo]);
    const pieces = 1024;
    // each piece: 4096 bytes of its own number, written one by one (a reader sees page-sized reads)
    const writer = Bun.spawn(["python3", "-c", `import os\nfd=os.open("${fifo}",os.O_WRONLY)\nfor i in range(${pieces}): os.write(fd, bytes([i % 251]) * 4096)\nos.close(fd)`]);
    const got = readFile(fifo);
    await writer.exited;
    expect(got.length).toBe(pieces * 4096);
    for (let i = 0; i < pieces; i++) expect(got[i * 4096]! === i % 251 && got[i * 4096 + 4095]! === i % 251).toBe(true);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("/proc/kallsyms (a page per read) reads as readFileSync reads it", () => {
  const theirs = readFileSync("/proc/kallsyms", "utf8");
  const ours = new TextDecoder().decode(readFile("/proc/kallsyms"));
  // BPF programs others load in between add and remove [bpf] lines: compare the rest
  const stable = (text: string) => text.split("\n").filter((l) => !l.endsWith("[bpf]"));
  expect(stable(ours)).toEqual(stable(theirs));
});

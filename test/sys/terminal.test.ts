// isTerminal (TCGETS), which the CLI asks instead of process.stderr.isTTY (that getter builds
// Node's stream machinery, the largest cost of a short run's start-up). Oracle: Node's own isatty.
import { expect, test } from "bun:test";
import { closeSync, openSync } from "node:fs";
import { isatty } from "node:tty";
import { isTerminal } from "../../src/sys/files.ts";

test("a pseudo-terminal is one, a regular file and /dev/null are not; as node:tty's isatty says", () => {
  const fds = [openSync("/dev/ptmx", "r+"), openSync("/dev/null", "r"), openSync(import.meta.path, "r")];
  try {
    expect(fds.map(isTerminal)).toEqual([true, false, false]);
    expect(fds.map(isTerminal)).toEqual(fds.map((fd) => isatty(fd)));
  } finally {
    fds.forEach((fd) => closeSync(fd));
  }
});

test("a closed fd is not one", () => {
  const fd = openSync("/dev/null", "r");
  closeSync(fd);
  expect(isTerminal(fd)).toBe(false);
});

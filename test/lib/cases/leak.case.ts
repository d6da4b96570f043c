// Run by test/lib/kernel-test.test.ts in a subprocess: tests that leak on purpose, and one that does not.
import { afterAll } from "bun:test";
import { rmSync, mkdirSync } from "node:fs";
import { createMap, loadProgram, attach, assemble } from "../../../src/index.ts";
import { kernelTest } from "../../../src/test.ts";

const kept: unknown[] = []; // held, so the GC net cannot close them first

kernelTest("leaks a map fd", {}, () => {
  kept.push(createMap({ name: "leaky", type: "array", keySize: 4, valueSize: 4, maxEntries: 1 }));
});
const dir = `/sys/fs/bpf/bpfload-leakcase-${process.pid}`;
afterAll(() => rmSync(dir, { recursive: true, force: true })); // (bun test runs no 'exit' listeners)

kernelTest("leaks a pin", {}, () => {
  mkdirSync(dir, { recursive: true });
  using m = createMap({ type: "array", keySize: 4, valueSize: 4, maxEntries: 1 });
  m.pin(`${dir}/left`);
});
kernelTest("leaks a probe event", {}, () => {
  const prog = loadProgram({ name: "up", type: "kprobe", insns: assemble("r0 = 0\nexit") });
  kept.push(prog, attach(prog, `uprobe:${process.execPath}:0x1000`, { probeApi: "tracefs" }));
});
kernelTest("cleans up", {}, () => {
  using m = createMap({ type: "array", keySize: 4, valueSize: 4, maxEntries: 1 });
  m.set(0, 1);
});

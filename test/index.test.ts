// The package entry as a library user sees it (the CI containers run `bun test` against it).
import { describe, expect, test } from "bun:test";
import * as bpfload from "../src/index.ts";
import { canUseKernel, SEED } from "./support.ts";

test("exports the public API", () => {
  for (const name of ["loadProgram", "attach", "parseAttachSpec", "readObject", "loadCollection", "disassemble", "assemble", "watch", "probeKernel", "openPinnedMap", "VerifierError", "ObjectError"]) {
    expect(typeof (bpfload as Record<string, unknown>)[name]).toBe("function");
  }
});

test("pure parts work without privileges", () => {
  expect(bpfload.disassemble(SEED, { syntax: "kernel" })).toContain("call bpf_trace_printk#6");
  expect(bpfload.assemble(bpfload.disassemble(SEED))).toEqual(SEED);
  expect(bpfload.parseAttachSpec("kprobe:sys_clone")).toEqual({ kind: "kprobe", func: "sys_clone", offset: 0 });
});

describe.skipIf(!canUseKernel)("as a library on the running kernel", () => {
  test("load, attach, read a line, detach", async () => {
    const prog = bpfload.loadProgram({ name: "lib", type: "tracepoint", insns: SEED });
    const link = bpfload.attach(prog, bpfload.parseAttachSpec("tracepoint:syscalls:sys_enter_clone"));
    const trigger = setInterval(() => Bun.spawn(["/bin/sh", "-c", "true & wait"]), 100);
    try {
      const seen: string[] = [];
      const r = await bpfload.watch({ duration: 5, count: 1, onLine: (_raw, line) => line && seen.push(line.message) });
      expect(r.reason).toBe("count");
      expect(seen).toEqual(["Hello World!"]);
    } finally {
      clearInterval(trigger);
      link.close();
      prog.close();
    }
  });
});

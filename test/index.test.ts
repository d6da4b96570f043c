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
      // trace_pipe is the machine's: other programs' lines may come first, so stop at our first one
      const seen: string[] = [];
      const ours = new AbortController();
      const r = await bpfload.watch({
        duration: 5,
        abort: ours.signal,
        onLine: (_raw, line) => {
          if (line?.message !== "Hello World!") return;
          seen.push(line.message);
          ours.abort();
        },
      });
      expect(r.reason).toBe("aborted");
      expect(seen).toEqual(["Hello World!"]);
    } finally {
      clearInterval(trigger);
      link.close();
      prog.close();
    }
  });
});

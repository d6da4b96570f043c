import { describe, expect, test } from "bun:test";
import { formatAttachSpec, parseAttachSpec, probeEventName, probeEventOwner, progTypeFor } from "../src/attach-spec.ts";
import { InvalidArgumentError } from "../src/errors.ts";
import { candidateSymbols } from "../src/kernel/attach/kprobe.ts";
import { kernelVersionCode } from "../src/uapi.ts";

describe("attach spec parsing", () => {
  test("kprobes with and without offset", () => {
    expect(parseAttachSpec("kprobe:sys_clone")).toEqual({ kind: "kprobe", func: "sys_clone", offset: 0 });
    expect(parseAttachSpec("kprobe:do_sys_open+0x10")).toEqual({ kind: "kprobe", func: "do_sys_open", offset: 16 });
    expect(parseAttachSpec("kprobe:tcp_v4_rcv+4")).toEqual({ kind: "kprobe", func: "tcp_v4_rcv", offset: 4 });
    expect(parseAttachSpec("kprobe:foo.isra.0")).toEqual({ kind: "kprobe", func: "foo.isra.0", offset: 0 });
    expect(parseAttachSpec("kretprobe:kernel_clone")).toEqual({ kind: "kretprobe", func: "kernel_clone" });
  });
  test("tracepoints, with : or /", () => {
    expect(parseAttachSpec("tracepoint:syscalls:sys_enter_clone")).toEqual({ kind: "tracepoint", category: "syscalls", name: "sys_enter_clone" });
    expect(parseAttachSpec("tp:sched/sched_switch")).toEqual({ kind: "tracepoint", category: "sched", name: "sched_switch" });
  });
  test("uprobes by symbol, symbol+offset and raw file offset; raw tracepoints, perf events, sockets", () => {
    expect(parseAttachSpec("uprobe:/bin/bash:readline")).toEqual({ kind: "uprobe", path: "/bin/bash", symbol: "readline", offset: 0 });
    expect(parseAttachSpec("uprobe:/lib/libc.so.6:malloc+4")).toEqual({ kind: "uprobe", path: "/lib/libc.so.6", symbol: "malloc", offset: 4 });
    expect(parseAttachSpec("uprobe:/bin/busybox:0x1f00")).toEqual({ kind: "uprobe", path: "/bin/busybox", offset: 0x1f00 });
    expect(parseAttachSpec("uretprobe:/bin/bash:readline")).toMatchObject({ kind: "uretprobe", symbol: "readline" });
    expect(parseAttachSpec("raw_tp:sched_switch")).toEqual({ kind: "raw_tracepoint", name: "sched_switch" });
    expect(parseAttachSpec("perf_event")).toEqual({ kind: "perf_event", event: "cpu-clock" });
    expect(parseAttachSpec("socket")).toEqual({ kind: "socket", iface: "lo" });
    expect(parseAttachSpec("socket:eth0")).toEqual({ kind: "socket", iface: "eth0" });
    for (const bad of ["uprobe:bash:readline", "uprobe:/bin/bash", "uprobe:/bin/bash:", "uretprobe:/bin/bash:f+4", "perf_event:cycles", "raw_tracepoint:", "socket:a b"]) {
      expect(() => parseAttachSpec(bad)).toThrow(InvalidArgumentError);
    }
    expect(progTypeFor(parseAttachSpec("uprobe:/bin/sh:0"))).toBe("kprobe");
    expect(progTypeFor(parseAttachSpec("socket:lo"))).toBe("socket_filter");
    expect(progTypeFor(parseAttachSpec("raw_tp:x"))).toBe("raw_tracepoint");
  });

  test("round trip through formatAttachSpec", () => {
    for (const s of ["kprobe:sys_clone", "kprobe:f+16", "kretprobe:f", "tracepoint:a:b", "raw_tracepoint:x", "uprobe:/bin/sh:main+4", "uprobe:/bin/sh:0x10", "socket:lo", "perf_event:cpu-clock"]) expect(formatAttachSpec(parseAttachSpec(s))).toBe(s);
  });
  test("bad specs are usage errors that show the syntax", () => {
    for (const bad of ["", "kprobe", "kprobe:", "kprobe:1abc", "kprobe:f+zz", "kretprobe:f+4", "tracepoint:onlyone", "tracepoint:a:b:c", "uprobe", "kprobe:f;rm"]) {
      expect(() => parseAttachSpec(bad)).toThrow(InvalidArgumentError);
    }
    expect(() => parseAttachSpec("bogus:x")).toThrow("expected kprobe:FUNC[+OFFSET], kretprobe:FUNC, tracepoint:CATEGORY:NAME");
  });
  test("offsets are exact and within the kernel's ranges: nothing wraps", () => {
    // u32 for a kprobe offset (struct kprobe's offset is an unsigned int)
    expect(parseAttachSpec("kprobe:f+0xffffffff")).toEqual({ kind: "kprobe", func: "f", offset: 0xffffffff });
    expect(() => parseAttachSpec("kprobe:f+0x100000000")).toThrow(/out of range: a kprobe offset \(u32\) is 0\.\.0xffffffff/);
    // file offsets: exact up to 2^53-1, refused beyond (Number() made 2^64 offset 0)
    expect(parseAttachSpec("uprobe:/usr/bin/bash:9007199254740991")).toEqual({ kind: "uprobe", path: "/usr/bin/bash", offset: Number.MAX_SAFE_INTEGER });
    for (const bad of ["uprobe:/usr/bin/bash:0x10000000000000000", "uprobe:/usr/bin/bash:9007199254740993", "uprobe:/usr/bin/bash:main+0x10000000000000000", "uprobe:/bin/sh:main+18446744073709551617"]) {
      let err: unknown;
      try {
        parseAttachSpec(bad);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(InvalidArgumentError);
      expect((err as InvalidArgumentError).exitCode).toBe(2);
      expect((err as Error).message).toMatch(/out of range: (a file offset|an offset from a symbol) is 0\.\.9007199254740991/);
    }
  });
  test("errors quote the spec cut short, control characters escaped", () => {
    let msg = "";
    try {
      parseAttachSpec(`bogus\u0000\n:${"x".repeat(100_000)}`);
    } catch (e) {
      msg = (e as Error).message;
    }
    expect(msg).toContain("'bogus\\x00\\n:");
    expect(msg).not.toContain("\u0000");
    expect(msg).not.toContain("\n");
    expect(msg.length).toBeLessThan(700); // the syntax list (ATTACH_SYNTAX) is most of it
  });
  test("program type follows the attach kind", () => {
    expect(progTypeFor(parseAttachSpec("kretprobe:f"))).toBe("kprobe");
    expect(progTypeFor(parseAttachSpec("tracepoint:a:b"))).toBe("tracepoint");
  });
});

describe("probe event names", () => {
  const me = { pid: 1234, start: 30606, pidns: 4026531836 };
  test("carry pid, start time and PID namespace, are unique per sequence, valid for tracefs and at most 63 chars", () => {
    const a = probeEventName(me, 0, "sys_clone");
    const b = probeEventName(me, 1, "sys_clone");
    expect(a).toBe(`bpfload2_${(1234).toString(36)}_${(30606).toString(36)}_${(4026531836).toString(36)}_0_sys_clone`);
    expect(a).not.toBe(b);
    const long = probeEventName({ pid: 4194304, start: 2 ** 40, pidns: 2 ** 32 - 1 }, 99, `${"x".repeat(100)}.isra.0`);
    expect(long.length).toBeLessThanOrEqual(63);
    expect(long).toMatch(/^[A-Za-z_][A-Za-z0-9_]*$/);
    expect(probeEventOwner(long)).toEqual({ pid: 4194304, start: 2 ** 40, pidns: 2 ** 32 - 1 });
    expect(probeEventName(me, 0, "foo.cold").endsWith("_0_foo_cold")).toBe(true);
  });
  test("the owner is read back; old names carry the pid only; other tools' events are not ours", () => {
    expect(probeEventOwner(probeEventName(me, 7, "sys_clone"))).toEqual(me);
    expect(probeEventOwner("bpfload_1234_7_sys_clone")).toEqual({ pid: 1234 });
    expect(probeEventOwner("sys_clone")).toBeUndefined();
    expect(probeEventOwner("p_bpfload_1")).toBeUndefined();
  });
});

describe("syscall names for kprobes", () => {
  const k = (a: number, b: number) => kernelVersionCode(a, b, 0);
  test("x86_64 4.17+ tries __x64_sys_ first", () => {
    expect(candidateSymbols("sys_clone", "x64", k(6, 1))[0]).toBe("__x64_sys_clone");
  });
  test("4.9 keeps sys_clone first (SyS_clone is an alias)", () => {
    expect(candidateSymbols("sys_clone", "x64", k(4, 9))).toEqual(["sys_clone", "SyS_clone", "__x64_sys_clone"]);
  });
  test("arm64 4.19+ uses __arm64_sys_", () => {
    expect(candidateSymbols("SyS_clone", "arm64", k(5, 10))).toEqual(["__arm64_sys_clone", "SyS_clone", "sys_clone"]);
    expect(candidateSymbols("sys_clone", "arm64", k(4, 18))[0]).toBe("sys_clone");
  });
  test("other functions are taken as written", () => {
    expect(candidateSymbols("kernel_clone", "x64", k(6, 1))).toEqual(["kernel_clone"]);
  });
});

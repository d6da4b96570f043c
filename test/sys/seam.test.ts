// The rules around the kernel, unit-tested without root through the one syscall seam
// (test/sys/fake.ts): retries (EINTR, EAGAIN, short writes), the verifier-log growth on ENOSPC and
// its cap, errno → error class and hint, cleanup order, and the per-CPU value buffer. Each test
// checks what the fake saw (commands, attr fields, order), not only the result.
import { afterEach, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import { ERRNO, NotSupportedError, SyscallError, VerifierError, errnoName } from "../../src/errors.ts";
import { setFeatureAnswer } from "../../src/kernel/features/probes.ts";
import { attachToTraceEvent } from "../../src/kernel/attach/perf-link.ts";
import { kernelVersion, loadProgram, Program, resetLoadFeatures } from "../../src/kernel/program.ts";
import { onCleanup, runCleanup } from "../../src/kernel/cleanup.ts";
import { bpfMapLookupElem, bpfMapUpdateElem, mapValueBytes } from "../../src/sys/bpf.ts";
import { FileError, openFile, readInto, writeAll } from "../../src/sys/files.ts";
import { BPF_MAP_ELEM_ATTR, BPF_PROG_LOAD_ATTR, PERF_EVENT_ATTR, field } from "../../src/sys/layout.ts";
import { MapElemCalls } from "../../src/sys/map-elem.ts";
import { netlinkReceive, netlinkSend } from "../../src/sys/netlink.ts";
import { readLink } from "../../src/sys/paths.ts";
import { FdPoller } from "../../src/sys/poll.ts";
import { memoryAt } from "../../src/sys/libc.ts";
import { MAP_TYPES, BPF_MAP_LOOKUP_ELEM, BPF_MAP_UPDATE_ELEM, BPF_PROG_LOAD, PERF_EVENT_IOC_DISABLE, PERF_EVENT_IOC_ENABLE, PERF_EVENT_IOC_SET_BPF } from "../../src/uapi.ts";
import { FakeKernel, attrField, cstringAt, setAttrU32, writeCString } from "./fake.ts";
import { readFileSync } from "node:fs";

const { EINTR, EAGAIN, EACCES, EBADF, EMFILE, ENOSPC, EPERM, EINVAL, ENOENT } = ERRNO;

describe("retries in sys/", () => {
  test("read: EINTR is retried, the data lands in the caller's buffer", () => {
    let n = 0;
    using kernel = new FakeKernel((c) => {
      if (c.name !== "read") return;
      if (n++ < 2) return { errno: EINTR };
      memoryAt(c.args[1], 3).set([7, 8, 9]);
      return 3;
    });
    const buf = new Uint8Array(16);
    expect(readInto(5, buf)).toBe(3);
    expect([...buf.subarray(0, 3)]).toEqual([7, 8, 9]);
    expect(kernel.named("read").map((c) => c.args[0])).toEqual([5, 5, 5]);
  });

  test("read: any other errno comes back as -errno, once", () => {
    using kernel = new FakeKernel((c) => (c.name === "read" ? { errno: EAGAIN } : undefined));
    expect(readInto(5, new Uint8Array(8))).toBe(-EAGAIN);
    expect(kernel.named("read")).toHaveLength(1);
  });

  test("write: a short write continues where it stopped, EINTR retries, EAGAIN waits for POLLOUT", () => {
    const written: number[] = [];
    const answers: ({ errno: number } | number)[] = [4, { errno: EINTR }, { errno: EAGAIN }, 100];
    using kernel = new FakeKernel((c) => {
      if (c.name === "ppoll") {
        const pollfd = new DataView(memoryAt(c.args[0], 8).slice().buffer);
        expect(pollfd.getInt32(0, true)).toBe(9);
        expect(pollfd.getInt16(4, true)).toBe(4); // POLLOUT
        return 1;
      }
      if (c.name !== "write") return;
      const a = answers.shift()!;
      if (typeof a === "number") {
        const n = Math.min(a, c.args[2]);
        written.push(...memoryAt(c.args[1], n));
        return n;
      }
      return a;
    });
    const data = new TextEncoder().encode("hello, seam!");
    writeAll(9, data);
    expect(new TextDecoder().decode(new Uint8Array(written))).toBe("hello, seam!");
    expect(kernel.calls.map((c) => c.name)).toEqual(["write", "write", "write", "ppoll", "write"]);
  });

  test("write: EAGAIN and a poll that fails is a FileError with the poll's errno, not a spin", () => {
    using kernel = new FakeKernel((c) => (c.name === "write" ? { errno: EAGAIN } : c.name === "ppoll" ? { errno: EBADF } : undefined));
    let err: unknown;
    try {
      writeAll(9, new Uint8Array(new ArrayBuffer(4)), "out");
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(FileError);
    expect((err as FileError).errnoName).toBe("EBADF");
    expect(kernel.calls.map((c) => c.name)).toEqual(["write", "ppoll"]);
  });

  test("netlink send and receive retry EINTR; readlink too", () => {
    let eintr = 0;
    using kernel = new FakeKernel((c) => {
      if (eintr++ % 2 === 0) return { errno: EINTR };
      if (c.name === "write") return c.args[2];
      if (c.name === "read") {
        memoryAt(c.args[1], 2).set([1, 2]);
        return 2;
      }
      if (c.name === "readlinkat") {
        memoryAt(c.args[2], 4).set(new TextEncoder().encode("pid:"));
        return 4;
      }
    });
    expect(netlinkSend(3, new Uint8Array([1, 2, 3])).ret).toBe(3);
    expect([...netlinkReceive(3, 64).data]).toEqual([1, 2]);
    expect(readLink("/proc/self/ns/pid")).toBe("pid:");
    expect(kernel.calls.map((c) => c.name)).toEqual(["write", "write", "read", "read", "readlinkat", "readlinkat"]);
  });

  test("poll: EINTR is a wake-up (0), other errnos are -errno", () => {
    const poller = new FdPoller([4, 5]);
    {
      using kernel = new FakeKernel(() => ({ errno: EINTR }));
      expect(poller.wait(10)).toBe(0);
      expect(kernel.calls[0]!.args[1]).toBe(2); // both fds
    }
    {
      using _k = new FakeKernel(() => ({ errno: EINVAL }));
      expect(poller.wait(10)).toBe(-EINVAL);
    }
  });
});

describe("errno → error class, exit code and hint", () => {
  test("a missing file is a FileError that exits 2 and names ENOENT; a refusal exits 1", () => {
    for (const [errno, exit] of [
      [ENOENT, 2],
      [EACCES, 1],
      [EMFILE, 1],
    ] as const) {
      let path = "";
      using _k = new FakeKernel((c) => {
        path = cstringAt(c.args[1]);
        return { errno };
      });
      let err: FileError | undefined;
      try {
        openFile("/some/where");
      } catch (e) {
        err = e as FileError;
      }
      expect(err).toBeInstanceOf(FileError);
      expect(err!.errnoName).toBe(errnoName(errno));
      expect(err!.exitCode).toBe(exit);
      expect(err!.message).toContain(errnoName(errno));
      expect(path).toBe("/some/where"); // the path reached openat
    }
  });
});

// loadProgram on a fake kernel: the features it probes are answered up front, the kernel version
// detected before the fake goes in (it reads /proc through the same seam).
const INSNS = new Uint8Array([0xb7, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0]);
const FAKE_FD = 1 << 20;
const loads = (k: FakeKernel) => k.named("bpf", BPF_PROG_LOAD);
const logSize = (c: Parameters<typeof attrField>[0]) => attrField(c, BPF_PROG_LOAD_ATTR, "log_size");

/** Writes `log` into the load's log buffer, if it asked for one, as the verifier does. */
function writeLog(c: Parameters<typeof attrField>[0], log: string): void {
  const size = logSize(c);
  if (size) writeCString(attrField(c, BPF_PROG_LOAD_ATTR, "log_buf"), size, log);
}

describe("BPF_PROG_LOAD: retries and the verifier log", () => {
  beforeAll(() => kernelVersion());
  beforeEach(() => {
    resetLoadFeatures();
    setFeatureAnswer("programNames", true);
    setFeatureAnswer("logTrueSize", false);
    setFeatureAnswer("bigVerifierLog", false);
  });
  afterEach(() => resetLoadFeatures());

  test("the fast path loads without a log; a refusal loads once more with a 256 KiB log and becomes a VerifierError", () => {
    using kernel = new FakeKernel((c) => {
      if (c.cmd !== BPF_PROG_LOAD) return;
      writeLog(c, "0: (b7) r0 = 0\nR0 !read_ok\nprocessed 2 insns (limit 1000000)\n");
      return { errno: EACCES };
    });
    let err: unknown;
    try {
      loadProgram({ name: "p", type: "socket_filter", insns: INSNS });
    } catch (e) {
      err = e;
    }
    const l = loads(kernel);
    expect(l.map(logSize)).toEqual([0, 256 * 1024]);
    expect(l.map((c) => attrField(c, BPF_PROG_LOAD_ATTR, "log_level"))).toEqual([0, 1]);
    expect(l.map((c) => attrField(c, BPF_PROG_LOAD_ATTR, "insn_cnt"))).toEqual([2, 2]);
    expect(err).toBeInstanceOf(VerifierError);
    expect((err as VerifierError).errnoName).toBe("EACCES");
    expect((err as VerifierError).log).toContain("R0 !read_ok");
    expect((err as VerifierError).message).toContain("R0 !read_ok (2 lines omitted)");
  });

  test("EMFILE/ENFILE are not the verifier's: no second verification, a SyscallError that names them", () => {
    using kernel = new FakeKernel((c) => (c.cmd === BPF_PROG_LOAD ? { errno: EMFILE } : undefined));
    expect(() => loadProgram({ name: "p", type: "socket_filter", insns: INSNS })).toThrow(SyscallError);
    expect(loads(kernel)).toHaveLength(1);
    try {
      loadProgram({ name: "p", type: "socket_filter", insns: INSNS });
    } catch (e) {
      expect(e).not.toBeInstanceOf(VerifierError);
      expect((e as SyscallError).errnoName).toBe("EMFILE");
      expect((e as SyscallError).call).toBe("BPF_PROG_LOAD");
    }
  });

  test("ENOSPC grows the log 4x at a time up to the cap (16 MiB - 1 before 5.2), then gives up with ENOSPC's hint", () => {
    using kernel: FakeKernel = new FakeKernel((c, kernel) => {
      if (c.cmd !== BPF_PROG_LOAD) return;
      if (!logSize(c)) return { errno: EACCES };
      if (loads(kernel).length > 8) throw new Error("the log buffer grows without a cap"); // fail, not hang
      writeLog(c, "x".repeat(100) + "\n");
      return { errno: ENOSPC };
    });
    let err: unknown;
    try {
      loadProgram({ name: "p", type: "socket_filter", insns: INSNS });
    } catch (e) {
      err = e;
    }
    expect(loads(kernel).map(logSize)).toEqual([0, 256 * 1024, 1024 * 1024, 4 * 1024 * 1024, 0xffffff]);
    expect((err as SyscallError).errnoName).toBe("ENOSPC");
    expect((err as SyscallError).hint).toContain("did not fit in the largest buffer");
  });

  test("with 5.2's bigger cap the growth goes on past 16 MiB (to UINT_MAX >> 2)", () => {
    setFeatureAnswer("bigVerifierLog", true);
    using kernel = new FakeKernel((c) => {
      if (c.cmd !== BPF_PROG_LOAD) return;
      if (!logSize(c)) return { errno: EACCES };
      // a log that fits in 64 MiB: smaller buffers are ENOSPC (the fake writes nothing: no real buffer that large is needed)
      if (logSize(c) < 64 * 1024 * 1024) return { errno: ENOSPC };
      writeLog(c, "R1 invalid mem access\n");
      return { errno: EACCES };
    });
    expect(() => loadProgram({ name: "p", type: "socket_filter", insns: INSNS })).toThrow(VerifierError);
    expect(loads(kernel).map(logSize)).toEqual([0, 256 * 1024, 1 << 20, 4 << 20, 16 << 20, 64 << 20]);
  });

  test("6.4+ (log_true_size): after one ENOSPC the next load asks for exactly the size the kernel reported", () => {
    setFeatureAnswer("logTrueSize", true);
    const needed = 3 * 1024 * 1024 + 5;
    using kernel = new FakeKernel((c) => {
      if (c.cmd !== BPF_PROG_LOAD) return;
      if (!logSize(c)) return { errno: EACCES };
      setAttrU32(c, BPF_PROG_LOAD_ATTR, "log_true_size", needed);
      if (logSize(c) < needed) return { errno: ENOSPC };
      writeLog(c, "R2 type=ctx expected=fp\n");
      return { errno: EACCES };
    });
    expect(() => loadProgram({ name: "p", type: "socket_filter", insns: INSNS })).toThrow(VerifierError);
    const l = loads(kernel);
    expect(l.map(logSize)).toEqual([0, 256 * 1024, needed]);
    // the attr reaches log_true_size only when the kernel was probed for it
    expect(l.slice(1).every((c) => c.attr!.length >= field(BPF_PROG_LOAD_ATTR, "log_true_size").offset + 4)).toBe(true);
  });

  test("EPERM with a log is about privileges: a SyscallError with the EPERM hint, not a VerifierError", () => {
    using _k = new FakeKernel((c) => {
      if (c.cmd !== BPF_PROG_LOAD) return;
      writeLog(c, "some log\n");
      return { errno: EPERM };
    });
    let err: unknown;
    try {
      loadProgram({ name: "p", type: "socket_filter", insns: INSNS });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SyscallError);
    expect(err).not.toBeInstanceOf(VerifierError);
    expect((err as SyscallError).errnoName).toBe("EPERM");
    expect((err as SyscallError).hint).toBeTruthy();
    expect((err as SyscallError).exitCode).toBe(1);
  });

  test("EINVAL before any verification (empty log) gets the 'refused before verifying' hint", () => {
    using _k = new FakeKernel((c) => (c.cmd === BPF_PROG_LOAD ? { errno: EINVAL } : undefined));
    let err: unknown;
    try {
      loadProgram({ name: "p", type: "socket_filter", insns: INSNS });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SyscallError);
    expect(err).not.toBeInstanceOf(NotSupportedError); // socket_filter is as old as BPF
    expect((err as SyscallError).hint).toContain("refused the program before verifying it");
  });

  test("a program that loads is the fd the kernel gave, named in the attr; closing it closes that fd once", () => {
    using kernel = new FakeKernel((c) => (c.cmd === BPF_PROG_LOAD ? FAKE_FD : undefined));
    const p = loadProgram({ name: "my.prog", type: "socket_filter", insns: INSNS });
    expect(p.fd).toBe(FAKE_FD);
    const attr = loads(kernel)[0]!.attr!;
    expect(new TextDecoder().decode(attr.subarray(48, 55))).toBe("my_prog");
    p.close();
    p.close();
    expect(kernel.named("close").map((c) => c.args[0])).toEqual([FAKE_FD]);
  });
});

describe("cleanup order", () => {
  const prog = new Program(77, "p", "tracepoint", { code: 0, source: "uname -r" }, "");
  const PERF_FD = 4242;

  test("a perf-event link is disabled, its fd closed, and only then its probe event removed", () => {
    const order: string[] = [];
    let perfAttr: number[] = [];
    using kernel = new FakeKernel((c) => {
      order.push(c.name === "ioctl" ? `ioctl ${c.args[1].toString(16)}` : `${c.name} ${c.args[0]}`);
      if (c.name !== "perf_event_open") return;
      const attr = { ...c, attr: memoryAt(c.args[0], PERF_EVENT_ATTR.size) }; // read during the call only
      perfAttr = [attrField(attr, PERF_EVENT_ATTR, "type"), attrField(attr, PERF_EVENT_ATTR, "config")];
      return PERF_FD;
    });
    const link = attachToTraceEvent(prog, 1234, "uprobe:/bin/true:main", {}, () => order.push("remove event"));
    expect(perfAttr).toEqual([2, 1234]); // PERF_TYPE_TRACEPOINT, the event id
    link.close();
    link.close(); // twice: harmless
    expect(order.slice(1)).toEqual([
      `ioctl ${PERF_EVENT_IOC_SET_BPF.toString(16)}`,
      `ioctl ${PERF_EVENT_IOC_ENABLE.toString(16)}`,
      `ioctl ${PERF_EVENT_IOC_DISABLE.toString(16)}`,
      `close ${PERF_FD}`,
      "remove event",
    ]);
    expect(kernel.named("ioctl", undefined).filter((c) => c.args[1] === PERF_EVENT_IOC_SET_BPF)[0]!.args[2]).toBe(77);
  });

  test("a refused SET_BPF closes the perf fd before removing the event, and names the errno with a hint", () => {
    const order: string[] = [];
    using _k = new FakeKernel((c) => {
      order.push(`${c.name}`);
      if (c.name === "perf_event_open") return PERF_FD;
      if (c.name === "ioctl" && c.args[1] === PERF_EVENT_IOC_SET_BPF) return { errno: EINVAL };
    });
    let err: unknown;
    try {
      attachToTraceEvent(prog, 1234, "tracepoint:a:b", {}, () => order.push("remove event"));
    } catch (e) {
      err = e;
    }
    expect(order).toEqual(["perf_event_open", "ioctl", "ioctl", "close", "remove event"]);
    expect((err as SyscallError).call).toBe("PERF_EVENT_IOC_SET_BPF");
    expect((err as SyscallError).errnoName).toBe("EINVAL");
    expect((err as SyscallError).hint).toContain("program type does not match the event");
  });

  test("on a signal or exit (runCleanup), a link created after its event is undone first: fd closed, then the event removed", () => {
    const order: string[] = [];
    using _k = new FakeKernel((c) => {
      if (c.name === "close") order.push(`close ${c.args[0]}`);
      if (c.name === "perf_event_open") return PERF_FD;
    });
    // as kernel/tracefs/probe-events.ts does: the event's removal is registered before the link exists
    let removed = false;
    const removeEvent = () => {
      if (removed) return;
      removed = true;
      unregister();
      order.push("remove event");
    };
    const unregister = onCleanup(removeEvent);
    attachToTraceEvent(prog, 1, "uprobe:/bin/true:main", {}, removeEvent);
    expect(runCleanup()).toEqual([]);
    expect(order).toEqual([`close ${PERF_FD}`, "remove event"]);
  });
});

describe("per-CPU values: the kernel's round_up(value_size, 8) × possible CPUs", () => {
  // Independent oracle: count the CPUs of /sys/devices/system/cpu/possible here (node:fs, not sys/cpus.ts).
  const possible = (() => {
    let n = 0;
    for (const part of readFileSync("/sys/devices/system/cpu/possible", "utf8").trim().split(",")) {
      const [a, b] = part.split("-").map(Number);
      n += b === undefined ? 1 : b - a! + 1;
    }
    return n;
  })();
  const PERCPU_ARRAY = MAP_TYPES.indexOf("percpu_array" as never);
  const ARRAY = MAP_TYPES.indexOf("array" as never);
  beforeAll(() => mapValueBytes(PERCPU_ARRAY, 8)); // sys/cpus.ts reads the CPU count once, before any fake is in

  for (const valueSize of [4, 8, 12]) {
    const stride = Math.ceil(valueSize / 8) * 8;

    test(`${valueSize}-byte values: lookup gets every CPU's value from a buffer the kernel can fill whole`, () => {
      expect(mapValueBytes(PERCPU_ARRAY, valueSize)).toBe(stride * possible);
      expect(mapValueBytes(ARRAY, valueSize)).toBe(valueSize);
      using kernel = new FakeKernel((c) => {
        if (c.cmd !== BPF_MAP_LOOKUP_ELEM) return;
        // the kernel copies stride × CPUs bytes: CPU i's value is bytes of i+1, the padding 0xee
        const out = memoryAt(attrField(c, BPF_MAP_ELEM_ATTR, "value"), stride * possible);
        for (let cpu = 0; cpu < possible; cpu++) {
          out.fill(0xee, cpu * stride, (cpu + 1) * stride);
          out.fill(cpu + 1, cpu * stride, cpu * stride + valueSize);
        }
      });
      const r = bpfMapLookupElem({ fd: 3, type: PERCPU_ARRAY, keySize: 4, valueSize }, new Uint8Array(4));
      expect(r.values).toHaveLength(possible);
      r.values.forEach((v, cpu) => expect([...v]).toEqual(new Array(valueSize).fill(cpu + 1)));
      expect(attrField(kernel.calls[0]!, BPF_MAP_ELEM_ATTR, "map_fd")).toBe(3);
    });

    test(`${valueSize}-byte values: update lays the values out at the kernel's stride (one map's fixed arena too)`, () => {
      const seen: number[][] = [];
      using _k = new FakeKernel((c) => {
        if (c.cmd !== BPF_MAP_UPDATE_ELEM) return;
        seen.push([...memoryAt(attrField(c, BPF_MAP_ELEM_ATTR, "value"), stride * possible)]);
      });
      const m = { fd: 3, type: PERCPU_ARRAY, keySize: 4, valueSize };
      bpfMapUpdateElem(m, new Uint8Array(4), Array.from({ length: possible }, (_, cpu) => new Uint8Array(valueSize).fill(cpu + 1)));
      const calls = new MapElemCalls(m);
      expect(calls.value.length).toBe(stride * possible);
      calls.value.fill(5);
      calls.update(0);
      const expected: number[] = [];
      for (let cpu = 0; cpu < possible; cpu++) expected.push(...new Array(valueSize).fill(cpu + 1), ...new Array(stride - valueSize).fill(0));
      expect(seen[0]).toEqual(expected);
      expect(seen[1]).toEqual(new Array(stride * possible).fill(5));
    });
  }
});

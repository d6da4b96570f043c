// How many times one load verifies the program. Every BPF_PROG_LOAD of kernel/program.ts goes
// through progLoadSeam: a fake kernel (6.4+, older, pre-4.15) checks the decisions without root;
// on the running kernel a counting wrapper measures loop3 (the selftests' 1M-instruction loop).
// test/bench/verifications.ts compares the same count against libbpf (bpftool) under strace.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { readObject } from "../../src/elf/index.ts";
import { SyscallError, InvalidArgumentError, VerifierError } from "../../src/errors.ts";
import { loadCollection } from "../../src/kernel/collection.ts";
import { hasFeature } from "../../src/kernel/features/probes.ts";
import { loadProgram, objectNamesSupported, progLoadSeam, resetLoadFeatures } from "../../src/kernel/program.ts";
import type { ProgLoadArgs, ProgLoadResult } from "../../src/sys/bpf.ts";
import { PROG_TYPES } from "../../src/uapi.ts";
import { canUseKernel, REPO } from "../support.ts";

const realLoad = progLoadSeam.load;
// Other test files in this process may have probed the real kernel already: start each test afresh.
beforeEach(() => resetLoadFeatures());
afterEach(() => {
  progLoadSeam.load = realLoad;
  resetLoadFeatures();
});

const PROBE_INSNS = 2;
const FAKE_FD = 1 << 20; // above any open fd: closing it is a harmless EBADF

interface FakeKernel {
  /** 6.4+: reports log_true_size when the attr covers it. */
  logTrueSize: boolean;
  /** 4.15+: takes prog_name (older: E2BIG, the name lies past its attr). */
  names: boolean;
  /** Bytes of log the program's verification writes (with the NUL). */
  logNeeded: number;
  /** The verifier's verdict on the program: 0 loads it, else this errno. */
  verdict: number;
}

/** Records every load; the probe (2 instructions) loads, the program gets `verdict`. */
function fake(k: FakeKernel): { probes: ProgLoadArgs[]; loads: ProgLoadArgs[] } {
  const seen = { probes: [] as ProgLoadArgs[], loads: [] as ProgLoadArgs[] };
  progLoadSeam.load = (a: ProgLoadArgs): ProgLoadResult => {
    const isProbe = a.insns.length / 8 === PROBE_INSNS;
    (isProbe ? seen.probes : seen.loads).push(a);
    if (a.name && !k.names) return { ret: -1, errno: 7, log: "", logTrueSize: 0 };
    const reported = k.logTrueSize && a.askLogTrueSize ? (isProbe ? 120 : k.logNeeded) : 0;
    if (isProbe) return { ret: FAKE_FD, errno: 0, log: "processed 2 insns", logTrueSize: reported };
    if (a.logSize && a.logSize < k.logNeeded) return { ret: -1, errno: 28, log: "partial", logTrueSize: reported };
    if (k.verdict === 0) return { ret: FAKE_FD, errno: 0, log: a.logSize ? "processed 16 insns" : "", logTrueSize: reported };
    return { ret: -1, errno: k.verdict, log: a.logSize ? "BPF program is too large. Processed 1000001 insn\nprocessed 1000001 insns\n" : "", logTrueSize: reported };
  };
  return seen;
}

const BIG = new Uint8Array(16 * 8).fill(0); // 16 instructions, as loop3 (contents do not matter to the fake)

describe("verifications per load (fake kernel)", () => {
  test("6.4+: fast path, one log load, then one with the exact size the kernel reported", () => {
    const seen = fake({ logTrueSize: true, names: true, logNeeded: 70_235_881, verdict: 7 /* E2BIG: too large */ });
    let err: unknown;
    try {
      loadProgram({ name: "while_true", type: "raw_tracepoint", insns: BIG });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(VerifierError);
    expect((err as VerifierError).errno).toBe(7);
    // names (before the first load), then log_true_size and the log cap (once a log is wanted)
    expect(seen.probes.length).toBe(3);
    expect(seen.loads.map((a) => a.logSize)).toEqual([0, 256 * 1024, 70_235_881]);
    // E2BIG from the verifier is not a refused name: every load kept the name.
    expect(seen.loads.every((a) => a.name === "while_true")).toBe(true);
    expect(seen.loads.filter((a) => a.logSize).every((a) => a.askLogTrueSize)).toBe(true);
  });

  test("before 6.4 (no log_true_size reported): the attr ends before log_true_size, the log grows 4x", () => {
    const seen = fake({ logTrueSize: false, names: true, logNeeded: 5_000_000, verdict: 22 });
    expect(() => loadProgram({ name: "p", type: "raw_tracepoint", insns: BIG })).toThrow(VerifierError);
    expect(seen.loads.map((a) => a.logSize)).toEqual([0, 256 * 1024, 1024 * 1024, 4096 * 1024, 16384 * 1024]);
    expect(seen.loads.some((a) => a.askLogTrueSize)).toBe(false);
  });

  test("the features are probed once per process, not per program", () => {
    const seen = fake({ logTrueSize: true, names: true, logNeeded: 100, verdict: 0 });
    for (let i = 0; i < 5; i++) loadProgram({ name: `p${i}`, type: "raw_tracepoint", insns: BIG }).close();
    expect(seen.probes.length).toBe(1);
    expect(seen.loads.length).toBe(5);
  });

  test("before 4.15 (names refused): found by the probe, the program itself is loaded once, unnamed", () => {
    const seen = fake({ logTrueSize: false, names: false, logNeeded: 100, verdict: 0 });
    const p = loadProgram({ name: "p", type: "kprobe", insns: BIG });
    p.close();
    expect(objectNamesSupported()).toBe(false);
    expect(seen.loads.length).toBe(1);
    expect(seen.loads[0]!.name).toBeUndefined();
    expect(seen.loads[0]!.askLogTrueSize).toBe(false);
    expect(seen.probes.map((a) => !!a.name)).toEqual([true]);
  });

  test("--log-level on a valid program: one load", () => {
    const seen = fake({ logTrueSize: true, names: true, logNeeded: 100, verdict: 0 });
    const p = loadProgram({ name: "p", type: "raw_tracepoint", insns: BIG, logLevel: 1 });
    expect(p.log).toContain("processed");
    p.close();
    expect(seen.loads.length).toBe(1);
  });

  test("running out of fds (after the verifier accepted) is not verified again for a log", () => {
    const seen = fake({ logTrueSize: true, names: true, logNeeded: 100, verdict: 24 /* EMFILE */ });
    let err: unknown;
    try {
      loadProgram({ name: "p", type: "raw_tracepoint", insns: BIG });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SyscallError);
    expect(err).not.toBeInstanceOf(VerifierError);
    expect((err as SyscallError).errnoName).toBe("EMFILE");
    expect((err as SyscallError).exitCode).toBe(1);
    expect((err as SyscallError).message).toContain("ulimit -n");
    expect(seen.loads.length).toBe(1);
  });

  test("a program type that needs a BTF target is refused before any load, naming the reason", () => {
    const seen = fake({ logTrueSize: true, names: true, logNeeded: 100, verdict: 22 });
    for (const type of ["tracing", "lsm"] as const) {
      let err: unknown;
      try {
        loadProgram({ name: "p", type, insns: BIG });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(InvalidArgumentError);
      expect((err as Error).message).toContain("needs a BTF target");
      expect((err as Error).message).toContain("attach_btf_id");
    }
    expect(seen.loads.length + seen.probes.length).toBe(0);
  });
});

const RAW_TP = PROG_TYPES.indexOf("raw_tracepoint");

/** Counts the BPF_PROG_LOAD calls of `fn` on the real kernel, by program type. */
function counting<T>(fn: () => T): { result?: T; error?: unknown; byType: Map<number, number[]> } {
  const byType = new Map<number, number[]>();
  progLoadSeam.load = (a) => {
    byType.set(a.progType, [...(byType.get(a.progType) ?? []), a.logSize]);
    return realLoad(a);
  };
  try {
    return { result: fn(), byType };
  } catch (error) {
    return { error, byType };
  }
}

describe.skipIf(!canUseKernel)("verifications per load (running kernel)", () => {
  test("loop3 (1M-instruction verifier walk, ~70 MB log) is verified at most 3 times (libbpf: 5)", async () => {
    const obj = await readObject(new Uint8Array(readFileSync(`${REPO}/test/fixtures/loop3.o`)), "loop3.o");
    const run = counting(() => loadCollection(obj));
    expect(run.error).toBeInstanceOf(VerifierError);
    expect((run.error as VerifierError).errnoName).toBe("E2BIG");
    expect((run.error as VerifierError).log).toContain("BPF program is too large");
    const loads = run.byType.get(RAW_TP)!;
    expect(loads.length).toBeLessThanOrEqual(3);
    // The last log load had the size the kernel asked for: the whole log, from its first line.
    expect((run.error as VerifierError).log.length).toBeGreaterThan(1 << 20);
    expect((run.error as VerifierError).log).toContain("processed 1000001 insns");
  }, 120_000);

  test("a level-2 log larger than the first buffer: two loads (the second with the reported size)", () => {
    const n = 30000;
    const insns = new Uint8Array((n + 3) * 8);
    insns.set([0xb7, 0x00], 0); // r0 = 0
    for (let i = 1; i <= n; i++) insns.set([0xbf, 0x01], i * 8); // r1 = r0
    insns.set([0xbf, 0x30], (n + 1) * 8); // r0 = r3 (never written)
    insns.set([0x95], (n + 2) * 8);
    const SOCKET_FILTER = PROG_TYPES.indexOf("socket_filter");
    // the probes (socket filters too) before counting
    objectNamesSupported();
    hasFeature("logTrueSize");
    hasFeature("bigVerifierLog");
    const run = counting(() => loadProgram({ name: "big", type: "socket_filter", insns, logLevel: 2 }));
    expect(run.error).toBeInstanceOf(VerifierError);
    expect((run.error as VerifierError).log).toContain("R3 !read_ok");
    const loads = run.byType.get(SOCKET_FILTER)!;
    expect(loads.length).toBe(2);
    expect(loads[1]).toBe((run.error as VerifierError).log.length + 1); // exactly the log and its NUL
  });
});

// The decision to load without BTF, on a fake kernel (progLoadSeam): a kernel whose bpf_attr is
// too short for prog_btf_fd answers E2BIG with no log; a program that does not need its BTF loads
// without it (said once through `note`), one that needs it (a callback) does not retry.
import { afterEach, beforeEach, expect, test } from "bun:test";
import { SyscallError } from "../../src/errors.ts";
import { loadProgram, progLoadSeam, resetLoadFeatures } from "../../src/kernel/program.ts";
import { setFeatureAnswer } from "../../src/kernel/features/probes.ts";
import type { ProgLoadArgs, ProgLoadResult } from "../../src/sys/bpf.ts";

const realLoad = progLoadSeam.load;
const FAKE_FD = 1 << 20;
beforeEach(() => {
  resetLoadFeatures();
  for (const f of ["programNames", "logTrueSize", "bigVerifierLog"] as const) setFeatureAnswer(f, true);
});
afterEach(() => {
  progLoadSeam.load = realLoad;
  resetLoadFeatures();
});

/** A 4.19-like kernel: any BTF field past its attr is E2BIG, before verification. */
function shortAttrKernel(): ProgLoadArgs[] {
  const loads: ProgLoadArgs[] = [];
  progLoadSeam.load = (a: ProgLoadArgs): ProgLoadResult => {
    loads.push(a);
    if (a.progBtfFd !== undefined) return { ret: -1, errno: 7, log: "", logTrueSize: 0 };
    return { ret: FAKE_FD, errno: 0, log: "", logTrueSize: 0 };
  };
  return loads;
}

const INSNS = new Uint8Array([0xb7, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0]);
const BTF = { fd: 99, funcInfo: new Uint8Array(8), lineInfo: new Uint8Array(16) };

test("E2BIG with no log for the BTF fields: loaded again without them, said once", () => {
  const loads = shortAttrKernel();
  const notes: string[] = [];
  const p = loadProgram({ name: "p", type: "socket_filter", insns: INSNS, btf: BTF, note: (t) => notes.push(t) });
  expect(p.fd).toBe(FAKE_FD);
  expect(loads.map((a) => a.progBtfFd)).toEqual([99, 99, undefined]);
  expect(notes).toEqual(["program 'p' loaded without BTF: the kernel refused its func_info/line_info (E2BIG)"]);
});

test("a program that needs its func_info is not loaded without it", () => {
  const loads = shortAttrKernel();
  expect(() => loadProgram({ name: "p", type: "socket_filter", insns: INSNS, btf: { ...BTF, required: "a callback" } })).toThrow(SyscallError);
  expect(loads.every((a) => a.progBtfFd === 99)).toBe(true);
});

test("the verifier's own E2BIG (with a log) is not blamed on BTF: no second verification without it", () => {
  const loads: ProgLoadArgs[] = [];
  progLoadSeam.load = (a: ProgLoadArgs): ProgLoadResult => {
    loads.push(a);
    return { ret: -1, errno: 7, log: a.logSize ? "BPF program is too large. Processed 1000001 insn\n" : "", logTrueSize: 0 };
  };
  expect(() => loadProgram({ name: "p", type: "socket_filter", insns: INSNS, btf: BTF })).toThrow();
  expect(loads.every((a) => a.progBtfFd === 99)).toBe(true);
});

test("the section table's prog flags and attach types reach BPF_PROG_LOAD: xdp.frags → BPF_F_XDP_HAS_FRAGS, cgroup_skb/egress → BPF_CGROUP_INET_EGRESS", async () => {
  const { readObject } = await import("../../src/elf/index.ts");
  const { loadCollection } = await import("../../src/kernel/collection.ts");
  const { fixture } = await import("../elf/helpers.ts");
  const loads: ProgLoadArgs[] = [];
  progLoadSeam.load = (a: ProgLoadArgs): ProgLoadResult => {
    loads.push(a);
    return { ret: FAKE_FD, errno: 0, log: "", logTrueSize: 0 };
  };
  const obj = await readObject(fixture("btf_load"), "btf_load.o");
  // no elf bytes: no BTF, no maps are needed by these two programs' loads through the fake kernel
  const only = (name: string) => ({ ...obj, maps: [], programs: obj.programs.filter((p) => p.name === name) });
  for (const name of ["frags", "msg"]) loadCollection(only(name), {}).programs.forEach((p) => (p.program as { fd: number }).fd = -1);
  const ours = loads.filter((a) => a.name === "frags" || a.name === "msg"); // not the feature probes
  expect(ours.map((a) => [a.name, a.progFlags ?? 0, a.expectedAttachType ?? 0])).toEqual([["frags", 1 << 5, 37 /* BPF_XDP */], ["msg", 0, 7 /* BPF_SK_MSG_VERDICT */]]);
});

test("EAGAIN (a signal pending during verification) is loaded again, up to 5 times as libbpf does", () => {
  const eagainFor = (n: number) => {
    const loads: ProgLoadArgs[] = [];
    progLoadSeam.load = (a: ProgLoadArgs): ProgLoadResult => {
      loads.push(a);
      return loads.length <= n ? { ret: -1, errno: 11, log: "", logTrueSize: 0 } : { ret: FAKE_FD, errno: 0, log: "", logTrueSize: 0 };
    };
    return loads;
  };
  const twice = eagainFor(2);
  expect(loadProgram({ name: "p", type: "socket_filter", insns: INSNS }).fd).toBe(FAKE_FD);
  expect(twice.length).toBe(3);
  expect(twice.every((a) => a.logSize === 0)).toBe(true); // no log: nothing was refused
  // always EAGAIN: 5 tries without a log, 5 with one, then the error
  const always = eagainFor(Infinity);
  const err = (() => { try { loadProgram({ name: "p", type: "socket_filter", insns: INSNS }); } catch (e) { return e; } })();
  expect(err).toBeInstanceOf(SyscallError);
  expect((err as SyscallError).errnoName).toBe("EAGAIN");
  expect(always.length).toBe(10);
});

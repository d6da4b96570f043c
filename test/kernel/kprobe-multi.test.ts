// kprobe globs without a kernel (kprobeMultiSeam, a fake): the one kprobe.multi link when the kernel
// takes it, one kprobe per function when it does not (up to MAX_SEPARATE_PROBES), and the refusals.
// The real kprobe.multi link needs CONFIG_FPROBE, which neither this host nor the VM kernels have.
import { afterEach, describe, expect, test } from "bun:test";
import type { AttachSpec } from "../../src/attach-spec.ts";
import { attachKprobeGlob, attachKprobeMulti, kprobeMultiSeam, MAX_SEPARATE_PROBES } from "../../src/kernel/attach/kprobe-multi.ts";
import type { Link } from "../../src/kernel/attach/perf-link.ts";
import type { Program } from "../../src/kernel/program.ts";

const live = { ...kprobeMultiSeam };
afterEach(() => Object.assign(kprobeMultiSeam, live));

const prog = { fd: 1000, name: "p" } as unknown as Program;
type KSpec = AttachSpec & { kind: "kprobe" | "kretprobe" };

/** A fake kernel: these functions, and the link answering `errno` (0: a link fd). */
function fakeKernel(names: string[], errno: number) {
  const links: { names: string[]; retprobe: boolean }[] = [];
  kprobeMultiSeam.functions = () => ({ names, from: "available_filter_functions" });
  kprobeMultiSeam.link = (_fd, n, retprobe) => {
    links.push({ names: n, retprobe });
    return errno ? { ret: -1, errno } : { ret: 1_000_000, errno: 0 }; // an fd number nothing has: closing it is harmless
  };
  return links;
}

function fakeProbe(closed: string[], failOn?: string) {
  return (one: KSpec): Link => {
    if (one.func === failOn) throw new Error(`refused ${one.func}`);
    return { target: `${one.kind}:${one.func}`, hits: () => 1n, close: () => closed.push(one.func) };
  };
}

describe("kprobe:GLOB", () => {
  test("one kprobe.multi link on every matching function when the kernel takes it", () => {
    const links = fakeKernel(["vfs_read", "vfs_write"], 0);
    const l = attachKprobeGlob(prog, { kind: "kretprobe", func: "vfs_*" }, () => {
      throw new Error("no single probe wanted");
    });
    expect(links).toEqual([{ names: ["vfs_read", "vfs_write"], retprobe: true }]);
    expect(l.target).toBe("kretprobe:vfs_* (kprobe.multi, 2 functions)");
    l.close();
  });

  test("refused (no CONFIG_FPROBE, before 5.18, a program not loaded for it): one kprobe per function", () => {
    fakeKernel(["vfs_read", "vfs_readv", "vfs_write"], 95 /* EOPNOTSUPP */);
    const closed: string[] = [];
    const l = attachKprobeGlob(prog, { kind: "kprobe", func: "vfs_*", offset: 0 }, fakeProbe(closed));
    expect(l.target).toBe("kprobe:vfs_* (3 kprobes: vfs_read, vfs_readv, vfs_write)");
    expect(l.hits()).toBe(3n);
    l.close();
    expect(closed).toEqual(["vfs_read", "vfs_readv", "vfs_write"]);
  });

  test("one probe refused: those already placed are removed, the error is the probe's", () => {
    fakeKernel(["a1", "a2", "a3"], 22);
    const closed: string[] = [];
    expect(() => attachKprobeGlob(prog, { kind: "kprobe", func: "a*", offset: 0 }, fakeProbe(closed, "a3"))).toThrow("refused a3");
    expect(closed).toEqual(["a1", "a2"]);
  });

  test(`more than ${MAX_SEPARATE_PROBES} functions without kprobe.multi: refused, saying how many and what to do`, () => {
    fakeKernel(Array.from({ length: MAX_SEPARATE_PROBES + 1 }, (_, i) => `f${i}`), 22);
    const closed: string[] = [];
    expect(() => attachKprobeGlob(prog, { kind: "kprobe", func: "f*", offset: 0 }, fakeProbe(closed))).toThrow(
      new RegExp(`EINVAL.*the glob matches ${MAX_SEPARATE_PROBES + 1} functions, more than the ${MAX_SEPARATE_PROBES} separate kprobes .*narrow the glob`),
    );
    expect(closed).toEqual([]);
  });

  test("a glob that matches nothing is an input error naming where it looked", () => {
    fakeKernel([], 0);
    expect(() => attachKprobeGlob(prog, { kind: "kprobe", func: "nothing_*", offset: 0 }, fakeProbe([]))).toThrow("nothing_*: no kernel function matches this glob (in available_filter_functions)");
  });
});

describe("kprobe.multi: sections", () => {
  test("the link, or the kernel's refusal with what it means", () => {
    const links = fakeKernel(["do_nanosleep"], 0);
    attachKprobeMulti(prog, { kind: "kprobe.multi", pattern: "do_nanosleep" }).close();
    expect(links).toEqual([{ names: ["do_nanosleep"], retprobe: false }]);
    fakeKernel(["do_nanosleep"], 95);
    expect(() => attachKprobeMulti(prog, { kind: "kretprobe.multi", pattern: "do_nanosleep" })).toThrow(/BPF_LINK_CREATE\(kprobe_multi\).*EOPNOTSUPP.*CONFIG_FPROBE/);
  });
});

// Global data on a kernel without it (before 5.2), played on this one by answering the globalData
// probe "no": .rodata reads are folded into immediates, the program loads without any data map,
// and what it reads is what the section holds. The oracle is the kernel running the program: it
// stores the values into an array map on sys_enter_getppid, compared with the C source's constants.
import { afterEach, describe, expect, test } from "bun:test";
import { parseAttachSpec, type AttachSpec } from "../../src/attach-spec.ts";
import { readObject } from "../../src/elf/index.ts";
import { NotSupportedError } from "../../src/errors.ts";
import { loadCollection } from "../../src/kernel/collection.ts";
import { setFeatureAnswer } from "../../src/kernel/features/probes.ts";
import { attachTracepoint } from "../../src/kernel/attach/tracepoint.ts";
import { canUseKernel } from "../support.ts";
import { fixture } from "../elf/helpers.ts";

afterEach(() => setFeatureAnswer("globalData", undefined));

async function run(setThreshold?: number) {
  const bytes = fixture("rodata_fold");
  const obj = await readObject(bytes, "rodata_fold.o");
  if (setThreshold !== undefined) {
    const ro = obj.maps.find((m) => m.name === ".rodata")!;
    new DataView(ro.initialData!.buffer, ro.initialData!.byteOffset).setUint32(0, setThreshold, true); // threshold is first
  }
  setFeatureAnswer("globalData", false);
  const col = loadCollection(obj, { elf: bytes, select: (p) => p.name === "fold" });
  try {
    expect([...col.maps.keys()]).toEqual(["out"]); // no data map was created
    const link = attachTracepoint(col.programs[0]!.program, parseAttachSpec("tracepoint:syscalls:sys_enter_getppid") as AttachSpec & { kind: "tracepoint" });
    try {
      Bun.spawnSync(["perl", "-e", "getppid()"]);
    } finally {
      link.close();
    }
    const v = col.maps.get("out")!.lookup(new Uint8Array(4))!;
    const d = new DataView(v.buffer, v.byteOffset);
    return { sum: d.getBigUint64(0, true), shift: d.getBigInt64(8, true), wide: d.getBigUint64(16, true) };
  } finally {
    col.close();
  }
}

describe.skipIf(!canUseKernel)("folding .rodata into immediates (globalData probe answered no)", () => {
  test("the program reads threshold + small = 210, shift = -3, wide = 0xffffffff, as compiled", async () => {
    expect(await run()).toEqual({ sum: 210n, shift: -3n, wide: 0xffffffffn });
  });
  test("a value written before load (as --set does) is the one folded in", async () => {
    expect((await run(0x7fffffff)).sum).toBe(0x7fffffffn + 200n);
  });
  test("a .rodata pointer passed to a helper: refused naming 5.2 and what the pointer does", async () => {
    const bytes = fixture("rodata_fold");
    const obj = await readObject(bytes, "rodata_fold.o");
    setFeatureAnswer("globalData", false);
    let err: unknown;
    try {
      loadCollection(obj, { elf: bytes, select: (p) => p.name === "escape" }).close();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(NotSupportedError);
    expect((err as Error).message).toContain("5.2");
    expect((err as Error).message).toContain("passed to a call at instruction 3");
  });
  test("globals.o writes .data/.bss: refused naming 5.2", async () => {
    const bytes = fixture("globals");
    const obj = await readObject(bytes, "globals.o");
    setFeatureAnswer("globalData", false);
    expect(() => loadCollection(obj, { elf: bytes })).toThrow(/5\.2.*writable variable/);
  });
});

describe.skipIf(!canUseKernel)("source lines in the log of a kernel that takes no line_info", () => {
  afterEach(() => setFeatureAnswer("btfFunc", undefined));
  test("btfFunc probe answered no (a 4.18/4.19 kernel): no line_info sent, bpfload annotates the rejection from .BTF.ext", async () => {
    const bytes = fixture("btf_load");
    const obj = await readObject(bytes, "btf_load.o");
    setFeatureAnswer("btfFunc", false);
    let err: any;
    try {
      loadCollection(obj, { elf: bytes, select: (p) => p.name === "bad" }).close();
    } catch (e) {
      err = e;
    }
    expect(err?.log).toContain("; __u64 *v = bpf_map_lookup_elem(&locks, &k); @ btf_load.c:");
    expect(err.log).toContain("; return *(v + 4) != 0; /* past the 16-byte value */ @ btf_load.c:");
    expect(err.log).not.toContain("arg#0 reference type"); // the kernel had no func_info: these lines are bpfload's
  });
});

// Externs without a kernel: the kconfig parser and value encoding (against what libbpf accepts and
// refuses), the .kconfig layout of the fixture (libbpf's order, checked against the offsets bpftool's
// BTF dump of the libbpf-loaded map shows: see test/kernel/externs.test.ts), what the reader makes of
// each extern, what the linker writes for each resolution, the helper rewrite and the BTF fix-up.
import { describe, expect, test } from "bun:test";
import { fixExternBtf } from "../../src/btf/externs-btf.ts";
import { ALL_BTF_FEATURES, dataLayoutOf, sanitizeBtf } from "../../src/btf/sanitize.ts";
import { Btf, BTF_FUNC_EXTERN, BTF_KIND_DATASEC, BTF_KIND_FUNC, BTF_KIND_FUNC_PROTO, BTF_KIND_VAR, BTF_VAR_GLOBAL_EXTERN } from "../../src/elf/btf.ts";
import {
  ExternError, externBtfLayout, kconfigData, parseKconfig, POISON_CALL_KFUNC_BASE, setKconfigValue, type ExternSpec, type KconfigSources,
} from "../../src/elf/externs.ts";
import { rewriteProbeReadHelpers } from "../../src/elf/helper-rewrite.ts";
import { linkProgram, readObject } from "../../src/elf/index.ts";
import { fixture, shdr } from "./helpers.ts";

const kc = (type: "bool" | "tristate" | "char" | "int" | "chars", size: number, signed = false, weak = false): ExternSpec =>
  ({ name: "CONFIG_X", kind: "kconfig", weak, btfId: 1, typeId: 1, kconfig: { type, size, align: 1, signed, offset: 0 } });
const enc = (e: ExternSpec, v: string) => {
  const b = new Uint8Array(e.kconfig!.size);
  setKconfigValue(e, b, v);
  return [...b];
};
const sources = (config: Record<string, string>, over: Partial<KconfigSources> = {}): KconfigSources => ({
  config: new Map(Object.entries(config)), kernelVersion: 0x6122c, hasSyscallWrapper: () => true, hasBpfCookie: () => false, ...over,
});

describe("kconfig text", () => {
  test("CONFIG_ lines only: comments and '# ... is not set' are skipped, values kept verbatim", () => {
    const m = parseKconfig('#\n# Automatically generated\nCONFIG_A=y\n# CONFIG_B is not set\nCONFIG_C="x=y"\n  CONFIG_D=0x10\nOTHER=1\nCONFIG_BROKEN\n');
    expect([...m]).toEqual([["CONFIG_A", "y"], ["CONFIG_C", '"x=y"'], ["CONFIG_D", "0x10"]]);
  });
  test("y/m/n as bool, tristate and char; m refused for bool", () => {
    expect(enc(kc("bool", 1), "y")).toEqual([1]);
    expect(enc(kc("bool", 1), "n")).toEqual([0]);
    expect(() => enc(kc("bool", 1), "m")).toThrow(/is a module \(m\)/);
    expect(enc(kc("tristate", 4), "m")).toEqual([2, 0, 0, 0]);
    expect(enc(kc("tristate", 4), "y")).toEqual([1, 0, 0, 0]);
    expect(enc(kc("char", 1), "m")).toEqual(["m".charCodeAt(0)]);
    expect(() => enc(kc("int", 4), "y")).toThrow(/is y\/m\/n: declare it bool/);
  });
  test("numbers: decimal, hex, negative; range checked against size and sign", () => {
    expect(enc(kc("int", 4), "256")).toEqual([0, 1, 0, 0]);
    expect(enc(kc("int", 8), "0x1000")).toEqual([0, 0x10, 0, 0, 0, 0, 0, 0]);
    expect(enc(kc("int", 2, true), "-2")).toEqual([0xfe, 0xff]);
    expect(() => enc(kc("int", 1), "256")).toThrow(/does not fit in 1 byte/);
    expect(() => enc(kc("int", 4), "-1")).toThrow(/does not fit in 4 bytes/);
    expect(() => enc(kc("bool", 1), "5")).toThrow(/is a number: declare it an integer/);
    expect(() => enc(kc("int", 4), "12ab")).toThrow(ExternError);
  });
  test("strings into char arrays, NUL-terminated and cut to fit", () => {
    expect(enc(kc("chars", 8), '"(none)"')).toEqual([40, 110, 111, 110, 101, 41, 0, 0]);
    expect(enc(kc("chars", 4), '"abcdef"')).toEqual([97, 98, 99, 0]);
    expect(() => enc(kc("int", 4), '"abc"')).toThrow(/is a string: declare it a char array/);
  });
});

describe("externs.o, read", async () => {
  const obj = await readObject(fixture("externs"), "externs.o");
  const by = new Map(obj.externs!.map((e) => [e.name, e]));

  test("each extern's kind and weakness, from the BTF DATASECs and the ELF symbol binding", () => {
    expect([...by.values()].map((e) => [e.name, e.kind, e.weak]).sort()).toEqual([
      ["CONFIG_BPFLOAD_NO_SUCH_OPTION", "kconfig", true], ["CONFIG_BPF_JIT", "kconfig", false], ["CONFIG_BPF_SYSCALL", "kconfig", false],
      ["CONFIG_DEFAULT_HOSTNAME", "kconfig", true], ["CONFIG_NR_CPUS", "kconfig", true], ["LINUX_HAS_BPF_COOKIE", "kconfig", false],
      ["LINUX_KERNEL_VERSION", "kconfig", false], ["bpf_prog_put", "ksym", false], ["bpfload_no_such_symbol", "ksym", true],
    ]);
    expect(by.get("bpf_prog_put")!.typeId).toBe(0); // `const void`: untyped
  });

  test(".kconfig layout in libbpf's order (align down, size up, name): the offsets bpftool shows for the libbpf-loaded map", () => {
    const order = [...by.values()].filter((e) => e.kconfig).sort((a, b) => a.kconfig!.offset - b.kconfig!.offset).map((e) => [e.name, e.kconfig!.offset, e.kconfig!.type]);
    expect(order).toEqual([
      ["CONFIG_BPF_JIT", 0, "tristate"], ["CONFIG_NR_CPUS", 4, "int"], ["LINUX_KERNEL_VERSION", 8, "int"],
      ["CONFIG_BPFLOAD_NO_SUCH_OPTION", 12, "bool"], ["CONFIG_BPF_SYSCALL", 13, "bool"], ["LINUX_HAS_BPF_COOKIE", 14, "bool"],
      ["CONFIG_DEFAULT_HOSTNAME", 15, "chars"],
    ]);
    expect(externBtfLayout(obj)!.kconfigSize).toBe(31); // bpftool map show: value 31B
  });

  test("kconfigData: config values and LINUX_*; a weak one missing is 0, a strong one missing is an error naming it", () => {
    const list = [...by.values()];
    const d = kconfigData(list, sources({ CONFIG_BPF_JIT: "m", CONFIG_BPF_SYSCALL: "y", CONFIG_NR_CPUS: "8", CONFIG_DEFAULT_HOSTNAME: '"box"' }));
    expect([...d]).toEqual([2, 0, 0, 0, 8, 0, 0, 0, 0x2c, 0x12, 6, 0, 0, 1, 0, 98, 111, 120, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    expect(() => kconfigData(list, sources({ CONFIG_BPF_JIT: "y" }))).toThrow(/extern 'CONFIG_BPF_SYSCALL' \(__kconfig\) is not in this kernel's config: declare it __weak/);
    expect(() => kconfigData(list, { ...sources({}), config: undefined, configProblem: "no /proc/config.gz" })).toThrow(/'CONFIG_BPF_\w+' \(__kconfig\) needs the kernel config: no \/proc\/config.gz/);
    // a LINUX_ name bpfload does not know: 0 when weak (libbpf's rule; selftests' test_core_extern), else refused
    const version = by.get("LINUX_KERNEL_VERSION")!;
    const unknown = (weak: boolean): ExternSpec => ({ ...version, name: "LINUX_UNKNOWN_VIRTUAL_EXTERN", weak });
    expect([...kconfigData([unknown(true)], sources({})).subarray(8, 12)]).toEqual([0, 0, 0, 0]);
    expect(() => kconfigData([unknown(false)], sources({}))).toThrow(/'LINUX_UNKNOWN_VIRTUAL_EXTERN' \(__kconfig\): unknown LINUX_ value/);
  });

  test("linked: kconfig reads become BPF_PSEUDO_MAP_VALUE at their offset, ksyms 64-bit immediates", () => {
    const prog = obj.programs[0]!;
    const insns = linkProgram(obj, prog, {
      mapFd: () => 50,
      extern: (name) => {
        const e = by.get(name)!;
        if (e.kconfig) return { kind: "map-value", fd: 60, offset: e.kconfig.offset };
        return { kind: "imm64", value: name === "bpf_prog_put" ? 0xffffffff814e63f0n : 0n };
      },
    });
    const v = new DataView(insns.buffer);
    const at = (sym: string) => prog.relocations.find((r) => r.symbol === sym)!.insnIndex * 8;
    const ld = (sym: string) => [insns[at(sym) + 1]! >> 4, v.getInt32(at(sym) + 4, true), v.getUint32(at(sym) + 12, true)];
    expect(ld("CONFIG_NR_CPUS")).toEqual([2, 60, 4]);
    expect(ld("CONFIG_DEFAULT_HOSTNAME")).toEqual([2, 60, 15]);
    expect(ld("bpf_prog_put")).toEqual([0, 0x814e63f0 | 0, 0xffffffff]);
    expect(ld("bpfload_no_such_symbol")).toEqual([0, 0, 0]);
  });

  test("BTF fixed for the kernel: no extern linkage left, .kconfig sized and laid out like the map, .ksyms entries are int VARs", () => {
    const b = fixture("externs");
    const s = shdr(b, ".BTF");
    const btf = new Btf(b.subarray(s.offset, s.offset + s.size));
    const fixed = new Btf(sanitizeBtf(btf, ALL_BTF_FEATURES, dataLayoutOf(obj), externBtfLayout(obj))).validate();
    for (let id = 1; id < fixed.typeCount; id++) {
      const t = fixed.type(id);
      if (t.kind === BTF_KIND_VAR) expect([t.name, t.linkage]).not.toEqual([t.name, BTF_VAR_GLOBAL_EXTERN]);
      if (t.kind === BTF_KIND_FUNC) expect([t.name, t.vlen]).not.toEqual([t.name, BTF_FUNC_EXTERN]);
    }
    const k = fixed.datasec(".kconfig")!;
    expect(k.sizeOrType).toBe(31);
    expect(k.secinfos!.map((x) => [fixed.type(x.type).name, x.offset, x.size])[6]).toEqual(["CONFIG_DEFAULT_HOSTNAME", 15, 16]);
    const ks = fixed.datasec(".ksyms")!;
    expect(ks.secinfos!.map((x) => [fixed.type(x.type).kind, x.offset, x.size, fixed.sizeOf(x.type)])).toEqual([[BTF_KIND_VAR, 0, 4, 4], [BTF_KIND_VAR, 4, 4, 4]]);
  });
});

describe("kfuncs.o, read and linked", async () => {
  const obj = await readObject(fixture("kfuncs"), "kfuncs.o");
  const prog = obj.programs[0]!;
  test("calls of __ksym functions are kfunc externs; the weak one is weak", () => {
    expect(obj.externs!.map((e) => [e.name, e.kind, e.weak])).toEqual([
      ["bpf_task_from_pid", "kfunc", false], ["bpf_task_release", "kfunc", false], ["bpfload_no_such_kfunc", "kfunc", true],
    ]);
    expect(prog.relocations.filter((r) => r.kind === "extern").map((r) => [r.symbol, !!r.call])).toEqual([
      ["bpf_task_from_pid", true], ["bpf_task_release", true], ["bpfload_no_such_kfunc", false], ["bpfload_no_such_kfunc", true],
    ]);
  });
  test("kfunc call: src_reg 2, imm the BTF id, off the fd_array index; a missing weak one: ld_imm64 0 and a poisoned helper call", () => {
    const insns = linkProgram(obj, prog, {
      mapFd: () => 50,
      extern: (name, call) => {
        if (name === "bpfload_no_such_kfunc") return call ? { kind: "poison-call", imm: POISON_CALL_KFUNC_BASE + 2 } : { kind: "imm64", value: 0n };
        return { kind: "kfunc", btfId: name === "bpf_task_from_pid" ? 65918 : 1234, fdIndex: name === "bpf_task_release" ? 1 : 0 };
      },
    });
    const v = new DataView(insns.buffer);
    const call = (i: number) => [insns[i * 8]!, insns[i * 8 + 1]! >> 4, v.getInt16(i * 8 + 2, true), v.getInt32(i * 8 + 4, true)];
    const rels = prog.relocations.filter((r) => r.call).map((r) => r.insnIndex);
    expect(rels.map(call)).toEqual([[0x85, 2, 0, 65918], [0x85, 2, 1, 1234], [0x85, 0, 0, 2002000002]]);
  });
  test("BTF fixed: the extern FUNCs become global with named parameters, .ksyms entries a dummy int VAR", () => {
    const b = fixture("kfuncs");
    const s = shdr(b, ".BTF");
    const btf = new Btf(b.subarray(s.offset, s.offset + s.size));
    const fixed = new Btf(sanitizeBtf(btf, ALL_BTF_FEATURES, dataLayoutOf(obj), externBtfLayout(obj))).validate();
    const f = fixed.find(BTF_KIND_FUNC, "bpf_task_from_pid")!;
    expect(f.vlen).toBe(1);
    const proto = fixed.type(f.sizeOrType);
    expect(proto.kind).toBe(BTF_KIND_FUNC_PROTO);
    expect(proto.params!.every((p) => p.name !== "")).toBe(true);
    const ks = fixed.datasec(".ksyms")!;
    expect(ks.kind).toBe(BTF_KIND_DATASEC);
    expect(ks.secinfos!.map((x) => fixed.type(x.type).kind)).toEqual([BTF_KIND_VAR, BTF_KIND_VAR, BTF_KIND_VAR]);
  });
});

test("helper rewrite: probe_read_kernel/_user(_str) calls become probe_read(_str); other calls, kfuncs and ld_imm64 halves untouched", async () => {
  const obj = await readObject(fixture("probe_read_kernel"), "probe_read_kernel.o");
  const helpers = (b: Uint8Array) => [...Array(b.length / 8).keys()].filter((i) => b[i * 8] === 0x85).map((i) => new DataView(b.buffer).getInt32(i * 8 + 4, true));
  const [plain, str] = obj.programs.map((p) => linkProgram(obj, p, { mapFd: () => 0 }));
  expect([helpers(plain!), helpers(str!)]).toEqual([[113], [115]]);
  expect([rewriteProbeReadHelpers(plain!), rewriteProbeReadHelpers(str!)]).toEqual([1, 1]);
  expect([helpers(plain!), helpers(str!)]).toEqual([[4], [45]]);
  // a kfunc call (src_reg 2) with imm 112, and an ld_imm64 whose second half looks like a call of 113
  const other = new Uint8Array([0x85, 0x20, 0, 0, 112, 0, 0, 0, 0x18, 0x01, 0, 0, 0, 0, 0, 0, 0x85, 0, 0, 0, 113, 0, 0, 0, 0x85, 0, 0, 0, 114, 0, 0, 0]);
  expect(rewriteProbeReadHelpers(other)).toBe(1);
  expect([other[4], other[20], other[28]]).toEqual([112, 113, 45]);
});

test("fixExternBtf alone: appends one int and one VAR, only when .ksyms exists", () => {
  const types: Parameters<typeof fixExternBtf>[0] = [{ kind: BTF_KIND_DATASEC, name: ".kconfig", sizeOrType: 0, vlen: 0, kindFlag: false, secinfos: [] }];
  fixExternBtf(types, { kconfig: new Map(), kconfigSize: 0 }, true);
  expect(types.length).toBe(1);
});

// The BTF sanitizer: each libbpf rule on a hand-built blob with every kind, the ELF fix-ups on the
// btf_kinds fixture, and bpftool (libbpf's parser and checks) accepting every output. The kernel's
// own verdict is in test/kernel/btf-load.test.ts.
import { describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ALL_BTF_FEATURES, dataLayoutOf, sanitizeBtf, type BtfKernelFeatures } from "../../src/btf/sanitize.ts";
import { writeBtf } from "../../src/btf/write.ts";
import { BtfBuilder, BTF_FUNC_GLOBAL, BTF_VAR_GLOBAL_ALLOCATED } from "../../src/elf/btf-builder.ts";
import {
  Btf, BTF_KIND_CONST, BTF_KIND_DATASEC, BTF_KIND_ENUM, BTF_KIND_ENUM64, BTF_KIND_FLOAT, BTF_KIND_FUNC, BTF_KIND_FUNC_PROTO,
  BTF_KIND_INT, BTF_KIND_STRUCT, BTF_KIND_TYPEDEF, BTF_KIND_UNION, BTF_KIND_VAR,
} from "../../src/elf/btf.ts";
import { formatBtfRaw } from "../../src/elf/btf-format.ts";
import { readObject } from "../../src/elf/index.ts";
import { fixture, shdr } from "../elf/helpers.ts";

const bpftool = Bun.which("bpftool");

function bpftoolAccepts(bytes: Uint8Array): string {
  const dir = mkdtempSync(join(tmpdir(), "bpfload-sanitize-"));
  try {
    writeFileSync(join(dir, "x.btf"), bytes);
    const r = Bun.spawnSync([bpftool!, "btf", "dump", "file", join(dir, "x.btf")]);
    expect(r.stderr.toString()).toBe("");
    expect(r.exitCode).toBe(0);
    return r.stdout.toString();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Every kind the sanitizer touches, with known ids. */
function everyKind(): Btf {
  const b = new BtfBuilder();
  const int = b.int("int", 4); // 1
  const proto = b.funcProto(int, [{ name: "a", type: int }]); // 2
  b.func("f", proto, BTF_FUNC_GLOBAL); // 3
  const x = b.variable("x", int, BTF_VAR_GLOBAL_ALLOCATED); // 4
  b.datasec(".data.x?", 8, [{ type: x, offset: 4, size: 4 }]); // 5
  b.float("float", 8); // 6
  b.declTag("tag", x); // 7
  b.typeTag("tt", int); // 8
  b.enum64("e", 8, [{ name: "a", value: -2n }, { name: "big", value: 0x1_0000_0002n }], true); // 9
  return new Btf(b.build());
}
const without = (f: keyof BtfKernelFeatures): BtfKernelFeatures => ({ ...ALL_BTF_FEATURES, [f]: false });
const after = (features: BtfKernelFeatures) => new Btf(sanitizeBtf(everyKind(), features)).validate();

describe("libbpf's rules, one feature missing at a time", () => {
  test("all features: the same types", () => {
    expect(formatBtfRaw(after(ALL_BTF_FEATURES))).toBe(formatBtfRaw(everyKind()));
  });
  test("no VAR/DATASEC: VAR → 1-byte INT, DATASEC → STRUCT of the variables, name made an identifier", () => {
    const b = after(without("datasec"));
    expect(b.type(4)).toMatchObject({ kind: BTF_KIND_INT, name: "x", sizeOrType: 1, int: { encoding: 0, offset: 0, bits: 8 } });
    expect(b.type(5)).toMatchObject({ kind: BTF_KIND_STRUCT, name: "_data_x_", sizeOrType: 8, members: [{ name: "x", type: 4, offset: 32 }] });
  });
  test("no FUNC: FUNC_PROTO → ENUM of its parameters, FUNC → TYPEDEF", () => {
    const b = after(without("func"));
    expect(b.type(2)).toMatchObject({ kind: BTF_KIND_ENUM, sizeOrType: 4, values: [{ name: "a", value: 1n }] });
    expect(b.type(3)).toMatchObject({ kind: BTF_KIND_TYPEDEF, name: "f", sizeOrType: 2, vlen: 0 });
  });
  test("no global FUNC: linkage static", () => {
    expect(after(ALL_BTF_FEATURES).type(3).vlen).toBe(1);
    expect(after(without("funcGlobal")).type(3)).toMatchObject({ kind: BTF_KIND_FUNC, vlen: 0 });
  });
  test("no FLOAT: anonymous STRUCT of the same size", () => {
    expect(after(without("float")).type(6)).toMatchObject({ kind: BTF_KIND_STRUCT, name: "", sizeOrType: 8, members: [] });
  });
  test("no DECL_TAG: anonymous 1-byte INT", () => {
    expect(after(without("declTag")).type(7)).toMatchObject({ kind: BTF_KIND_INT, name: "", sizeOrType: 1, int: { bits: 8 } });
  });
  test("no TYPE_TAG: anonymous CONST of the same type", () => {
    expect(after(without("typeTag")).type(8)).toMatchObject({ kind: BTF_KIND_CONST, name: "", sizeOrType: 1 });
  });
  test("no ENUM64: UNION of placeholder members, the placeholder INT appended; ENUM kind_flag cleared", () => {
    const b = after(without("enum64"));
    expect(b.typeCount).toBe(11);
    expect(b.type(10)).toMatchObject({ kind: BTF_KIND_INT, name: "enum64_placeholder", sizeOrType: 1 });
    expect(b.type(9)).toMatchObject({ kind: BTF_KIND_UNION, name: "e", sizeOrType: 8, kindFlag: false, members: [{ name: "a", type: 10, offset: 0 }, { name: "big", type: 10, offset: 0 }] });
    const signed = new Btf(writeBtf([{ kind: BTF_KIND_ENUM, name: "s", sizeOrType: 4, vlen: 1, kindFlag: true, values: [{ name: "m", value: -3n }] }]));
    expect(signed.type(1).values![0]!.value).toBe(-3n);
    const cleared = new Btf(sanitizeBtf(signed, without("enum64"))).type(1);
    expect([cleared.kindFlag, cleared.values![0]!.value]).toEqual([false, 0xfffffffdn]);
  });
  test("sizes survive every rule", () => {
    const none: BtfKernelFeatures = { func: false, funcGlobal: false, datasec: false, float: false, declTag: false, typeTag: false, enum64: false };
    const b = after(none);
    for (const id of [1, 5, 6, 9]) expect(b.sizeOf(id)).toBe(everyKind().sizeOf(id));
    for (let id = 1; id < b.typeCount; id++) expect([BTF_KIND_VAR, BTF_KIND_DATASEC, BTF_KIND_FUNC, BTF_KIND_FUNC_PROTO, BTF_KIND_FLOAT, 17, 18, BTF_KIND_ENUM64]).not.toContain(b.type(id).kind);
  });
  test.skipIf(!bpftool)("bpftool accepts every output", () => {
    for (const f of Object.keys(ALL_BTF_FEATURES) as (keyof BtfKernelFeatures)[]) bpftoolAccepts(sanitizeBtf(everyKind(), without(f)));
  });
});

test("globals.o: clang placed the static variables, the globals get their symbols' offsets", async () => {
  const bytes = fixture("globals");
  const obj = await readObject(bytes, "globals.o");
  const s = shdr(bytes, ".BTF");
  const btf = new Btf(bytes.slice(s.offset, s.offset + s.size));
  const fixed = new Btf(sanitizeBtf(btf, ALL_BTF_FEATURES, dataLayoutOf(obj))).validate();
  const at = (sec: string) => fixed.datasec(sec)!.secinfos!.map((v) => `${fixed.type(v.type).name}@${v.offset}`);
  // oracle: llvm-readelf -s globals.o
  expect(at(".data")).toEqual(["hits@0", "flags_data@8", "greeting.0@24"]);
  expect(at(".bss")).toEqual(["misses@0", "last_cpu@8"]);
  expect(at(".rodata")).toEqual(["target_pid@0", "limit@8"]);
});

describe("the ELF fix-ups on btf_kinds.o", async () => {
  const bytes = fixture("btf_kinds");
  const obj = await readObject(bytes, "btf_kinds.o");
  const s = shdr(bytes, ".BTF");
  const btf = new Btf(bytes.slice(s.offset, s.offset + s.size));
  const layout = dataLayoutOf(obj);
  const fixed = new Btf(sanitizeBtf(btf, ALL_BTF_FEATURES, layout)).validate();

  test("clang left DATASEC sizes and VAR offsets 0", () => {
    expect(btf.datasec(".bss")!.sizeOrType).toBe(0);
    expect(btf.datasec(".bss")!.secinfos!.map((v) => v.offset)).toEqual([0, 0]);
  });
  test("sizes from the section table, offsets from the symbols, sorted by offset", () => {
    for (const name of [".bss", ".data", ".rodata", "license"]) {
      const d = fixed.datasec(name)!;
      expect(`${name} ${d.sizeOrType}`).toBe(`${name} ${obj.sections.find((x) => x.name === name)!.size}`);
      for (const v of d.secinfos!) {
        const sym = obj.symbols.find((y) => y.name === fixed.type(v.type).name)!;
        expect(`${fixed.type(v.type).name} ${v.offset}`).toBe(`${sym.name} ${sym.value}`);
      }
      const offs = d.secinfos!.map((v) => v.offset);
      expect(offs).toEqual([...offs].sort((a, b) => a - b));
    }
    const bss = fixed.datasec(".bss")!.secinfos!.map((v) => fixed.type(v.type).name);
    expect(new Set(bss)).toEqual(new Set(["hidden", "counter"]));
  });
  test("a DATASEC without its ELF section is an error, not a guess", () => {
    expect(() => sanitizeBtf(btf, ALL_BTF_FEATURES, { sectionSize: () => undefined, symbolOffset: () => undefined })).toThrow(/datasec '.bss' has no ELF section/);
  });
  test.skipIf(!bpftool)("the sanitized fixture parses and bpftool accepts it, with every feature and with none", () => {
    bpftoolAccepts(sanitizeBtf(btf, ALL_BTF_FEATURES, layout));
    const none: BtfKernelFeatures = { func: false, funcGlobal: false, datasec: false, float: false, declTag: false, typeTag: false, enum64: false };
    const old = sanitizeBtf(btf, none, layout);
    new Btf(old).validate();
    bpftoolAccepts(old);
  });
});

describe("__hidden global functions", () => {
  // libbpf verifies a global function of restricted visibility as a static one (in its caller's
  // context): usdt.bpf.h's bpf_usdt_arg(ctx, n, long *res) stores through res, which a global
  // function's own verification sees as mem_or_null.
  const linkageOf = async (file: string, fn: string) => {
    const bytes = fixture(file);
    const obj = await readObject(bytes, file);
    const s = obj.sections.find((x) => x.name === ".BTF")!;
    const btf = new Btf(bytes.subarray(s.offset, s.offset + s.size));
    const out = new Btf(sanitizeBtf(btf, ALL_BTF_FEATURES, dataLayoutOf(obj)));
    const id = [...Array(out.typeCount).keys()].slice(1).find((i) => out.type(i).kind === BTF_KIND_FUNC && out.type(i).name === fn)!;
    return { before: btf.type(id).vlen, after: out.type(id).vlen }; // a FUNC's linkage is its vlen
  };
  test("a __hidden one becomes static, a plain global one stays global", async () => {
    expect(await linkageOf("usdt/usdt_lib", "bpf_usdt_arg")).toEqual({ before: BTF_FUNC_GLOBAL, after: 0 });
    expect(await linkageOf("calls", "global_square")).toEqual({ before: BTF_FUNC_GLOBAL, after: BTF_FUNC_GLOBAL });
  });
});

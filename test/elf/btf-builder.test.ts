// The BTF blob builder against two readers it shares no code with: bpftool's (libbpf's parser and
// validation: `bpftool btf dump file`) and, for the header and type records, our own reader btf.ts.
import { expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { BtfBuilder, BTF_FUNC_GLOBAL, BTF_VAR_GLOBAL_ALLOCATED } from "../../src/elf/btf-builder.ts";
import { Btf, BTF_KIND_DATASEC, BTF_KIND_ENUM64, BTF_KIND_FUNC, BTF_KIND_INT, BTF_KIND_PTR, BTF_KIND_TYPE_TAG } from "../../src/elf/btf.ts";

function everyKind(): Uint8Array {
  const b = new BtfBuilder();
  const int = b.int("int", 4);
  b.func("f", b.funcProto(int, [{ name: "a", type: int }]), BTF_FUNC_GLOBAL);
  const x = b.variable("x", int, BTF_VAR_GLOBAL_ALLOCATED);
  b.datasec(".data", 4, [{ type: x, offset: 0, size: 4 }]);
  b.float("float", 4);
  b.declTag("tag", x);
  b.ptr(b.typeTag("tt", int));
  b.enum64("e", 8, [{ name: "a", value: -2n }, { name: "big", value: 0x1_0000_0002n }], true);
  return b.build();
}

test("ids, kinds, names and sizes read back with btf.ts", () => {
  const types = new Btf(everyKind()).types;
  expect(types.map((t) => t && [t.id, t.kind, t.name])).toEqual([
    undefined, [1, BTF_KIND_INT, "int"], [2, 13, ""], [3, BTF_KIND_FUNC, "f"], [4, 14, "x"], [5, BTF_KIND_DATASEC, ".data"],
    [6, 16, "float"], [7, 17, "tag"], [8, BTF_KIND_TYPE_TAG, "tt"], [9, BTF_KIND_PTR, ""], [10, BTF_KIND_ENUM64, "e"],
  ]);
  expect(types[5]!.secinfos).toEqual([{ type: 4, offset: 0, size: 4 }]);
  expect(types[10]!.kindFlag).toBe(true);
});

test("a name used twice is stored once", () => {
  const b = new BtfBuilder();
  b.int("int", 4);
  b.variable("int", 1);
  const v = new DataView(b.build().buffer);
  expect(v.getUint32(20, true)).toBe("\0int\0".length); // str_len
});

const bpftool = Bun.which("bpftool");
test.skipIf(!bpftool)("bpftool (libbpf) parses every kind to the same types", () => {
  const dir = mkdtempSync(`${tmpdir()}/btf-builder-`);
  try {
    writeFileSync(`${dir}/all.btf`, everyKind());
    const r = Bun.spawnSync([bpftool!, "-j", "btf", "dump", "file", `${dir}/all.btf`]);
    expect(r.stderr.toString()).toBe("");
    const types = JSON.parse(r.stdout.toString()).types;
    expect(types).toEqual([
      { id: 1, kind: "INT", name: "int", size: 4, bits_offset: 0, nr_bits: 32, encoding: "SIGNED" },
      { id: 2, kind: "FUNC_PROTO", name: "(anon)", ret_type_id: 1, vlen: 1, params: [{ name: "a", type_id: 1 }] },
      { id: 3, kind: "FUNC", name: "f", type_id: 2, linkage: "global" },
      { id: 4, kind: "VAR", name: "x", type_id: 1, linkage: "global" },
      { id: 5, kind: "DATASEC", name: ".data", size: 4, vlen: 1, vars: [{ type_id: 4, offset: 0, size: 4 }] },
      { id: 6, kind: "FLOAT", name: "float", size: 4 },
      { id: 7, kind: "DECL_TAG", name: "tag", type_id: 4, component_idx: -1 },
      { id: 8, kind: "TYPE_TAG", name: "tt", type_id: 1 },
      { id: 9, kind: "PTR", name: "(anon)", type_id: 8 },
      expect.objectContaining({ id: 10, kind: "ENUM64", name: "e", size: 8, vlen: 2, encoding: "SIGNED" }),
    ]);
    expect(types[9].values.map((v: { name: string; val: number | string }) => [v.name, BigInt(v.val)])).toEqual([["a", -2n], ["big", 0x1_0000_0002n]]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// struct_ops, the pure parts: the variables and their members' programs read from struct_ops_ca.o
// (oracle: llvm-readelf's relocations and symbols), and their value laid out in this kernel's
// bpf_struct_ops_tcp_congestion_ops (oracle: `bpftool btf dump file /sys/kernel/btf/vmlinux format
// raw`: sizes, bit offsets, member order). libbpf's refusals on hand-built object BTF.
import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { Btf } from "../../src/elf/btf.ts";
import { BtfBuilder } from "../../src/elf/btf-builder.ts";
import { readObject } from "../../src/elf/index.ts";
import { layoutStructOps, StructOpsError, structOpsValue, type StructOpsSpec } from "../../src/elf/struct-ops.ts";
import { REPO } from "../support.ts";

const OBJ = `${REPO}/test/fixtures/struct_ops/struct_ops_ca.o`;
const VMLINUX = "/sys/kernel/btf/vmlinux";
const bpftool = Bun.which("bpftool");
const readelf = Bun.which("llvm-readelf");

async function specs(): Promise<{ structOps: StructOpsSpec[]; btf: Btf }> {
  const bytes = new Uint8Array(readFileSync(OBJ));
  const o = await readObject(bytes, "struct_ops_ca.o");
  const s = o.sections.find((x) => x.name === ".BTF")!;
  return { structOps: o.structOps!, btf: new Btf(bytes.subarray(s.offset, s.offset + s.size)) };
}

describe("struct_ops variables of an object", () => {
  test.skipIf(!readelf)("struct_ops_ca.o: two variables, each member's program as llvm-readelf's relocations name it", async () => {
    const { structOps } = await specs();
    expect(structOps.map((s) => [s.name, s.section, s.link, s.typeName])).toEqual([
      ["bpfload_mini", ".struct_ops", false, "tcp_congestion_ops"],
      ["bpfload_mini_link", ".struct_ops.link", true, "tcp_congestion_ops"],
    ]);
    const text = Bun.spawnSync([readelf!, "-r", OBJ]).stdout.toString();
    for (const s of structOps) {
      const part = text.split(/Relocation section '/).find((p) => p.startsWith(`.rel${s.section}'`))!;
      const relocs = [...part.matchAll(/^([0-9a-f]{16})\s+\S+\s+R_BPF_64_ABS64\s+\S+\s+(\S+)$/gm)].map((m) => [parseInt(m[1]!, 16), m[2]]);
      expect(relocs.length).toBe(3);
      expect(s.funcs.map((f) => [f.offset, f.program]).sort()).toEqual(relocs.sort() as [number, string][]);
    }
    expect(new TextDecoder().decode(structOps[0]!.data).includes("bpfload_mini\0")).toBe(true);
  });

  test("a relocation to something else than a program, or off a function member, is an ObjectError naming the section", async () => {
    const bytes = new Uint8Array(readFileSync(OBJ));
    const o = await readObject(bytes, "x.o");
    const rel = o.sections.find((x) => x.name === ".rel.struct_ops")!;
    const license = o.symbols.find((x) => x.name === "_license")!.index;
    const toLicense = bytes.slice();
    new DataView(toLicense.buffer).setUint32(rel.offset + 12, license, true);
    await expect(readObject(toLicense, "x.o")).rejects.toThrow(/points at '_license', which is not a program of a struct_ops\/ section/);
    const offMember = bytes.slice();
    new DataView(offMember.buffer).setBigUint64(rel.offset, 4n, true); // inside the first member, not on a function pointer
    await expect(readObject(offMember, "x.o")).rejects.toThrow(/\.struct_ops.*is not on a function pointer member of struct tcp_congestion_ops/);
  });
});

/** bpftool's raw dump of one struct: size and members (name, type id, bit offset) in order. */
function bpftoolStruct(dump: string, name: string): { id: number; size: number; members: { name: string; bits: number }[] } {
  const lines = dump.split("\n");
  const i = lines.findIndex((l) => new RegExp(`^\\[\\d+\\] STRUCT '${name}' size=`).test(l));
  const head = lines[i]!.match(/^\[(\d+)\] STRUCT '\S+' size=(\d+) vlen=(\d+)/)!;
  const members = lines.slice(i + 1, i + 1 + Number(head[3])).map((l) => {
    const m = l.match(/'(\S+)' type_id=\d+ bits_offset=(\d+)/)!;
    return { name: m[1]!, bits: Number(m[2]) };
  });
  return { id: Number(head[1]), size: Number(head[2]), members };
}

const skipKernel = !existsSync(VMLINUX) ? `no ${VMLINUX}` : !bpftool ? "no bpftool (the oracle)" : undefined;
if (skipKernel) console.warn(`[skip] struct_ops layout on this kernel's BTF: ${skipKernel}`);

describe.skipIf(!!skipKernel)("struct_ops values in this kernel's layout", () => {
  const kernel = skipKernel ? undefined : new Btf(new Uint8Array(readFileSync(VMLINUX)));
  const dump = skipKernel ? "" : Bun.spawnSync([bpftool!, "btf", "dump", "file", VMLINUX, "format", "raw"]).stdout.toString();

  test("tcp_congestion_ops: value size, data offset, member offsets and indexes as bpftool dumps them", async () => {
    const { structOps, btf } = await specs();
    const wrapper = bpftoolStruct(dump, "bpf_struct_ops_tcp_congestion_ops");
    const ops = bpftoolStruct(dump, "tcp_congestion_ops");
    const dataBits = wrapper.members.find((m) => m.name === "data")!.bits;
    const layout = layoutStructOps(structOps[0]!, btf, kernel!);
    expect(layout.kernel.valueTypeId).toBe(wrapper.id);
    expect(layout.kernel.typeId).toBe(ops.id);
    expect(layout.kernel.valueSize).toBe(wrapper.size);
    expect(layout.kernel.dataOffset).toBe(dataBits / 8);
    const expected = ["ssthresh", "undo_cwnd", "cong_avoid"].map((name) => {
      const index = ops.members.findIndex((m) => m.name === name);
      return { member: name, index, valueOffset: (dataBits + ops.members[index]!.bits) / 8 };
    });
    const got = layout.slots.map((s) => ({ member: s.target.what.split(".")[1], index: s.target.memberIndex, valueOffset: s.valueOffset }));
    expect(got.sort((a, b) => a.index - b.index)).toEqual(expected.sort((a, b) => a.index - b.index));
    for (const s of layout.slots) expect(s.target.attachBtfId).toBe(ops.id);
    // the name copied at the kernel's offset of `name`; every other byte zero
    const nameAt = (dataBits + ops.members.find((m) => m.name === "name")!.bits) / 8;
    const want = new Uint8Array(wrapper.size);
    want.set(new TextEncoder().encode("bpfload_mini"), nameAt);
    expect(layout.value).toEqual(want);
    // the programs' fds go in their members, 8 bytes each
    const fds: Record<string, number> = { mini_ssthresh: 7, mini_undo_cwnd: 8, mini_cong_avoid: 9 };
    const v = new DataView(structOpsValue(layout, (p) => fds[p]).buffer);
    for (const e of expected) expect(v.getBigUint64(e.valueOffset, true)).toBe(BigInt(fds[`mini_${e.member}`]!));
    expect(() => structOpsValue(layout, () => undefined)).toThrow(StructOpsError);
  });

  /** An object struct tcp_congestion_ops of our own: `flags` (u32 or u64), `bogus` (not in the kernel), `ssthresh` (a function pointer or an int). */
  function handMade(opts: { flagsBytes?: number; bogus?: number; ssthreshInt?: boolean }): { spec: StructOpsSpec; btf: Btf } {
    const b = new BtfBuilder();
    const u32 = b.int("unsigned int", 4, 0);
    const u64 = b.int("unsigned long long", 8, 0);
    const fn = b.ptr(b.funcProto(u32, []));
    const flagsType = opts.flagsBytes === 8 ? u64 : u32;
    const id = b.struct("tcp_congestion_ops", 24, [
      { name: "flags", type: flagsType, bitOffset: 0 },
      { name: "bogus", type: u32, bitOffset: 64 },
      { name: "ssthresh", type: opts.ssthreshInt ? u64 : fn, bitOffset: 128 },
    ]);
    const data = new Uint8Array(24);
    const dv = new DataView(data.buffer);
    dv.setUint32(0, 0x1234, true);
    dv.setUint32(8, opts.bogus ?? 0, true);
    const btf = new Btf(b.build());
    return { spec: { name: "ca", section: ".struct_ops", link: false, typeName: "tcp_congestion_ops", typeId: id, data, funcs: opts.ssthreshInt ? [] : [{ member: "ssthresh", offset: 16, program: "p" }] }, btf };
  }

  test("a zero member the kernel lacks is left out; data copied by name", () => {
    const { spec, btf } = handMade({});
    const layout = layoutStructOps(spec, btf, kernel!);
    const wrapper = bpftoolStruct(dump, "bpf_struct_ops_tcp_congestion_ops");
    const ops = bpftoolStruct(dump, "tcp_congestion_ops");
    const dataBits = wrapper.members.find((m) => m.name === "data")!.bits;
    const flagsAt = (dataBits + ops.members.find((m) => m.name === "flags")!.bits) / 8;
    expect(new DataView(layout.value.buffer).getUint32(flagsAt, true)).toBe(0x1234);
    expect(layout.slots.map((s) => s.target.memberIndex)).toEqual([ops.members.findIndex((m) => m.name === "ssthresh")]);
  });

  test("refused as libbpf refuses them: a set member the kernel lacks, a size or kind that differs", () => {
    expect(() => layoutStructOps(handMade({ bogus: 1 }).spec, handMade({ bogus: 1 }).btf, kernel!)).toThrow(/member 'bogus' is set, but the kernel's struct has no such member/);
    const wide = handMade({ flagsBytes: 8 });
    expect(() => layoutStructOps(wide.spec, wide.btf, kernel!)).toThrow(/member 'flags' is 8 bytes in the object, 4 in the kernel/);
    const int = handMade({ ssthreshInt: true });
    expect(() => layoutStructOps(int.spec, int.btf, kernel!)).toThrow(/member 'ssthresh' is a int in the object, a ptr in the kernel/i);
  });

  test("a struct the kernel has but cannot take as struct_ops is named", () => {
    const { spec, btf } = handMade({});
    expect(() => layoutStructOps({ ...spec, typeName: "task_struct" }, btf, kernel!)).toThrow(/not a struct_ops type of this kernel \(no struct bpf_struct_ops_task_struct/);
    expect(() => layoutStructOps({ ...spec, typeName: "no_such_ops_xyz" }, btf, kernel!)).toThrow(/this kernel has no struct no_such_ops_xyz/);
  });
});

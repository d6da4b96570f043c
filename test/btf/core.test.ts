// The CO-RE engine, pure: hand-made target BTF for each of libbpf's rules (flavors, anonymous
// members, arrays, bitfields, ambiguity, memory-size changes, type matches, enum values, module
// fallback, poisoning), and the fixtures relocated against their own BTF, where every value must be
// the one clang wrote (the compiler as the oracle). test/kernel/core-oracle.test.ts compares with libbpf.
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import {
  CORE_POISON_HELPER, CoreError, CoreRelocator, explainPoisonedLoad, relocateProgram, resolveRecords, type CoreRelocationResult,
} from "../../src/btf/core/index.ts";
import { Btf, readBtfExt, type BtfCoreRelo } from "../../src/elf/btf.ts";
import { readObject } from "../../src/elf/index.ts";
import { REPO } from "../support.ts";
import { insns, TestBtf } from "./core-btf.ts";

const BYTE_OFF = 0, BYTE_SZ = 1, EXISTS = 2, SIGNED = 3, LSHIFT = 4, RSHIFT = 5, ID_LOCAL = 6, ID_TARGET = 7, TYPE_EXISTS = 8, TYPE_SIZE = 9, ENUM_EXISTS = 10, ENUM_VALUE = 11, MATCHES = 12;
const rec = (typeId: number, accessStr: string, kind: number, insnOff = 0): BtfCoreRelo => ({ insnOff, typeId, accessStr, kind });
const ALU_MOV = 0xb7, LDX_W = 0x61, LDX_DW = 0x79, LD_IMM64 = 0x18;

/** Local: struct task { int pid; struct task *parent; long state; unsigned int flags; } and friends. */
function local() {
  const b = new TestBtf();
  const int = b.int("int", 4);
  const task = b.next;
  b.struct("task", 24, [{ name: "pid", type: int, bits: 0 }, { name: "parent", type: task + 1, bits: 64 }, { name: "flags", type: task + 2, bits: 128 }, { name: "nice", type: int, bits: 160 }]);
  b.ptr(task);
  const uint = b.int("unsigned int", 4, false);
  const flavored = b.struct("task___v1", 8, [{ name: "state", type: b.int("long", 8), bits: 0 }]);
  return { btf: b.build(), int, task, uint, flavored };
}

/** Target: the same struct with other offsets, `pid` inside an anonymous union, flags 8 bytes. */
function target(opts: { duplicate?: "same" | "other" } = {}) {
  const b = new TestBtf();
  const int = b.int("int", 4);
  const ulong = b.int("unsigned long", 8, false);
  const long = b.int("long", 8);
  const anon = b.struct("", 4, [{ name: "pid", type: int, bits: 0 }, { name: "other", type: int, bits: 0 }], true);
  const task = b.next;
  b.struct("task", 64, [{ name: "state", type: long, bits: 0 }, { name: "", type: anon, bits: 64 }, { name: "parent", type: task + 1, bits: 128 }, { name: "flags", type: ulong, bits: 192 }, { name: "nice", type: long, bits: 256 }]);
  b.ptr(task);
  if (opts.duplicate) b.struct("task", 64, [{ name: "pid", type: int, bits: opts.duplicate === "same" ? 64 : 96 }]);
  return { btf: b.build(), task };
}

function one(r: CoreRelocator, relo: BtfCoreRelo, code: number[]): { res: CoreRelocationResult; out: Uint8Array } {
  const prog = insns(code as [number, number, number, number], [0x95, 0, 0, 0], [0, 0, 0, 0]);
  const res = relocateProgram(r, prog, [{ fn: { name: "f", section: "s", sectionOffset: 0, insns: prog }, start: 0 }], [{ section: "s", records: [relo] }]);
  expect(res.length).toBe(1);
  return { res: res[0]!, out: prog };
}
const imm = (p: Uint8Array, i = 0) => new DataView(p.buffer).getInt32(i * 8 + 4, true);
const off = (p: Uint8Array, i = 0) => new DataView(p.buffer).getInt16(i * 8 + 2, true);

describe("CO-RE field relocations", () => {
  test("byte offset through an anonymous union member, spec and target named", () => {
    const l = local();
    const t = target();
    const { res, out } = one(new CoreRelocator(l.btf, [{ name: "vmlinux", btf: t.btf }]), rec(l.task, "0:0", BYTE_OFF), [ALU_MOV, 1, 0, 0]);
    expect(res.error).toBeUndefined();
    expect(res.access).toBe("struct task.pid");
    expect(res.localSpec).toBe(`<byte_off> [${l.task}] struct task.pid (0:0 @ offset 0)`);
    expect(res.target).toMatchObject({ btf: "vmlinux", typeId: t.task, spec: "0:1:0" });
    expect(res.targetSpec).toBe(`<byte_off> [${t.task}] struct task.pid (0:1:0 @ offset 8)`);
    expect(imm(out)).toBe(8);
    expect(res.patch).toEqual(["patched insn #0 (ALU/ALU64) imm 0 -> 8"]);
  });

  test("___flavor: a local task___v1 finds the target's task; a field only the flavor has", () => {
    const l = local();
    const r = new CoreRelocator(l.btf, [{ name: "vmlinux", btf: target().btf }]);
    expect(one(r, rec(l.flavored, "0:0", BYTE_OFF), [ALU_MOV, 1, 0, 0]).out.slice(4, 8)).toEqual(new Uint8Array([0, 0, 0, 0])); // state at 0
    expect(imm(one(r, rec(l.flavored, "0:0", EXISTS), [ALU_MOV, 1, 0, 1]).out)).toBe(1);
  });

  test("LDX of an unsigned field that grew (4 -> 8 bytes): offset and memory size patched", () => {
    const l = local();
    const { res, out } = one(new CoreRelocator(l.btf, [{ name: "vmlinux", btf: target().btf }]), rec(l.task, "0:2", BYTE_OFF), [LDX_W, 0x10, 16, 0]);
    expect(res.patch).toEqual(["patched insn #0 (LDX/ST/STX) off 16 -> 24", "patched insn #0 (LDX/ST/STX) mem_sz 4 -> 8"]);
    expect(out[0]).toBe(LDX_DW);
    expect(off(out)).toBe(24);
  });

  test("LDX of a signed field whose size changed is poisoned, as libbpf does", () => {
    const l = local();
    const { res, out } = one(new CoreRelocator(l.btf, [{ name: "vmlinux", btf: target().btf }]), rec(l.task, "0:3", BYTE_OFF), [LDX_W, 0x10, 20, 0]);
    expect(res.poisoned).toBe(true);
    expect(res.patch).toEqual(["substituting insn #0 w/ invalid insn"]);
    expect([out[0], imm(out)]).toEqual([0x85, CORE_POISON_HELPER]);
  });

  test("a field no candidate has: exists 0, the offset poisoned (ld_imm64 in both halves)", () => {
    const b = new TestBtf();
    const int = b.int("int", 4);
    const s = b.struct("task", 8, [{ name: "missing", type: int, bits: 32 }]);
    const r = new CoreRelocator(b.build(), [{ name: "vmlinux", btf: target().btf }]);
    expect(imm(one(r, rec(s, "0:0", EXISTS), [ALU_MOV, 1, 0, 1]).out)).toBe(0);
    const prog = insns([LD_IMM64, 1, 0, 4], [0, 0, 0, 0], [0x95, 0, 0, 0]);
    const [res] = relocateProgram(r, prog, [{ fn: { name: "f", section: "s", sectionOffset: 0, insns: prog }, start: 0 }], [{ section: "s", records: [rec(s, "0:0", BYTE_OFF)] }]);
    expect(res!.patch).toEqual(["substituting insn #0 w/ invalid insn", "substituting insn #1 w/ invalid insn"]);
    expect([imm(prog, 0), imm(prog, 1)]).toEqual([CORE_POISON_HELPER, CORE_POISON_HELPER]);
    expect(res!.why).toMatch(/^the target's \[\d+\] struct task has no \.missing$/);
  });

  test("two candidates: same offset is fine, different offsets are an ambiguity error", () => {
    const l = local();
    const same = one(new CoreRelocator(l.btf, [{ name: "vmlinux", btf: target({ duplicate: "same" }).btf }]), rec(l.task, "0:0", BYTE_OFF), [ALU_MOV, 1, 0, 0]);
    expect(same.res.error).toBeUndefined();
    expect(imm(same.out)).toBe(8);
    const other = one(new CoreRelocator(l.btf, [{ name: "vmlinux", btf: target({ duplicate: "other" }).btf }]), rec(l.task, "0:0", BYTE_OFF), [ALU_MOV, 1, 0, 0]);
    expect(other.res.error).toMatch(/^field offset ambiguity: \[\d+\] struct task\.pid at bit 64 and \[\d+\] struct task\.pid at bit 96$/);
  });

  test("the instruction must hold the compiler's value (libbpf's validation)", () => {
    const l = local();
    const { res } = one(new CoreRelocator(l.btf, [{ name: "vmlinux", btf: target().btf }]), rec(l.task, "0:0", BYTE_OFF), [ALU_MOV, 1, 0, 99]);
    expect(res.error).toBe("unexpected instruction #0 (ALU/ALU64) value: got 99, expected 0 -> 8");
  });

  test("bitfields: offset, size, shifts and signedness of a 3-bit field at bit 13", () => {
    const b = new TestBtf();
    const uint = b.int("unsigned int", 4, false);
    const sint = b.int("int", 4);
    const s = b.struct("bits", 4, [{ name: "a", type: uint, bits: 0, bitfield: 3 }, { name: "b", type: sint, bits: 3, bitfield: 5 }]);
    const tb = new TestBtf();
    const tu = tb.int("unsigned int", 4, false);
    const ti = tb.int("int", 4);
    tb.struct("bits", 8, [{ name: "b", type: ti, bits: 13, bitfield: 5 }, { name: "a", type: tu, bits: 40, bitfield: 3 }]);
    const r = new CoreRelocator(b.build(), [{ name: "vmlinux", btf: tb.build() }]);
    const v = (kind: number, acc: string) => one(r, rec(s, acc, kind), [ALU_MOV, 1, 0, 0]).res.newValue;
    // a: 3 bits at 40 of a 4-byte uint: load 4 bytes at 4; lshift 64-(40+3-32) = 53, rshift 61, unsigned
    expect([v(BYTE_OFF, "0:0"), v(BYTE_SZ, "0:0"), v(LSHIFT, "0:0"), v(RSHIFT, "0:0"), v(SIGNED, "0:0")]).toEqual([4n, 4n, 53n, 61n, 0n]);
    // b: 5 bits at 13 of a 4-byte int: load 4 bytes at 0; lshift 64-(13+5) = 46, rshift 59, signed
    expect([v(BYTE_OFF, "0:1"), v(BYTE_SZ, "0:1"), v(LSHIFT, "0:1"), v(RSHIFT, "0:1"), v(SIGNED, "0:1")]).toEqual([0n, 4n, 46n, 59n, 1n]);
  });

  test("arrays: an element's offset and size; an index past the target's array does not match", () => {
    const b = new TestBtf();
    const ch = b.int("char", 1);
    const s = b.struct("named", 16, [{ name: "comm", type: b.array(ch, 16), bits: 0 }]);
    const tb = new TestBtf();
    const tch = tb.int("char", 1);
    const big = tb.int("long", 8);
    tb.struct("named", 16, [{ name: "x", type: big, bits: 0 }, { name: "comm", type: tb.array(tch, 8), bits: 64 }]);
    const r = new CoreRelocator(b.build(), [{ name: "vmlinux", btf: tb.build() }]);
    expect(one(r, rec(s, "0:0:3", BYTE_OFF), [ALU_MOV, 1, 0, 3]).res.newValue).toBe(11n);
    expect(one(r, rec(s, "0:0", BYTE_SZ), [ALU_MOV, 1, 0, 16]).res.newValue).toBe(8n);
    expect(one(r, rec(s, "0:0:12", EXISTS), [ALU_MOV, 1, 0, 1]).res.newValue).toBe(0n);
  });
});

describe("CO-RE type and enum relocations", () => {
  function types() {
    const b = new TestBtf();
    const lh = b.next;
    b.struct("list_head", 16, [{ name: "next", type: lh + 1, bits: 0 }, { name: "prev", type: lh + 1, bits: 64 }]);
    b.ptr(lh);
    const bad = b.struct("list_head___bad", 4, [{ name: "next", type: b.int("int", 4), bits: 0 }]);
    const e = b.enumType("pid_type", [["PIDTYPE_SID", 7], ["PIDTYPE_NOPE", 8]]);
    const absent = b.struct("nowhere", 4, []);
    const tb = new TestBtf();
    tb.int("int", 4);
    const tlh = tb.next;
    tb.struct("list_head", 16, [{ name: "next", type: tlh + 1, bits: 0 }, { name: "prev", type: tlh + 1, bits: 64 }]);
    tb.ptr(tlh);
    const te = tb.enum64("pid_type", [["PIDTYPE_PID", 0n], ["PIDTYPE_SID", 0x100000003n]]);
    return { local: b.build(), lh, bad, e, absent, target: tb.build(), tlh, te };
  }

  test("exists, size, target id, local id, matches", () => {
    const t = types();
    const r = new CoreRelocator(t.local, [{ name: "vmlinux", btf: t.target }]);
    const v = (id: number, kind: number, was = 1) => one(r, rec(id, "0", kind), [ALU_MOV, 1, 0, was]).res;
    expect(v(t.lh, TYPE_EXISTS).newValue).toBe(1n);
    expect(v(t.absent, TYPE_EXISTS).newValue).toBe(0n);
    expect(v(t.absent, TYPE_EXISTS).poisoned).toBe(false);
    expect(v(t.lh, TYPE_SIZE, 16).newValue).toBe(16n);
    expect(v(t.lh, ID_TARGET, 0).newValue).toBe(BigInt(t.tlh));
    expect(v(t.lh, ID_LOCAL, 0).newValue).toBe(BigInt(t.lh));
    expect(v(t.lh, MATCHES).newValue).toBe(1n);
    expect(v(t.bad, MATCHES).newValue).toBe(0n); // an int `next` does not match a pointer
    expect(v(t.bad, TYPE_EXISTS).newValue).toBe(1n); // but the type exists (kinds are enough)
  });

  test("enum values: a 32-bit local enum against an enum64 target, through ld_imm64", () => {
    const t = types();
    const r = new CoreRelocator(t.local, [{ name: "vmlinux", btf: t.target }]);
    const prog = insns([LD_IMM64, 1, 0, 7], [0, 0, 0, 0], [0x95, 0, 0, 0]);
    const [res] = relocateProgram(r, prog, [{ fn: { name: "f", section: "s", sectionOffset: 0, insns: prog }, start: 0 }], [{ section: "s", records: [rec(t.e, "0", ENUM_VALUE)] }]);
    expect(res!.patch).toEqual([`patched insn #0 (LDIMM64) imm64 7 -> ${0x100000003n}`]);
    expect([imm(prog, 0), imm(prog, 1)]).toEqual([3, 1]);
    expect(one(r, rec(t.e, "1", ENUM_EXISTS), [ALU_MOV, 1, 0, 1]).res.newValue).toBe(0n);
    const missing = one(r, rec(t.e, "1", ENUM_VALUE), [ALU_MOV, 1, 0, 8]).res;
    expect(missing.poisoned).toBe(true);
  });
});

describe("CO-RE targets and hostile input", () => {
  test("modules are searched only when vmlinux has no candidate, and only then read", () => {
    const l = local();
    let read = 0;
    const empty = new TestBtf();
    empty.int("int", 4);
    const modules = () => {
      read++;
      return [{ name: "mod", btf: target().btf }];
    };
    const r = new CoreRelocator(l.btf, [{ name: "vmlinux", btf: empty.build() }], modules);
    const { res } = one(r, rec(l.task, "0:0", BYTE_OFF), [ALU_MOV, 1, 0, 0]);
    expect(res.target?.btf).toBe("mod");
    expect(read).toBe(1);
    const withTask = new CoreRelocator(l.btf, [{ name: "vmlinux", btf: target().btf }], modules);
    expect(one(withTask, rec(l.task, "0:0", BYTE_OFF), [ALU_MOV, 1, 0, 0]).res.target?.btf).toBe("vmlinux");
    expect(read).toBe(1);
  });

  test("malformed records are errors, never exceptions or hangs", () => {
    const l = local();
    const r = new CoreRelocator(l.btf, [{ name: "vmlinux", btf: target().btf }]);
    expect(one(r, rec(l.task, "0:9", BYTE_OFF), [ALU_MOV, 1, 0, 0]).res.error).toMatch(/member 9 of struct task, which has 4/);
    expect(one(r, rec(999, "0:0", BYTE_OFF), [ALU_MOV, 1, 0, 0]).res.error).toMatch(/type id 999 does not exist/);
    expect(one(r, rec(l.task, "0:x", BYTE_OFF), [ALU_MOV, 1, 0, 0]).res.error).toMatch(/bad access string/);
    expect(one(r, rec(l.task, "0", 77), [ALU_MOV, 1, 0, 0]).res.error).toMatch(/unknown relocation kind 77/);
    expect(one(r, rec(l.task, "0:0", BYTE_OFF), [0x0f, 0x12, 0, 0]).res.error).toMatch(/register operand/);
  });

  test("a typedef loop in the target ends with an error", () => {
    const b = new TestBtf();
    const s = b.struct("looped", 4, [{ name: "x", type: b.int("int", 4), bits: 0 }]);
    const tb = new TestBtf();
    const first = tb.next;
    tb.typedef("looped", first + 1);
    tb.typedef("loop2", first);
    const r = new CoreRelocator(b.build(), [{ name: "vmlinux", btf: tb.build() }]);
    // the typedef is not a struct candidate; a typedef-rooted relocation meets the loop
    expect(one(r, rec(s, "0:0", BYTE_OFF), [ALU_MOV, 1, 0, 0]).res.poisoned).toBe(true);
    const lb = new TestBtf();
    const lt = lb.typedef("looped", lb.int("int", 4) + 0);
    const r2 = new CoreRelocator(lb.build(), [{ name: "vmlinux", btf: tb.build() }]);
    expect(one(r2, rec(lt, "0", TYPE_SIZE), [ALU_MOV, 1, 0, 4]).res.error).toMatch(/loop|too long|too deep/);
  });

  test("the verifier's 'invalid func unknown#195896080' is named as the relocation", () => {
    const results = [{ index: 4, section: "s", function: "f", insn: 0, linkedInsn: 12, kind: 0, kindName: "byte_off", access: "struct task_struct.real_parent", spec: "0:1", localTypeId: 1, localSpec: "", poisoned: true, why: "the target's [114] struct task_struct has no .real_parent" }];
    const log = "0: R1=ctx() R10=fp0\n12: (85) call unknown#195896080\ninvalid func unknown#195896080\nprocessed 13 insns\n";
    expect(explainPoisonedLoad(log, results)).toStartWith("relocation 4 (struct task_struct.real_parent) could not be resolved on this kernel: the target's [114] struct task_struct has no .real_parent");
    expect(explainPoisonedLoad("R1 invalid mem access 'scalar'\n", results)).toBeUndefined();
  });
});

describe("the fixtures against their own BTF: every value is the one clang wrote", () => {
  for (const name of ["core", "core_kinds", "core_task"]) {
    test(`${name}.o`, async () => {
      const file = `${REPO}/test/fixtures/${name}.o`;
      const bytes = new Uint8Array(readFileSync(file));
      const obj = await readObject(bytes, file);
      const sec = (n: string) => {
        const s = obj.sections.find((x) => x.name === n)!;
        return bytes.subarray(s.offset, s.offset + s.size);
      };
      const btf = new Btf(sec(".BTF"));
      const ext = readBtfExt(sec(".BTF.ext"), () => btf);
      const results = resolveRecords(new CoreRelocator(btf, [{ name: "self", btf }]), ext.coreRelo, obj.functions);
      expect(results.length).toBe(ext.coreRelo.reduce((n, s) => n + s.records.length, 0));
      let checked = 0;
      for (const r of results) {
        // type-based relocations of a root with ___flavor siblings are ambiguous against itself
        if (r.error) {
          expect(r.error).toMatch(/ambiguity/);
          continue;
        }
        // a bitfield's load is the compiler's choice (libbpf does not check it either)
        const bitfield = r.spec.split(":").length === 2 && bitfieldAt(btf, r.localTypeId, Number(r.spec.split(":")[1]));
        if (r.poisoned || bitfield || r.kind === ID_TARGET) continue;
        expect({ access: r.access, kind: r.kindName, value: r.newValue }).toEqual({ access: r.access, kind: r.kindName, value: r.oldValue });
        checked++;
      }
      expect(checked).toBeGreaterThan(0);
    });
  }
});

function bitfieldAt(btf: Btf, id: number, member: number): boolean {
  const t = btf.skipQualifiers(id);
  return t.kindFlag && !!t.members && (t.members[member]?.offset ?? 0) >>> 24 > 0;
}

test("CoreError is the engine's only failure type", () => {
  expect(new CoreError("x")).toBeInstanceOf(Error);
});

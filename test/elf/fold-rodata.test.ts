// foldRodata on hand-built instruction sequences: which uses of a .rodata pointer fold, which do not.
import { describe, expect, test } from "bun:test";
import { FoldError, foldRodata } from "../../src/elf/fold-rodata.ts";

function insn(code: number, dst: number, src: number, off: number, imm: number): number[] {
  const b = new Uint8Array(8);
  const v = new DataView(b.buffer);
  v.setUint8(0, code);
  v.setUint8(1, (src << 4) | dst);
  v.setInt16(2, off, true);
  v.setInt32(4, imm, true);
  return [...b];
}
const LD_MAP_VALUE = (dst: number) => [...insn(0x18, dst, 2, 0, 7), ...insn(0, 0, 0, 0, 0)];
const LDXW = (dst: number, src: number, off: number) => insn(0x61, dst, src, off, 0);
const LDXDW = (dst: number, src: number, off: number) => insn(0x79, dst, src, off, 0);
const ADD_K = (dst: number, imm: number) => insn(0x07, dst, 0, 0, imm);
const JEQ_K = (dst: number, imm: number, off: number) => insn(0x15, dst, 0, off, imm);
const MOV_X = (dst: number, src: number) => insn(0xbf, dst, src, 0, 0);
const MOV_K = (dst: number, imm: number) => insn(0xb7, dst, 0, 0, imm);
const CALL = (id: number) => insn(0x85, 0, 0, 0, id);
const EXIT = insn(0x95, 0, 0, 0, 0);
const prog = (...i: number[][]) => new Uint8Array(i.flat());
const DATA = new Uint8Array([1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0x80, 0, 0, 0, 0, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
const site = { insn: 0, data: DATA, offset: 0, name: ".rodata" };
const at = (p: Uint8Array, i: number) => [...p.subarray(i * 8, i * 8 + 8)];

describe("foldRodata", () => {
  test("loads at constant offsets become movs (mov32 for u32 values of 2^31 and more), the ld_imm64 loads 0", () => {
    const p = prog(LD_MAP_VALUE(1), LDXW(2, 1, 0), LDXW(3, 1, 4), ADD_K(1, 16), LDXDW(4, 1, 0), EXIT);
    foldRodata(p, [site]);
    expect(at(p, 0)).toEqual(insn(0x18, 1, 0, 0, 0));
    expect(at(p, 1)).toEqual([0x00, 0, 0, 0, 0, 0, 0, 0]);
    expect(at(p, 2)).toEqual(insn(0xb7, 2, 0, 0, 1));
    expect(at(p, 3)).toEqual(insn(0xb4, 3, 0, 0, -1)); // 0xffffffff zero-extended
    expect(at(p, 5)).toEqual(insn(0xb7, 4, 0, 0, -2)); // 0xfffffffffffffffe: a sign-extended -2
  });
  test("a 64-bit value that fits no immediate: FoldError", () => {
    const p = prog(LD_MAP_VALUE(1), LDXDW(2, 1, 4), EXIT);
    expect(() => foldRodata(p, [site])).toThrow(/does not fit in an immediate/);
  });
  test("the pointer passed to a helper, copied, or used after a branch: FoldError", () => {
    expect(() => foldRodata(prog(LD_MAP_VALUE(1), CALL(6), EXIT), [site])).toThrow(/passed to a call/);
    expect(() => foldRodata(prog(LD_MAP_VALUE(1), MOV_X(2, 1), EXIT), [site])).toThrow(/copied/);
    // if r0 == 0 goto +1 (to a load through r1): the pointer is live on the branch
    expect(() => foldRodata(prog(LD_MAP_VALUE(1), JEQ_K(0, 0, 1), MOV_K(1, 0), LDXW(2, 1, 0), EXIT), [site])).toThrow(FoldError);
  });
  test("a branch whose target does not use the pointer is fine; a branch into the folded range is not", () => {
    const ok = prog(LD_MAP_VALUE(1), LDXW(2, 1, 0), JEQ_K(2, 0, 1), LDXW(3, 1, 4), MOV_K(0, 0), EXIT);
    foldRodata(ok, [site]);
    expect(at(ok, 4)).toEqual(insn(0xb4, 3, 0, 0, -1));
    // a jump from elsewhere lands on the load: r1 may hold something else there
    const bad = prog(JEQ_K(0, 0, 2), LD_MAP_VALUE(1), LDXW(2, 1, 0), EXIT);
    expect(() => foldRodata(bad, [{ ...site, insn: 1 }])).toThrow(/a branch lands at instruction 3, before the read/);
  });
  test("a read outside the section: FoldError", () => {
    expect(() => foldRodata(prog(LD_MAP_VALUE(1), LDXW(2, 1, 24), EXIT), [site])).toThrow(/outside .rodata/);
  });
});

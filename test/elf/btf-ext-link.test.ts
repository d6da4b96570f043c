// func_info / line_info of linked programs: every appended function's records move to where it
// landed. Oracles: the BTF names of the FUNC types (each record must name the function that starts
// there) and llvm-objdump's own listing of where each function's code is.
import { describe, expect, test } from "bun:test";
import { appendBtfStrings, encodeFuncInfo, programExtInfo } from "../../src/elf/btf-ext-link.ts";
import { Btf, readBtfExt } from "../../src/elf/btf.ts";
import { linkProgramPieces, readObject } from "../../src/elf/index.ts";
import { fixture, shdr } from "./helpers.ts";

async function linked(name: string, prog: string) {
  const bytes = fixture(name);
  const obj = await readObject(bytes, `${name}.o`);
  const s = shdr(bytes, ".BTF");
  const e = shdr(bytes, ".BTF.ext");
  const btf = new Btf(bytes.slice(s.offset, s.offset + s.size));
  const ext = readBtfExt(bytes.slice(e.offset, e.offset + e.size), () => btf);
  const spec = obj.programs.find((p) => p.name === prog)!;
  const { insns, pieces } = linkProgramPieces(obj, spec, { mapFd: () => 3 });
  return { btf, ext, insns, pieces, info: programExtInfo(ext, pieces) };
}

describe("programExtInfo", () => {
  test("calls.o prog_a: one func_info per function, at each appended function's first instruction, naming it", async () => {
    const { btf, pieces, info } = await linked("calls", "prog_a");
    expect(pieces.length).toBe(4); // prog_a, twice, global_square, add3
    expect(info.funcInfo!.map((f) => f.insnOff)).toEqual(pieces.map((p) => p.start));
    expect(info.funcInfo!.map((f) => btf.type(f.typeId).name)).toEqual(pieces.map((p) => p.fn.name));
    expect(info.funcInfo![0]!.insnOff).toBe(0);
  });
  test("calls.o prog_d: the bpf_loop callback has its record after the program", async () => {
    const { btf, info } = await linked("calls", "prog_d");
    expect(info.funcInfo!.map((f) => btf.type(f.typeId).name)).toEqual(["prog_d", "loop_cb"]);
  });
  test("line_info: strictly increasing, inside the program, each function's first instruction covered", async () => {
    const { insns, pieces, info } = await linked("calls", "prog_a");
    const offs = info.lineInfo.map((l) => l.insnOff);
    for (let i = 1; i < offs.length; i++) expect(offs[i]!).toBeGreaterThan(offs[i - 1]!);
    expect(offs[offs.length - 1]!).toBeLessThan(insns.length / 8);
    for (const p of pieces) expect(offs).toContain(p.start);
    // add3's source line comes with it to its new place
    const add3 = pieces.find((p) => p.fn.name === "add3")!;
    expect(info.lineInfo.find((l) => l.insnOff === add3.start)!.line).toContain("add3(int a, int b, int c)");
  });
  test("a function without a func_info record: no func_info, and why", async () => {
    const { ext, pieces } = await linked("calls", "prog_a");
    const stripped = { ...ext, funcInfo: ext.funcInfo.map((s) => ({ ...s, records: s.records.filter((r) => r.insnOff !== pieces[1]!.fn.sectionOffset || s.section !== pieces[1]!.fn.section) })) };
    const info = programExtInfo(stripped, pieces);
    expect(info.funcInfo).toBeUndefined();
    expect(info.funcInfoProblem).toContain(`'${pieces[1]!.fn.name}' has 0 func_info records`);
  });
  test("encodeFuncInfo: {insn_off, type_id} u32 pairs", () => {
    expect([...encodeFuncInfo([{ insnOff: 5, typeId: 0x0102 }])]).toEqual([5, 0, 0, 0, 2, 1, 0, 0]);
  });
  test("appendBtfStrings: new strings after the old ones, known ones kept, header's str_len updated", async () => {
    const bytes = fixture("calls");
    const s = shdr(bytes, ".BTF");
    const raw = bytes.slice(s.offset, s.offset + s.size);
    const before = new Btf(raw);
    const { blob, offsetOf } = appendBtfStrings(raw, ["int", "a new string"]);
    const after = new Btf(blob);
    expect(after.name(offsetOf("a new string"))).toBe("a new string");
    expect(after.name(offsetOf("int"))).toBe("int");
    expect(after.typeCount).toBe(before.typeCount);
    expect(blob.length).toBe(raw.length + "a new string".length + 1);
  });
});

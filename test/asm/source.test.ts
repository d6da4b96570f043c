// `disasm -S` against llvm-objdump -S (LLVM 14): the committed listings of the fixtures built with
// -g, and llvm-objdump -dr -S run live when it is installed. Source text comes from the files when
// they can be read (as llvm-objdump), else from .BTF.ext line_info; hostile .debug_line gives
// ObjectError only.
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { disassembleObject } from "../../src/asm/disasm.ts";
import { disasmView } from "../../src/cli/disasm.ts";
import { readObject } from "../../src/elf/index.ts";
import { readLineTable } from "../../src/elf/dwarf-line.ts";
import { sourceLines } from "../../src/elf/lines.ts";
import { ObjectError } from "../../src/errors.ts";
import { FIXTURES, fixture, patched, prng, shdr } from "../elf/helpers.ts";
import { REPO } from "../support.ts";

const WITH_LINES = ["hello", "calls", "globals", "core", "btf_kinds"];
const llvmObjdump = Bun.which("llvm-objdump");
const fromFixtures = (p: string) => {
  try {
    return readFileSync(join(FIXTURES, p), "utf8");
  } catch {
    return undefined;
  }
};

async function listing(name: string, readSource?: (p: string) => string | undefined, relocs = false): Promise<string> {
  const bytes = fixture(name);
  const obj = await readObject(bytes, `${name}.o`);
  const view = disasmView(obj, `${name}.o`);
  const lookup = sourceLines(bytes, obj, readSource);
  view.sections = view.sections.map((s) => ({ ...s, source: lookup(s.name) }));
  return disassembleObject(view, { showRelocations: relocs });
}

describe("identical to llvm-objdump -S", () => {
  for (const name of WITH_LINES) {
    test(`${name}.o (committed listing)`, async () => {
      expect(await listing(name, fromFixtures)).toBe(readFileSync(join(FIXTURES, `${name}.objdump-S.txt`), "utf8"));
    });
  }
  test.skipIf(!llvmObjdump)("with relocations: llvm-objdump -dr -S, run now", async () => {
    for (const name of WITH_LINES) {
      const r = Bun.spawnSync([llvmObjdump!, "-dr", "-S", `${name}.o`], { cwd: FIXTURES });
      expect(await listing(name, fromFixtures, true)).toBe(r.stdout.toString());
    }
  });
  test("the CLI: bpfload disasm -S (relocations on, as -dr)", () => {
    const r = Bun.spawnSync([process.execPath, join(REPO, "src/main.ts"), "disasm", "-S", "--no-relocs", "calls.o"], { cwd: FIXTURES });
    expect(r.stderr.toString()).toBe("");
    expect(r.stdout.toString()).toBe(readFileSync(join(FIXTURES, "calls.objdump-S.txt"), "utf8"));
    const raw = Bun.spawnSync([process.execPath, join(REPO, "src/main.ts"), "disasm", "-S", "hello.objdump.txt"], { cwd: FIXTURES });
    expect(raw.exitCode).toBe(2);
    const kernel = Bun.spawnSync([process.execPath, join(REPO, "src/main.ts"), "disasm", "-S", "--syntax", "kernel", "calls.o"], { cwd: FIXTURES });
    expect(kernel.exitCode).toBe(2);
    expect(kernel.stderr.toString()).toMatch(/-S .* --syntax llvm/);
  });
});

describe("without the source files: the line_info text", () => {
  for (const name of WITH_LINES) {
    test(`${name}.o: every line llvm-objdump prints except those line_info does not carry (a lone '{')`, async () => {
      const ours = (await listing(name)).split("\n");
      const theirs = readFileSync(join(FIXTURES, `${name}.objdump-S.txt`), "utf8").split("\n");
      // ours is theirs with some source lines left out: walk both in order
      const dropped: string[] = [];
      let j = 0;
      for (const l of theirs) {
        if (ours[j] === l) j++;
        else dropped.push(l);
      }
      expect(j).toBe(ours.length);
      expect(dropped.filter((l) => l !== "; {")).toEqual([]);
    });
  }
});

describe("the DWARF line table", () => {
  test("sequences per code section, rows as llvm-dwarfdump shows them", () => {
    const seqs = readLineTable(fixture("calls"), "calls.o");
    expect(seqs.map((s) => s.section)).toEqual([".text", ".text", ".text", ".text", "kprobe/sys_getpid", "tracepoint/syscalls/sys_enter_getpid", "xdp", "raw_tp/sys_enter"]);
    expect(seqs[0]!.rows.map((r) => [r.offset, r.line, r.file])).toEqual([[0, 15, "./calls.c"], [8, 16, "./calls.c"], [16, 16, "./calls.c"]]);
    expect([seqs[1]!.start, seqs[1]!.end]).toEqual([0x18, 0x38]);
    expect(readLineTable(fixture("samples49"), "samples49.o")).toEqual([]);
  });
  test("random mutations of .debug_line: ObjectError or a table, never anything else", () => {
    const base = fixture("btf_kinds");
    const s = shdr(base, ".debug_line");
    const rnd = prng(11);
    for (let i = 0; i < 2000; i++) {
      const m = patched(base, (_, b) => {
        for (let k = 1 + Math.floor(rnd() * 3); k > 0; k--) b[s.offset + Math.floor(rnd() * s.size)] = Math.floor(rnd() * 256);
      });
      try {
        readLineTable(m, "x.o");
      } catch (e) {
        if (!(e instanceof ObjectError)) throw new Error(`mutation ${i}: ${e instanceof Error ? e.stack : e}`);
      }
    }
  }, 20_000);
});

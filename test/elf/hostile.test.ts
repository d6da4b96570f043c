// Hostile objects: every malformed input gives an ObjectError (never a TypeError/RangeError or a
// hang). Each case runs under a short per-test timeout; nothing here asserts timings.
import { describe, expect, test } from "bun:test";
import { linkProgram, readObject } from "../../src/elf/index.ts";
import { ObjectError } from "../../src/errors.ts";
import {
  buildElf, FIXTURE_NAMES, fixture, patched, prng, sectionHeaders, shdr, symbolPos, symbols,
} from "./helpers.ts";

const FILE = "hostile.o";
const T = 2000; // per-test timeout (ms): a hang fails the test instead of blocking the run

/** Parses and links every program; returns "ok", or the ObjectError. Anything else fails the test. */
async function attempt(bytes: Uint8Array): Promise<"ok" | ObjectError> {
  try {
    const o = await readObject(bytes, FILE);
    for (const p of o.programs) linkProgram(o, p, { mapFd: () => 3 });
    return "ok";
  } catch (e) {
    if (e instanceof ObjectError) {
      expect(e.file).toBe(FILE);
      expect(e.message.startsWith(`${FILE}`)).toBe(true);
      return e;
    }
    throw new Error(`leaked a non-ObjectError: ${e instanceof Error ? `${e.constructor.name}: ${e.message}\n${e.stack}` : String(e)}`);
  }
}

async function expectError(bytes: Uint8Array, message: RegExp, where?: { section?: string | RegExp; offset?: number }): Promise<ObjectError> {
  const r = await attempt(bytes);
  if (r === "ok") throw new Error(`expected an ObjectError matching ${message}, but the object parsed`);
  expect(r.problem).toMatch(message);
  if (where?.section !== undefined) {
    if (typeof where.section === "string") expect(r.where.section).toBe(where.section);
    else expect(r.where.section ?? "").toMatch(where.section);
  }
  if (where?.offset !== undefined) expect(r.where.offset).toBe(where.offset);
  return r;
}

describe("truncated at every 1/16th", () => {
  for (const name of FIXTURE_NAMES) {
    for (let k = 0; k < 16; k++) {
      test(`${name} cut to ${k}/16`, async () => {
        const b = fixture(name);
        const r = await attempt(b.subarray(0, Math.floor((b.length * k) / 16)));
        expect(r).toBeInstanceOf(ObjectError); // the section headers live at the end: nothing survives a cut
      }, T);
    }
  }
});

describe("random single-byte flips (seeded)", () => {
  const targets = ["calls", "globals", "btf_maps", "samples49", "legacy_maps", "core"];
  for (const name of targets) {
    const rnd = prng(0xb9f0 + name.length * 7919);
    const base = fixture(name);
    for (let i = 0; i < 200; i++) {
      const pos = Math.floor(rnd() * base.length);
      const val = (base[pos]! + 1 + Math.floor(rnd() * 255)) & 0xff;
      test(`${name} flip #${i} @0x${pos.toString(16)}=0x${val.toString(16)}`, async () => {
        await attempt(patched(base, (_, b) => { b[pos] = val; }));
      }, T);
    }
  }
});

describe("ELF header", () => {
  const hello = fixture("hello");
  test("empty and tiny files", async () => {
    await expectError(new Uint8Array(0), /bad magic/);
    await expectError(hello.subarray(0, 4), /truncated ELF header/);
  });
  test("bad magic", () => expectError(patched(hello, (_, b) => { b[1] = 0x46; }), /not an ELF file \(bad magic\)/, { offset: 0 }));
  test("ELFCLASS32", () => expectError(patched(hello, (_, b) => { b[4] = 1; }), /ELFCLASS32/));
  test("big-endian", () => expectError(patched(hello, (_, b) => { b[5] = 2; }), /big-endian objects \(bpfeb\) are not supported/));
  test("wrong machine", () => expectError(patched(hello, (v) => v.setUint16(18, 62, true)), /machine 62 \(x86-64\), expected EM_BPF \(247\)/, { offset: 18 }));
  test("not ET_REL", () => expectError(patched(hello, (v) => v.setUint16(16, 2, true)), /not a relocatable object: type ET_EXEC/));
  test("program headers", () => expectError(patched(hello, (v) => v.setUint16(56, 3, true)), /program headers/));
  test("section header table past EOF", () => expectError(patched(hello, (v) => v.setBigUint64(40, BigInt(hello.length - 64), true)), /section header table .* extends past the end of the file/));
  test("section header offset huge", () => expectError(patched(hello, (v) => v.setBigUint64(40, 1n << 62n, true)), /section header table offset out of range/));
  test("0xffff sections", () => expectError(patched(hello, (v) => v.setUint16(60, 0xffff, true)), /extends past the end of the file/));
  test("no sections", () => expectError(patched(hello, (v) => v.setUint16(60, 0, true)), /no sections/));
  test("bad section header size", () => expectError(patched(hello, (v) => v.setUint16(58, 40, true)), /section header size 40/));
  test("section name table index out of range", () => expectError(patched(hello, (v) => v.setUint16(62, 999, true)), /section name table index 999 out of range/));
  test("section name table is not a string table", () => expectError(patched(hello, (v) => v.setUint16(62, shdr(hello, ".text").index, true)), /not a string table/));
});

describe("section headers", () => {
  const calls = fixture("calls");
  const text = shdr(calls, ".text");
  const strtab = shdr(calls, ".strtab");
  const symtab = shdr(calls, ".symtab");
  const rel = shdr(calls, ".relkprobe/sys_getpid");
  test("section offset past EOF", () =>
    expectError(patched(calls, (v) => v.setBigUint64(text.pos + 24, BigInt(calls.length + 100), true)), /extends past the end of the file/, { section: `#${text.index}`, offset: text.pos }));
  test("section size 2^63", () => expectError(patched(calls, (v) => v.setBigUint64(text.pos + 32, 1n << 63n, true)), /section size out of range/));
  test("section size 0x7fffffff", () => expectError(patched(calls, (v) => v.setBigUint64(text.pos + 32, 0x7fffffffn, true)), /extends past the end of the file/));
  test(".strtab size 0x80000000 (elfinfo would hang)", () =>
    expectError(patched(calls, (v) => v.setBigUint64(strtab.pos + 32, 0x80000000n, true)), /extends past the end of the file/, { section: `#${strtab.index}` }), T);
  test("huge relocation section (elfinfo would allocate hundreds of MB)", () =>
    expectError(patched(calls, (v) => v.setBigUint64(rel.pos + 32, 0x08000000n * 16n, true)), /extends past the end of the file/), T);
  test("NOBITS section with a huge size", async () => {
    const g = fixture("globals");
    const bss = shdr(g, ".bss");
    await expectError(patched(g, (v) => v.setBigUint64(bss.pos + 32, 1n << 40n, true)), /section size out of range/);
  });
  test("section name offset outside the name table", () => expectError(patched(calls, (v) => v.setUint32(text.pos, 0xfffff, true)), /section name offset 0xfffff outside/));
  test("symbol table entry size", () => expectError(patched(calls, (v) => v.setBigUint64(symtab.pos + 56, 16n, true)), /symbol table entry size 16/));
  test("symbol table size not a multiple of 24", () => expectError(patched(calls, (v) => v.setBigUint64(symtab.pos + 32, BigInt(symtab.size - 8), true)), /not a multiple of 24/));
  test("symbol table linked to a non-string section", () => expectError(patched(calls, (v) => v.setUint32(symtab.pos + 40, 999, true)), /links to section 999, which is not a string table/));
  test("relocation section for a section that does not exist", () => expectError(patched(calls, (v) => v.setUint32(rel.pos + 44, 999, true)), /applies to section 999, which does not exist/));
  test("relocation section linked to a non-symbol table", () => expectError(patched(calls, (v) => v.setUint32(rel.pos + 40, text.index, true)), /not the symbol table/));
  test("relocation entry size", () => expectError(patched(calls, (v) => v.setBigUint64(rel.pos + 56, 0n, true)), /relocation entry size 0/));
  test("code section size not a multiple of 8", () => expectError(patched(calls, (v) => v.setBigUint64(text.pos + 32, BigInt(text.size - 3), true)), /not a multiple of 8/));
});

describe("symbols", () => {
  const calls = fixture("calls");
  test("symbol section index out of range", () =>
    expectError(patched(calls, (v) => v.setUint16(symbolPos(calls, "prog_a") + 6, 500, true)), /section index 500 out of range/, { section: ".symtab" }));
  test("symbol name outside the string table", () =>
    expectError(patched(calls, (v) => v.setUint32(symbolPos(calls, "prog_a"), 0xffffff, true)), /name offset 0xffffff outside the string table/));
  test("function past the end of its section", () =>
    expectError(patched(calls, (v) => v.setBigUint64(symbolPos(calls, "prog_a") + 8, 0x10000n, true)), /function 'prog_a' starts at offset 65536, past the end/));
  test("function not on an instruction boundary", () =>
    expectError(patched(calls, (v) => v.setBigUint64(symbolPos(calls, "prog_a") + 8, 4n, true)), /not on an instruction boundary/));
  test("function size overlapping the next function", () =>
    expectError(patched(calls, (v) => v.setBigUint64(symbolPos(calls, "global_square") + 16, 1000n, true)), /overlaps/));
});

describe("relocations", () => {
  const calls = fixture("calls");
  const rel = shdr(calls, ".relkprobe/sys_getpid");
  const text = shdr(calls, ".text");
  const e0 = rel.offset; // first entry: call twice at insn 3 (offset 0x18) against .text
  test("symbol index out of range", () =>
    expectError(patched(calls, (v) => v.setUint32(e0 + 12, 9999, true)), /relocation 0: symbol index 9999 out of range/, { section: ".relkprobe/sys_getpid", offset: e0 }));
  test("offset past the section", () =>
    expectError(patched(calls, (v) => v.setBigUint64(e0, 0x1000n, true)), /offset 0x1000 is past the end of section 'kprobe\/sys_getpid'/, { section: ".relkprobe/sys_getpid", offset: e0 }));
  test("offset huge", () => expectError(patched(calls, (v) => v.setBigUint64(e0, 1n << 60n, true)), /past the end of section/));
  test("offset not on an instruction boundary", () => expectError(patched(calls, (v) => v.setBigUint64(e0, 0x1cn, true)), /not on an instruction boundary/));
  test("unhandled relocation type", () =>
    expectError(patched(calls, (v) => v.setUint32(e0 + 8, 3, true)), /unsupported relocation type R_BPF_64_ABS32/, { section: ".relkprobe/sys_getpid" }));
  test("unknown relocation type number", () => expectError(patched(calls, (v) => v.setUint32(e0 + 8, 77, true)), /unsupported relocation type 77 at/));
  test("relocation on an instruction that is neither ld_imm64 nor call", () =>
    expectError(patched(calls, (v) => v.setBigUint64(e0, 0x8n, true)), /opcode 0xbf \(expected ld_imm64 or call\)/));
  test("relocation to the null symbol", () => expectError(patched(calls, (v) => v.setUint32(e0 + 12, 0, true)), /null symbol/));
  test("call to an undefined (unknown) function", () =>
    expectError(patched(calls, (v) => v.setUint16(symbolPos(calls, "global_square") + 6, 0, true)), /call to 'global_square', an undefined symbol that is neither __kconfig nor __ksym in the object's BTF/));
  test("call into a function that does not exist (relocated call imm)", () =>
    expectError(patched(calls, (v) => v.setInt32(shdr(calls, "kprobe/sys_getpid").offset + 3 * 8 + 4, 50, true)), /instruction 51 of section '\.text' is not inside any function/));
  test("call into a function that does not exist (pc-relative call in .text)", () =>
    expectError(patched(calls, (v) => v.setInt32(text.offset + 5 * 8 + 4, 100, true)), /not inside any function/, { section: ".text", offset: text.offset + 5 * 8 }));
  test("ld_imm64 reference to an undefined (extern) variable", async () => {
    const g = fixture("globals");
    await expectError(patched(g, (v) => v.setUint16(symbolPos(g, "target_pid") + 6, 0, true)), /refers to 'target_pid', an undefined symbol that is neither __kconfig nor __ksym in the object's BTF/);
  });
  test("ld_imm64 reference outside its data section", async () => {
    const g = fixture("globals");
    await expectError(patched(g, (v) => v.setBigUint64(symbolPos(g, "limit") + 8, 0x100n, true)), /outside '\.rodata'/);
  });
  test("map relocation that matches no map definition", async () => {
    const l = fixture("legacy_maps");
    await expectError(patched(l, (v) => v.setBigUint64(symbolPos(l, "stats") + 8, 21n, true)), /does not line up/);
    const s = fixture("samples49");
    const r = shdr(s, ".relkprobe/sys_write");
    // point the ld_imm64's imm at the middle of a definition
    const insn = shdr(s, "kprobe/sys_write").offset + 8 * 8;
    await expectError(patched(s, (v) => v.setInt32(insn + 4, 4, true)), /matches no map definition/, { section: ".relkprobe/sys_write", offset: r.offset });
  });
  test("relocations in non-code sections are ignored even when odd", async () => {
    const s = fixture("samples49");
    const eh = shdr(s, ".rel.eh_frame");
    // an unsupported relocation type in .rel.eh_frame does not matter
    expect(await attempt(patched(s, (v) => v.setUint32(eh.offset + 8, 77, true)))).toBe("ok");
  });
});

describe("maps and special sections", () => {
  test("legacy maps section size not a multiple of the symbol count", async () => {
    const l = fixture("legacy_maps");
    await expectError(patched(l, (v) => v.setBigUint64(shdr(l, "maps").pos + 32, 59n, true)), /not a multiple of its 3 map symbols/, { section: "maps" });
  });
  test("legacy map definitions too small", async () => {
    const l = fixture("legacy_maps");
    await expectError(patched(l, (v) => v.setBigUint64(shdr(l, "maps").pos + 32, 12n, true)), /too small/);
  });
  test("corrupt BTF magic", async () => {
    const b = fixture("btf_maps");
    await expectError(patched(b, (v) => v.setUint16(shdr(b, ".BTF").offset, 0x1234, true)), /bad BTF magic/, { section: ".BTF" });
  });
  test("BTF type section past the end", async () => {
    const b = fixture("btf_maps");
    await expectError(patched(b, (v) => v.setUint32(shdr(b, ".BTF").offset + 12, 0x7fffffff, true)), /extends past the end of the BTF data/);
  });
  test("BTF-defined maps without .BTF", async () => {
    const b = fixture("btf_maps");
    const btf = shdr(b, ".BTF");
    await expectError(patched(b, (_, bytes) => { bytes[btf.pos] = bytes[btf.pos]! + 1; }), /need a \.BTF section|section name/);
  });
  test("corrupt .BTF.ext (CO-RE records past the section)", async () => {
    const c = fixture("core");
    const ext = shdr(c, ".BTF.ext");
    await expectError(patched(c, (v) => v.setUint32(ext.offset + 28, 0x7fffff, true)), /CO-RE relocation records extend past/, { section: ".BTF.ext" });
    await expectError(patched(c, (v) => v.setUint16(ext.offset, 0, true)), /bad \.BTF\.ext magic/);
  });
  test("version section of the wrong size", async () => {
    const l = fixture("legacy_maps");
    await expectError(patched(l, (v) => v.setBigUint64(shdr(l, "version").pos + 32, 3n, true)), /version section of 3 bytes/);
  });
});

describe("synthetic objects", () => {
  const code = new Uint8Array([0xb7, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0]);
  test("a minimal object without symbols: the section is the program", async () => {
    const o = await readObject(buildElf([{ name: "kprobe/sys_clone", type: 1, flags: 6, data: code }]), FILE);
    expect(o.programs.map((p) => [p.name, p.section, p.fileOffset, p.attach])).toEqual([["kprobe/sys_clone", "kprobe/sys_clone", 64, "kprobe:sys_clone"]]);
  });
  test("an object without code", async () => {
    const o = await readObject(buildElf([{ name: "license", type: 1, data: new TextEncoder().encode("GPL\0") }]), FILE);
    expect(o.programs).toEqual([]);
    expect(o.license).toBe("GPL");
  });
  test("an empty string table", () =>
    expectError(buildElf([{ name: ".strtab", type: 3, data: new Uint8Array(0) }]), /empty string table/));
  test("a wrong machine in a well-formed object", () =>
    expectError(buildElf([{ name: ".text", type: 1, flags: 6, data: code }], 62), /machine 62/));
  test("names pointing into the middle of strings (elfinfo's lookup is quadratic)", async () => {
    const n = 12000;
    const str = new TextEncoder().encode(`\0${"ab\0".repeat(n)}`);
    const syms: [number, number, number, number, number][] = [[0, 0, 0, 0, 0]];
    for (let i = 0; i < 2000; i++) syms.push([2 + 3 * (i % n), 0x10, 0, 0, 0]); // "b": the middle of "ab"
    const obj = buildElf([
      { name: ".strtab", type: 3, data: str },
      { name: ".symtab", type: 2, data: symbols(syms), link: 1, entsize: 24 },
    ]);
    await expectError(obj, /refusing to parse/, { section: ".strtab" });
  }, T);
  test("thousands of symbols pointing into one huge name (bounded time and memory)", async () => {
    const str = new TextEncoder().encode(`\0${"a".repeat(500_000)}\0`);
    const syms: [number, number, number, number, number][] = [[0, 0, 0, 0, 0]];
    for (let i = 0; i < 20_000; i++) syms.push([1 + i, 0x10, 0, 0, 0]);
    const obj = buildElf([
      { name: ".strtab", type: 3, data: str },
      { name: ".symtab", type: 2, data: symbols(syms), link: 1, entsize: 24 },
    ]);
    await expectError(obj, /symbol 1: name offset 0x1 .*longer than 1024 bytes/, { section: ".symtab" });
  }, T);
  test("many well-formed symbols parse quickly", async () => {
    const n = 3000;
    let s = "\0";
    const syms: [number, number, number, number, number][] = [[0, 0, 0, 0, 0]];
    for (let i = 0; i < n; i++) {
      syms.push([s.length, 0x12, 1, 0, 0]);
      s += `f${i}\0`;
    }
    const codeN = new Uint8Array(16 * 1);
    codeN.set(code);
    const obj = buildElf([
      { name: "xdp", type: 1, flags: 6, data: codeN },
      { name: ".strtab", type: 3, data: new TextEncoder().encode(s) },
      { name: ".symtab", type: 2, data: symbols(syms), link: 2, entsize: 24 },
    ]);
    // all 3000 function symbols alias offset 0: one program
    const o = await readObject(obj, FILE);
    expect(o.programs.length).toBe(1);
  }, T);
  test("section headers read by the helper match the fixture", () => {
    expect(sectionHeaders(fixture("hello")).length).toBeGreaterThan(3);
  });
});

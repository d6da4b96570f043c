import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  assemble,
  assembleObject,
  AsmError,
  decode,
  disassemble,
  disassembleObject,
  encode,
  formatInstruction,
} from "../../src/asm/index.ts";
import { BpfloadError } from "../../src/errors.ts";
import type { FixtureSection } from "./fixtures/gen.ts";

const FIX = join(import.meta.dir, "fixtures");
const read = (name: string) => readFileSync(join(FIX, name), "utf8");
const hex = (s: string) => new Uint8Array(Buffer.from(s.replace(/\s+/g, ""), "hex"));
const toHex = (b: Uint8Array) => Buffer.from(b).toString("hex");

type Fixture = { file: string; sections: (FixtureSection & { bytes: Uint8Array })[] };

function fixture(name: string): Fixture {
  const j = JSON.parse(read(`${name}.json`)) as { file: string; sections: FixtureSection[] };
  return { file: j.file, sections: j.sections.map((s) => ({ ...s, bytes: hex(s.hex) })) };
}

const SEED = hex(`
  b7 01 00 00 0a 00 00 00  6b 1a fc ff 00 00 00 00  b7 01 00 00 72 6c 64 21  63 1a f8 ff 00 00 00 00
  18 01 00 00 48 65 6c 6c  00 00 00 00 6f 20 57 6f  7b 1a f0 ff 00 00 00 00  bf a1 00 00 00 00 00 00
  07 01 00 00 f0 ff ff ff  b7 02 00 00 0e 00 00 00  85 00 00 00 06 00 00 00  b7 00 00 00 00 00 00 00
  95 00 00 00 00 00 00 00`);

const SEED_LLVM = `
seed.o:	file format elf64-bpf

Disassembly of section kprobe/sys_clone:

0000000000000000 <bpf_prog>:
       0:	b7 01 00 00 0a 00 00 00	r1 = 10
       1:	6b 1a fc ff 00 00 00 00	*(u16 *)(r10 - 4) = r1
       2:	b7 01 00 00 72 6c 64 21	r1 = 560229490
       3:	63 1a f8 ff 00 00 00 00	*(u32 *)(r10 - 8) = r1
       4:	18 01 00 00 48 65 6c 6c 00 00 00 00 6f 20 57 6f	r1 = 8022916924116329800 ll
       6:	7b 1a f0 ff 00 00 00 00	*(u64 *)(r10 - 16) = r1
       7:	bf a1 00 00 00 00 00 00	r1 = r10
       8:	07 01 00 00 f0 ff ff ff	r1 += -16
       9:	b7 02 00 00 0e 00 00 00	r2 = 14
      10:	85 00 00 00 06 00 00 00	call 6
      11:	b7 00 00 00 00 00 00 00	r0 = 0
      12:	95 00 00 00 00 00 00 00	exit
`;

const SEED_KERNEL = `0: (b7) r1 = 10
1: (6b) *(u16 *)(r10 -4) = r1
2: (b7) r1 = 560229490
3: (63) *(u32 *)(r10 -8) = r1
4: (18) r1 = 0x6f57206f6c6c6548
6: (7b) *(u64 *)(r10 -16) = r1
7: (bf) r1 = r10
8: (07) r1 += -16
9: (b7) r2 = 14
10: (85) call bpf_trace_printk#6
11: (b7) r0 = 0
12: (95) exit
`;

describe("codec", () => {
  test("decodes the seed program, ld_imm64 as one 16-byte instruction", () => {
    const insns = decode(SEED);
    expect(insns.length).toBe(12);
    expect(insns[0]).toEqual({ code: 0xb7, dst: 1, src: 0, off: 0, imm: 10 });
    expect(insns[1]).toEqual({ code: 0x6b, dst: 10, src: 1, off: -4, imm: 0 });
    expect(insns[4]!.imm64).toBe(8022916924116329800n);
    expect(insns[7]).toEqual({ code: 0x07, dst: 1, src: 0, off: 0, imm: -16 });
    expect(encode(insns)).toEqual(SEED);
  });

  test("encode(decode(x)) is byte-exact on every fixture section", () => {
    for (const name of ["isa", "prog"]) {
      for (const s of fixture(name).sections) expect(toHex(encode(decode(s.bytes)))).toBe(s.hex);
    }
    // A non-zero second ld_imm64 slot survives too.
    const odd = hex("18 01 00 00 05 00 00 00 18 21 03 00 07 00 00 00");
    expect(encode(decode(odd))).toEqual(odd);
  });

  test("rejects a length that is not a multiple of 8 and a cut ld_imm64", () => {
    expect(() => decode(new Uint8Array(12))).toThrow(/multiple of 8/);
    expect(() => decode(hex("18 01 00 00 05 00 00 00"))).toThrow(/truncated ld_imm64 at byte offset 0/);
  });
});

describe("llvm syntax: identical to llvm-objdump 14", () => {
  test("seed program, object layout", () => {
    const text = disassembleObject({
      file: "seed.o",
      sections: [{ name: "kprobe/sys_clone", bytes: SEED, symbols: [{ name: "bpf_prog", offset: 0 }] }],
    });
    expect(text).toBe(SEED_LLVM);
  });

  for (const name of ["isa", "encodings", "odd", "prog"]) {
    for (const alu32 of [false, true]) {
      const want = `${name}${alu32 ? ".alu32" : ""}.objdump.txt`;
      test(`${name}: disassembleObject equals ${want} line for line`, () => {
        const got = disassembleObject(fixture(name), { alu32 }).split("\n");
        const exp = read(want).split("\n");
        for (let i = 0; i < Math.max(got.length, exp.length); i++) {
          if (got[i] !== exp[i]) expect(`${i + 1}: ${got[i]}`).toBe(`${i + 1}: ${exp[i]}`);
        }
      });
    }
  }

  test("disassemble() gives the instruction lines of one section", () => {
    const lines = disassemble(SEED, { symbols: [{ name: "bpf_prog", offset: 0 }] });
    expect(lines).toBe(SEED_LLVM.split("\n").filter((l) => /^\s+\d+:/.test(l)).join("\n") + "\n");
    expect(disassemble(hex("05 00 01 00 00 00 00 00"))).toBe("       0:\t05 00 01 00 00 00 00 00\tgoto +1 <.text+0x10>\n");
    expect(disassemble(hex("b7 01 00 00 0a 00 00 00"), { rawBytes: false, index: false })).toBe("r1 = 10\n");
  });
});

describe("round trips", () => {
  for (const name of ["isa", "encodings", "odd", "prog"]) {
    test(`${name}: assembleObject(llvm-objdump text) rebuilds the sections byte for byte`, () => {
      const fx = fixture(name);
      const back = assembleObject(read(`${name}.objdump.txt`), `${name}.objdump.txt`);
      const nonEmpty = fx.sections.filter((s) => s.bytes.length > 0);
      expect(back.sections.map((s) => s.name)).toEqual(nonEmpty.map((s) => s.name));
      for (const [i, s] of nonEmpty.entries()) {
        const b = back.sections[i]!;
        // A `...` followed by an instruction that starts mid-slot cannot be told from an aligned one.
        if (s.name === "nosym") continue;
        expect(toHex(b.bytes)).toBe(s.hex);
        expect(b.relocations.map((r) => [r.offset, r.symbol])).toEqual(s.relocations.map((r) => [r.offset, r.symbol]));
      }
      // And our own output feeds back the same way (all syntaxes' layouts with raw bytes).
      const ours = disassembleObject(fx, { modern: true });
      for (const [i, s] of nonEmpty.entries()) {
        if (s.name !== "nosym") expect(toHex(assembleObject(ours).sections[i]!.bytes)).toBe(s.hex);
      }
    });
  }

  test("asm(disasm(x)) === x for the seed in every layout and syntax", () => {
    for (const opts of [{}, { modern: true }, { alu32: true }, { rawBytes: false }, { rawBytes: false, index: false, modern: true }, { syntax: "kernel" as const }]) {
      expect(assemble(disassemble(SEED, opts))).toEqual(SEED);
    }
  });

  test("text only (no raw bytes): modern llvm and kernel syntax are lossless on real programs", () => {
    for (const name of ["isa", "prog"]) {
      for (const s of fixture(name).sections) {
        for (const opts of [{ modern: true }, { syntax: "kernel" as const }]) {
          const text = disassemble(s.bytes, { ...opts, rawBytes: false, index: false });
          expect(toHex(assemble(text, `${name}/${s.name}`))).toBe(s.hex);
        }
      }
    }
  });

  test("our assembler agrees with llvm-mc 14 on isa.s (bytes and relocations)", () => {
    const fx = fixture("isa");
    const ours = assembleObject(read("isa.s"), "isa.s");
    expect(ours.sections.length).toBe(1);
    expect(toHex(ours.sections[0]!.bytes)).toBe(fx.sections[0]!.hex);
    expect(ours.sections[0]!.relocations.map((r) => [r.offset, r.symbol])).toEqual(
      fx.sections[0]!.relocations.map((r) => [r.offset, r.symbol]),
    );
    expect(ours.sections[0]!.symbols.map((s) => s.name)).toEqual(["isa", "back", "fwd"]);
  });
});

// Instructions LLVM 14 cannot print (it shows <unknown> or drops the distinguishing field):
// [bytes, modern llvm spelling, kernel verifier spelling]
const MODERN: [string, string, string][] = [
  ["bf 21 08 00 00 00 00 00", "r1 = (s8)r2", "(bf) r1 = (s8)r2"],
  ["bf 21 10 00 00 00 00 00", "r1 = (s16)r2", "(bf) r1 = (s16)r2"],
  ["bf 21 20 00 00 00 00 00", "r1 = (s32)r2", "(bf) r1 = (s32)r2"],
  ["bc 21 08 00 00 00 00 00", "w1 = (s8)w2", "(bc) w1 = (s8)w2"],
  ["bc 21 10 00 00 00 00 00", "w1 = (s16)w2", "(bc) w1 = (s16)w2"],
  ["3f 21 01 00 00 00 00 00", "r1 s/= r2", "(3f) r1 s/= r2"],
  ["9f 21 01 00 00 00 00 00", "r1 s%= r2", "(9f) r1 s%= r2"],
  ["37 01 01 00 f9 ff ff ff", "r1 s/= -7", "(37) r1 s/= -7"],
  ["94 01 01 00 07 00 00 00", "w1 s%= 7", "(94) w1 s%= 7"],
  ["9f 21 00 00 00 00 00 00", "r1 %= r2", "(9f) r1 %= r2"],
  ["94 01 00 00 03 00 00 00", "w1 %= 3", "(94) w1 %= 3"],
  ["d7 01 00 00 10 00 00 00", "r1 = bswap16 r1", "(d7) r1 = bswap16 r1"],
  ["d7 01 00 00 20 00 00 00", "r1 = bswap32 r1", "(d7) r1 = bswap32 r1"],
  ["d7 01 00 00 40 00 00 00", "r1 = bswap64 r1", "(d7) r1 = bswap64 r1"],
  ["91 21 04 00 00 00 00 00", "r1 = *(s8 *)(r2 + 4)", "(91) r1 = *(s8 *)(r2 +4)"],
  ["89 21 fc ff 00 00 00 00", "r1 = *(s16 *)(r2 - 4)", "(89) r1 = *(s16 *)(r2 -4)"],
  ["81 21 00 00 00 00 00 00", "r1 = *(s32 *)(r2 + 0)", "(81) r1 = *(s32 *)(r2 +0)"],
  ["62 0a f8 ff 05 00 00 00", "*(u32 *)(r10 - 8) = 5", "(62) *(u32 *)(r10 -8) = 5"],
  ["7a 0a f0 ff ff ff ff ff", "*(u64 *)(r10 - 16) = -1", "(7a) *(u64 *)(r10 -16) = -1"],
  ["72 01 00 00 07 00 00 00", "*(u8 *)(r1 + 0) = 7", "(72) *(u8 *)(r1 +0) = 7"],
  ["06 00 00 00 40 42 0f 00", "gotol +1000000", "(06) gotol pc+1000000"],
  ["06 00 00 00 fe ff ff ff", "gotol -2", "(06) gotol pc-2"],
  ["e5 00 03 00 00 00 00 00", "may_goto +3", "(e5) may_goto pc+3"],
  ["45 01 02 00 08 00 00 00", "if r1 & 8 goto +2", "(45) if r1 & 0x8 goto pc+2"],
  ["4d 21 02 00 00 00 00 00", "if r1 & r2 goto +2", "(4d) if r1 & r2 goto pc+2"],
  ["46 01 02 00 08 00 00 00", "if w1 & 8 goto +2", "(46) if w1 & 0x8 goto pc+2"],
  ["85 10 00 00 03 00 00 00", "call pc+3", "(85) call pc+3"],
  ["85 20 00 00 2a 00 00 00", "call kfunc 42", "(85) call kernel-function#42"],
  ["c3 21 04 00 01 00 00 00", "w2 = atomic_fetch_add((u32 *)(r1 + 4), w2)", "(c3) r2 = atomic_fetch_add((u32 *)(r1 +4), r2)"],
  ["c3 21 04 00 40 00 00 00", "lock *(u32 *)(r1 + 4) |= w2", "(c3) lock *(u32 *)(r1 +4) |= r2"],
  ["c3 21 04 00 e1 00 00 00", "w2 = xchg32_32(r1 + 4, w2)", "(c3) r2 = atomic_xchg((u32 *)(r1 +4), r2)"],
  ["c3 21 04 00 f1 00 00 00", "w0 = cmpxchg32_32(r1 + 4, w0, w2)", "(c3) r0 = atomic_cmpxchg((u32 *)(r1 +4), r0, r2)"],
  ["db 21 00 00 00 01 00 00", "r1 = load_acquire((u64 *)(r2 + 0))", "(db) r1 = load_acquire((u64 *)(r2 +0))"],
  ["d3 21 08 00 00 01 00 00", "w1 = load_acquire((u8 *)(r2 + 8))", "(d3) r1 = load_acquire((u8 *)(r2 +8))"],
  ["db 21 00 00 10 01 00 00", "store_release((u64 *)(r1 + 0), r2)", "(db) store_release((u64 *)(r1 +0), r2)"],
  ["cb 21 00 00 10 01 00 00", "store_release((u16 *)(r1 + 0), w2)", "(cb) store_release((u16 *)(r1 +0), r2)"],
  ["bf 21 01 00 01 00 00 00", "r1 = addr_space_cast(r2, 0, 1)", "(bf) r1 = addr_space_cast(r2, 0, 1)"],
  ["18 21 00 00 08 00 00 00 00 00 00 00 01 00 00 00", "ld_pseudo\tr1, 2, 4294967304", "(18) r1 = 0x100000008"],
  ["48 00 00 00 0e 00 00 00", "r0 = *(u16 *)skb[r0 + 14]", "(48) r0 = *(u16 *)skb[r0 + 14]"],
];

describe("modern llvm spelling", () => {
  for (const [bytes, modern, kernel] of MODERN) {
    test(modern, () => {
      const b = hex(bytes);
      expect(formatInstruction(b, { modern: true })).toBe(modern);
      expect(formatInstruction(b, { syntax: "kernel" })).toBe(kernel);
      expect(toHex(assemble(modern))).toBe(toHex(b));
    });
  }
  test("annotates gotol like goto", () => {
    expect(disassemble(hex("06 00 00 00 01 00 00 00 95 00 00 00 00 00 00 00 95 00 00 00 00 00 00 00"), { modern: true })).toContain(
      "gotol +1 <.text+0x10>",
    );
  });
});

describe("kernel syntax", () => {
  test("seed program as the verifier log prints it", () => {
    expect(disassemble(SEED, { syntax: "kernel" })).toBe(SEED_KERNEL);
  });
  test("known verifier lines", () => {
    const cases: [string, string][] = [
      ["15 01 02 00 00 00 00 00", "(15) if r1 == 0x0 goto pc+2"],
      ["55 02 fe ff ff ff ff ff", "(55) if r2 != 0xffffffff goto pc-2"],
      ["5d 21 01 00 00 00 00 00", "(5d) if r1 != r2 goto pc+1"],
      ["a6 01 01 00 05 00 00 00", "(a6) if w1 < 0x5 goto pc+1"],
      ["05 00 fd ff 00 00 00 00", "(05) goto pc-3"],
      ["85 00 00 00 01 00 00 00", "(85) call bpf_map_lookup_elem#1"],
      ["85 00 00 00 a0 86 01 00", "(85) call unknown#100000"],
      ["84 01 00 00 00 00 00 00", "(84) w1 = -w1"],
      ["dc 01 00 00 10 00 00 00", "(dc) r1 = be16 r1"],
      ["d4 01 00 00 40 00 00 00", "(d4) r1 = le64 r1"],
      ["db 10 00 00 00 00 00 00", "(db) lock *(u64 *)(r0 +0) += r1"],
      ["db 10 00 00 01 00 00 00", "(db) r1 = atomic64_fetch_add((u64 *)(r0 +0), r1)"],
      ["db 10 08 00 f1 00 00 00", "(db) r0 = atomic64_cmpxchg((u64 *)(r0 +8), r0, r1)"],
      ["20 00 00 00 0c 00 00 00", "(20) r0 = *(u32 *)skb[12]"],
      ["18 11 00 00 03 00 00 00 00 00 00 00 00 00 00 00", "(18) r1 = 0x3"],
      ["00 00 00 00 00 00 00 00", "BUG_ld_00"],
      ["c2 00 00 00 00 00 00 00", "(c2) nospec"],
      ["f4 01 00 00 00 00 00 00", "(f4) w1 (null) 0"],
    ];
    for (const [b, want] of cases) expect(formatInstruction(hex(b), { syntax: "kernel" })).toBe(want);
  });
  test("object layout frames kernel lines with llvm's headings", () => {
    const text = disassembleObject(fixture("prog"), { syntax: "kernel" });
    expect(text).toContain("Disassembly of section kprobe/sys_clone:\n\n0000000000000000 <bpf_prog>:\n0: (b4) w1 = 25637\n");
    expect(text).toMatch(/\d+: \(85\) call pc[+-]\d+\n/);
  });
});

describe("assembler", () => {
  test("labels, numeric labels, comments, helpers by name, sections", () => {
    const src = `
      .section kprobe/x   ; comment
      SEC("ignored_by_later_section")
      .section kprobe/x
    entry:
      r1 = 1              // comment
      if r1 s> 5 goto 1f  # comment
      goto entry
    1:
      call bpf_trace_printk
      call trace_printk
      call sub
      exit
    sub:
      r0 = 0 ; leaf
      exit
    `;
    const obj = assembleObject(src, "x.s");
    const s = obj.sections.find((x) => x.name === "kprobe/x")!;
    expect(disassemble(s.bytes, { rawBytes: false, index: false, modern: true })).toBe(
      ["r1 = 1", "if r1 s> 5 goto +1 <.text+0x18>", "goto -3 <.text>", "call 6", "call 6", "call pc+1", "exit", "r0 = 0", "exit", ""].join("\n"),
    );
    expect(s.symbols).toEqual([{ name: "entry", offset: 0 }, { name: "sub", offset: 56 }]);
  });

  test("ld_imm64 against a symbol and calls to unknown functions become relocations", () => {
    const obj = assembleObject("r1 = my_map ll\ncall far_away\nexit\n");
    expect(obj.sections[0]!.relocations).toEqual([
      { offset: 0, symbol: "my_map", type: 1 },
      { offset: 16, symbol: "far_away", type: 10 },
    ]);
  });

  test(".byte/.short/.long/.quad place raw little-endian data", () => {
    expect(toHex(assemble(".byte 0x95, 0\n.short 0\n.long 0\n.quad -1"))).toBe("9500" + "0000" + "00000000" + "ff".repeat(8));
  });

  const errors: [string, string][] = [
    ["r1 = 1\n  r2 +== 3\n", "x.s:2:8: expected immediate, found '='"],
    ["r1 = 1\n  goto nowhere\n", "x.s:2:8: undefined label 'nowhere'"],
    ["  r12 = 3\n", "x.s:1:3: invalid register 'r12' (r0-r10, r11 exist)"],
    ["  r1 += w2\n", "x.s:1:9: expected a 64-bit (rN) register, found 'w2'"],
    ["  r1 = 0x100000000\n", "x.s:1:8: immediate 4294967296 does not fit in 32 bits (write '4294967296 ll' for a 64-bit constant)"],
    ["  *(u32 *)(r1 + 70000) = r2\n", "x.s:1:15: offset '70000' out of range [-32768, 32767]"],
    ["  frobnicate r1\n", "x.s:1:3: unknown instruction starting with 'frobnicate'"],
    ["  if r1 =< 3 goto +1\n", "x.s:1:9: expected a comparison (==, !=, >, >=, <, <=, s>, s>=, s<, s<=, &), found '='"],
    ["a:\na:\n", "x.s:2:1: label 'a' is already defined"],
    ["  r1 = 1 extra\n", "x.s:1:10: unexpected 'extra' after the instruction"],
    ["       0:\tb7 01 00 00 0a 00 00 00\tr1 = 11\n", "x.s:1:35: the text does not match the raw bytes (which read 'r1 = 10'): fix one, or drop the bytes column"],
    ["  <unknown>\n", "x.s:1:3: cannot assemble '<unknown>' without its raw bytes"],
    ["  r0 = *(u32 *)skb[r1 + 2] @\n", "x.s:1:28: unexpected character '@'"],
    // Words that name Object.prototype members are no access types (they assembled to 0x81 / 0x63).
    ["  r1 = *(constructor *)(r2 + 0)\n", "x.s:1:10: expected one of u32, u16, u8, u64, found 'constructor'"],
    ["  *(toString *)(r1 + 0) = r2\n", "x.s:1:5: expected one of u32, u16, u8, u64, found 'toString'"],
    ["  r0 = *(hasOwnProperty *)skb[4]\n", "x.s:1:10: expected u8, u16 or u32, found 'hasOwnProperty'"],
  ];
  // Messages quote user input cut to 40 characters, with control characters escaped.
  const quoted: [string, string, string][] = [
    ["a 10 MB token", `  ${"a".repeat(10_000_000)} r1\n`, `x.s:1:3: unknown instruction starting with '${"a".repeat(40)}…'`],
    ["a NUL byte", "  r0 = 1 \0\n", "x.s:1:10: unexpected character '\\x00'"],
    ["an escape sequence", "  r0 = 1 \x1b[2J\n", "x.s:1:10: unexpected character '\\x1b'"],
    ["a million-digit immediate", `  r1 = ${"9".repeat(1_000_000)}\n`, `x.s:1:8: immediate '${"9".repeat(40)}…' out of range [-9223372036854775808, 18446744073709551615]`],
  ];
  for (const [name, src, msg] of quoted) {
    test(`error quoting ${name}: ${msg.slice(0, 60)}`, () => {
      let err: unknown;
      try {
        assemble(src, "x.s");
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(AsmError);
      expect((err as AsmError).message).toBe(msg);
    });
  }

  for (const [src, msg] of errors) {
    test(`error: ${msg}`, () => {
      let err: unknown;
      try {
        assemble(src, "x.s");
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(AsmError);
      expect(err).toBeInstanceOf(BpfloadError);
      expect((err as AsmError).message).toBe(msg);
      expect((err as AsmError).exitCode).toBe(2);
    });
  }
});

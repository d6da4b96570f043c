// The BTF reader against bpftool (libbpf's parser, shares no code with ours): every type of every
// fixture, of hand-built blobs for what clang 14 cannot emit, and of this host's vmlinux BTF,
// printed in bpftool's raw format and compared line for line. Then hostile BTF: every failure is a
// BtfError (an ObjectError through the object reader), never another exception or a hang.
import { describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BtfBuilder } from "../../src/elf/btf-builder.ts";
import { Btf, BtfError, BTF_KIND_ENUM, BTF_KIND_FWD, BTF_KIND_STRUCT, memberBitfieldSize, memberBitOffset, readBtfExt } from "../../src/elf/btf.ts";
import { formatBtfRaw } from "../../src/elf/btf-format.ts";
import { readObject } from "../../src/elf/index.ts";
import { ObjectError } from "../../src/errors.ts";
import { FIXTURES, fixture, patched, prng, shdr } from "./helpers.ts";

const bpftool = Bun.which("bpftool");
const VMLINUX = "/sys/kernel/btf/vmlinux";
const WITH_BTF = ["hello", "legacy_maps", "iproute2_maps", "btf_maps", "multi", "calls", "globals", "core", "btf_kinds", "loop3", "perf_events", "fentry"];

function section(name: string, sec: string): Uint8Array {
  const o = fixture(name);
  const s = shdr(o, sec);
  return o.slice(s.offset, s.offset + s.size);
}

function bpftoolDump(path: string): string {
  const r = Bun.spawnSync([bpftool!, "btf", "dump", "file", path]);
  if (r.exitCode !== 0) throw new Error(`bpftool: ${r.stderr.toString()}`);
  return r.stdout.toString();
}

function bpftoolDumpBytes(bytes: Uint8Array): string {
  const dir = mkdtempSync(join(tmpdir(), "bpfload-btf-"));
  try {
    writeFileSync(join(dir, "x.btf"), bytes);
    return bpftoolDump(join(dir, "x.btf"));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A raw blob from words (types) and a string table, for kinds no builder method makes. */
function rawBtf(words: number[], strings: string): Uint8Array {
  const str = new TextEncoder().encode(strings);
  const out = new Uint8Array(24 + words.length * 4 + str.length);
  const v = new DataView(out.buffer);
  v.setUint16(0, 0xeb9f, true);
  v.setUint8(2, 1);
  v.setUint32(4, 24, true);
  v.setUint32(12, words.length * 4, true);
  v.setUint32(16, words.length * 4, true);
  v.setUint32(20, str.length, true);
  words.forEach((w, i) => v.setUint32(24 + 4 * i, w >>> 0, true));
  out.set(str, 24 + words.length * 4);
  return out;
}
const info = (kind: number, vlen: number, kflag = false) => ((kflag ? 1 : 0) << 31) | (kind << 24) | vlen;

describe.skipIf(!bpftool)("bpftool raw format, line for line", () => {
  for (const name of WITH_BTF) {
    test(`${name}.o`, () => {
      expect(formatBtfRaw(new Btf(section(name, ".BTF")).validate())).toBe(bpftoolDump(join(FIXTURES, `${name}.o`)));
    });
  }

  test("hand-built: signed ENUM, ENUM64 both ways, extern FUNC, FUNC_PROTO varargs, extern VAR, BOOL/CHAR ints", () => {
    // strings: 0 "", 1 "e", 3 "a", 5 "b", 7 "f", 9 "x", 11 "c", 13 "bool"
    const strings = "\0e\0a\0b\0f\0x\0c\0bool\0";
    const words = [
      1, info(BTF_KIND_ENUM, 2, true), 4, 3, -3, 5, 7, // [1] signed enum
      0, info(1, 0), 4, (1 << 24) | 32, // [2] int '(anon)' signed
      0, info(13, 2), 2, 3, 2, 0, 0, // [3] func_proto (a, ...)
      7, info(12, 2), 3, // [4] extern func
      9, info(14, 0), 2, 2, // [5] extern var
      13, info(1, 0), 1, (4 << 24) | 8, // [6] bool
      11, info(1, 0), 1, (2 << 24) | 8, // [7] char
      11, info(BTF_KIND_FWD, 0, true), 0, // [8] fwd union
    ];
    const bytes = rawBtf(words, strings);
    expect(formatBtfRaw(new Btf(bytes).validate())).toBe(bpftoolDumpBytes(bytes));
    const b = new BtfBuilder();
    b.enum64("s", 8, [{ name: "m", value: -2n }, { name: "big", value: 0x1_0000_0002n }], true);
    b.enum64("u", 8, [{ name: "x", value: -1n }], false);
    const e64 = b.build();
    expect(formatBtfRaw(new Btf(e64).validate())).toBe(bpftoolDumpBytes(e64));
    expect(new Btf(e64).type(1).values).toEqual([{ name: "m", value: -2n }, { name: "big", value: 0x1_0000_0002n }]);
    expect(new Btf(e64).type(2).values).toEqual([{ name: "x", value: 0xffff_ffff_ffff_ffffn }]);
  });

  test("split BTF (a module's, base = vmlinux): bpftool -B base", () => {
    const baseBytes = section("btf_kinds", ".BTF");
    const base = new Btf(baseBytes);
    // TYPEDEF 'x' of base type 5, then a PTR to it: split ids and string offsets continue the base's
    const split = rawBtf([base.strLen + 1, info(8, 0), 5, 0, info(2, 0), base.typeCount], "\0x\0");
    const dir = mkdtempSync(join(tmpdir(), "bpfload-split-"));
    try {
      writeFileSync(join(dir, "base"), baseBytes);
      writeFileSync(join(dir, "split"), split);
      const r = Bun.spawnSync([bpftool!, "-B", join(dir, "base"), "btf", "dump", "file", join(dir, "split")]);
      expect(formatBtfRaw(new Btf(split, { base }).validate())).toBe(r.stdout.toString());
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test.skipIf(!existsSync(VMLINUX))("this host's vmlinux BTF, every type", () => {
    const btf = new Btf(new Uint8Array(readFileSync(VMLINUX)));
    const ours = formatBtfRaw(btf).split("\n");
    const theirs = bpftoolDump(VMLINUX).split("\n");
    expect(ours.length).toBe(theirs.length);
    for (let i = 0; i < ours.length; i++) if (ours[i] !== theirs[i]) expect(`line ${i + 1}: ${ours[i]}`).toBe(`line ${i + 1}: ${theirs[i]}`);
    btf.validate(); // no false alarm on a real kernel's 100k+ types
  }, 30_000);

  test("bpftool -j agrees on kinds, names and counts for btf_kinds.o", () => {
    const r = Bun.spawnSync([bpftool!, "-j", "btf", "dump", "file", join(FIXTURES, "btf_kinds.o")]);
    const json = JSON.parse(r.stdout.toString()).types as { id: number; kind: string; name: string; vlen?: number }[];
    const btf = new Btf(section("btf_kinds", ".BTF"));
    expect(json.length).toBe(btf.typeCount - 1);
    for (const j of json) {
      const t = btf.type(j.id);
      expect([j.id, j.kind, j.name]).toEqual([t.id, formatKind(t.kind)!, t.name || "(anon)"]);
      if (j.vlen !== undefined) expect(j.vlen).toBe(t.vlen);
    }
  });
});

const formatKind = (k: number) => ["UNKNOWN", "INT", "PTR", "ARRAY", "STRUCT", "UNION", "ENUM", "FWD", "TYPEDEF", "VOLATILE", "CONST", "RESTRICT", "FUNC", "FUNC_PROTO", "VAR", "DATASEC", "FLOAT", "DECL_TAG", "TYPE_TAG", "ENUM64"][k];

describe("decoded fields", () => {
  const btf = new Btf(section("btf_kinds", ".BTF")).validate();
  test("bitfields: kind_flag splits size and bit offset", () => {
    const flags = btf.find(BTF_KIND_STRUCT, "flags")!;
    expect(flags.kindFlag).toBe(true);
    expect(flags.members!.map((m) => [m.name, memberBitOffset(flags, m), memberBitfieldSize(flags, m)])).toEqual([
      ["ready", 0, 1], ["mode", 1, 3], ["level", 4, 5], ["big", 64, 0],
    ]);
  });
  test("lazy: the index does not decode; find and type do, once", () => {
    const b = new Btf(section("btf_kinds", ".BTF"));
    expect(b.type(3)).toBe(b.type(3));
    expect(b.kindOf(3)).toBe(BTF_KIND_STRUCT);
    expect(() => b.type(b.typeCount)).toThrow(BtfError);
    expect(() => b.type(0)).toThrow(BtfError);
  });
  test("split BTF: ids and names continue the base's", () => {
    const base = new Btf(section("btf_kinds", ".BTF"));
    // one TYPEDEF 'x' (split string offset 1 = base.strLen + 1) of base type 5
    const split = rawBtf([base.strLen + 1, info(8, 0), 5], "\0x\0");
    const s = new Btf(split, { base }).validate();
    expect(s.firstId).toBe(base.typeCount);
    expect(s.type(base.typeCount)).toMatchObject({ name: "x", sizeOrType: 5 });
    expect(s.type(5).name).toBe("unsigned int");
    expect(s.skipQualifiers(base.typeCount).name).toBe("unsigned int");
  });
  test(".BTF.ext: record sizes, func_info per section, line_info with source text", () => {
    const b = new Btf(section("btf_kinds", ".BTF"));
    const ext = readBtfExt(section("btf_kinds", ".BTF.ext"), () => b);
    expect([ext.funcInfoRecSize, ext.lineInfoRecSize]).toEqual([8, 16]);
    expect(ext.funcInfo.map((s) => [s.section, s.records.map((r) => b.type(r.typeId).name)])).toEqual([
      [".text", ["global_helper", "helper"]], ["kprobe/sys_nanosleep", ["kinds_prog"]],
    ]);
    const lines = ext.lineInfo.find((s) => s.section === "kprobe/sys_nanosleep")!.records;
    expect(lines[0]).toMatchObject({ insnOff: 0, fileName: "./btf_kinds.c", line: "\tint r = helper(counter, &mixed);" });
    expect(lines.every((l) => l.lineNum > 0)).toBe(true);
  });
});

describe("hostile BTF", () => {
  const loopy = () => rawBtf([0, info(8, 0), 2, 0, info(10, 0), 3, 0, info(8, 0), 1], "\0"); // typedef → const → typedef → …
  test("a loop of typedef → const → typedef", () => {
    expect(() => new Btf(loopy()).validate()).toThrow(/loop/);
    expect(() => new Btf(loopy()).skipQualifiers(1)).toThrow(/loop/);
  });
  test("a struct that contains itself; a pointer loop", () => {
    expect(() => new Btf(rawBtf([0, info(4, 1), 4, 0, 1, 0], "\0")).validate()).toThrow(/contain themselves/);
    expect(() => new Btf(rawBtf([0, info(2, 0), 2, 0, info(2, 0), 1], "\0")).validate()).toThrow(/pointers and modifiers/);
    // a pointer back to its struct is fine (a list node)
    new Btf(rawBtf([0, info(4, 1), 8, 0, 2, 0, 0, info(2, 0), 1], "\0")).validate();
  });
  test("names out of range, in types and in members", () => {
    expect(() => new Btf(rawBtf([99, info(8, 0), 0], "\0"))).toThrow(/name offset 99 outside/);
    expect(() => new Btf(rawBtf([0, info(4, 1), 4, 99, 0, 0], "\0")).validate()).toThrow(/name offset 99 outside/);
  });
  test("huge vlen, unknown kind, type ids out of range, unused info bits", () => {
    const e = (f: () => unknown) => {
      try {
        f();
      } catch (x) {
        return x as BtfError;
      }
      throw new Error("no error");
    };
    const big = e(() => new Btf(rawBtf([0, info(4, 0xffff), 4], "\0")));
    expect(big).toBeInstanceOf(BtfError);
    expect(big.message).toMatch(/truncated BTF struct record \(type 1, vlen 65535\)/);
    expect(big.offset).toBe(24);
    expect(e(() => new Btf(rawBtf([0, info(20, 0), 4], "\0"))).message).toMatch(/unknown BTF kind 20/);
    expect(e(() => new Btf(rawBtf([0, info(0, 0), 4], "\0"))).message).toMatch(/unknown BTF kind 0/);
    const dangling = e(() => new Btf(rawBtf([0, info(2, 0), 0, 0, info(8, 0), 7], "\0")).validate());
    expect(dangling.message).toMatch(/type id 7, which does not exist/);
    expect(dangling.offset).toBe(24 + 12 + 8);
    expect(e(() => new Btf(rawBtf([0, info(2, 0) | (1 << 16), 0], "\0"))).message).toMatch(/unused info bits/);
    expect(e(() => new Btf(rawBtf([0, info(12, 0), 0], "\0")).validate()).message).toMatch(/does not refer to a func_proto/);
  });
  test("string section not terminated, header lengths past the end", () => {
    expect(() => new Btf(rawBtf([], "\0abc"))).toThrow(/not NUL-terminated/);
    const b = rawBtf([0, info(2, 0), 0], "\0");
    expect(() => new Btf(patched(b, (v) => v.setUint32(20, 1000, true)))).toThrow(/string section extends past/);
    expect(() => new Btf(patched(b, (v) => v.setUint32(4, 1000, true)))).toThrow(/header length/);
  });
  test("through the object reader: an ObjectError naming .BTF and the file offset", async () => {
    const o = fixture("btf_maps");
    const s = shdr(o, ".BTF");
    // the first type's referenced id (PTR [1] → 3) made dangling
    const bad = patched(o, (v) => v.setUint32(s.offset + 24 + 8, 0xfffff, true));
    const err = await readObject(bad, "x.o").then(() => undefined, (e) => e);
    expect(err).toBeInstanceOf(ObjectError);
    expect(err.where).toEqual({ section: ".BTF", offset: s.offset + 24 + 8 });
    expect(err.problem).toMatch(/does not exist/);
  });
  test("random mutations of btf_kinds' .BTF and .BTF.ext: BtfError or a parse, never anything else", () => {
    const btf0 = section("btf_kinds", ".BTF");
    const ext0 = section("btf_kinds", ".BTF.ext");
    const rnd = prng(7);
    for (let i = 0; i < 3000; i++) {
      const target = i % 3 === 0 ? ext0 : btf0;
      const m = target.slice();
      for (let k = 1 + Math.floor(rnd() * 3); k > 0; k--) {
        const pos = Math.floor(rnd() * m.length);
        const r = rnd();
        m[pos] = r < 0.3 ? 0xff : r < 0.6 ? 0 : Math.floor(rnd() * 256);
      }
      try {
        const b = new Btf(target === btf0 ? m : btf0).validate();
        formatBtfRaw(b);
        for (let id = 1; id < b.typeCount; id++) {
          try {
            b.sizeOf(id);
          } catch (e) {
            if (!(e instanceof BtfError)) throw e;
          }
        }
        if (target === ext0) readBtfExt(m, () => b);
      } catch (e) {
        if (!(e instanceof BtfError)) throw new Error(`mutation ${i}: ${e instanceof Error ? e.stack : e}`);
      }
    }
  }, 20_000);
});

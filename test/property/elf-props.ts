// Properties of the ELF and BTF readers: hostile bytes give a parsed object or an ObjectError
// (BtfError for the BTF reader on its own), never another exception, never a hang.
// Inputs are described as data (a fixture plus a list of mutations) so a failure shrinks by
// dropping mutations and prints a replayable description.

import { Btf, BtfError, linkProgram, readCoreRelocations, readObject } from "../../src/elf/index.ts";
import { ObjectError } from "../../src/errors.ts";
import { buildElf, FIXTURE_NAMES, fixture, sectionHeaders, type SecDef, type Shdr } from "../elf/helpers.ts";
import { type Property, type Rng, Violation } from "./lib.ts";

const FILE = "prop.o";

// ------------------------------------------------------------------ mutations

export type Mutation =
  | { op: "flip"; at: number; value: number }
  | { op: "set"; at: number; width: 1 | 2 | 4 | 8; value: string } // value: bigint as decimal text
  | { op: "truncate"; length: number }
  | { op: "insert"; at: number; bytes: number[] }
  | { op: "delete"; at: number; length: number }
  | { op: "unterminate"; at: number; length: number }; // overwrite a string table's tail with 'A's

export function applyMutations(base: Uint8Array, muts: readonly Mutation[]): Uint8Array {
  let b = base.slice();
  for (const m of muts) {
    switch (m.op) {
      case "flip":
        if (m.at < b.length) b[m.at] = m.value;
        break;
      case "set": {
        if (m.at + m.width > b.length) break;
        const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
        const x = BigInt(m.value);
        if (m.width === 1) v.setUint8(m.at, Number(x & 0xffn));
        else if (m.width === 2) v.setUint16(m.at, Number(x & 0xffffn), true);
        else if (m.width === 4) v.setUint32(m.at, Number(x & 0xffffffffn), true);
        else v.setBigUint64(m.at, BigInt.asUintN(64, x), true);
        break;
      }
      case "truncate":
        b = b.slice(0, Math.min(m.length, b.length));
        break;
      case "insert": {
        const at = Math.min(m.at, b.length);
        const c = new Uint8Array(b.length + m.bytes.length);
        c.set(b.subarray(0, at));
        c.set(m.bytes, at);
        c.set(b.subarray(at), at + m.bytes.length);
        b = c;
        break;
      }
      case "delete": {
        const at = Math.min(m.at, b.length);
        const c = new Uint8Array(b.length - Math.min(m.length, b.length - at));
        c.set(b.subarray(0, at));
        c.set(b.subarray(at + m.length), at);
        b = c;
        break;
      }
      case "unterminate":
        for (let i = m.at; i < m.at + m.length && i < b.length; i++) b[i] = 0x41;
        break;
    }
  }
  return b;
}

const EHDR_FIELDS: [number, 1 | 2 | 4 | 8][] = [
  [4, 1], [5, 1], [6, 1], [7, 1], [16, 2], [18, 2], [20, 4], [24, 8], [32, 8], [40, 8], [48, 4], [52, 2], [54, 2],
  [56, 2], [58, 2], [60, 2], [62, 2],
];
/** name, type, flags, addr, offset, size, link, info, addralign, entsize */
const SHDR_FIELDS: [number, 1 | 2 | 4 | 8][] = [[0, 4], [4, 4], [8, 8], [16, 8], [24, 8], [32, 8], [40, 4], [44, 4], [48, 8], [56, 8]];
/** name, info, other, shndx, value, size */
const SYM_FIELDS: [number, 1 | 2 | 4 | 8][] = [[0, 4], [4, 1], [5, 1], [6, 2], [8, 8], [16, 8]];
/** offset, type, symbol */
const REL_FIELDS: [number, 1 | 2 | 4 | 8][] = [[0, 8], [8, 4], [12, 4]];

const shdrCache = new Map<string, Shdr[]>();
function headersOf(name: string): Shdr[] {
  let h = shdrCache.get(name);
  if (!h) shdrCache.set(name, (h = sectionHeaders(fixture(name))));
  return h;
}
const fixtureCache = new Map<string, Uint8Array>();
export function cachedFixture(name: string): Uint8Array {
  let f = fixtureCache.get(name);
  if (!f) fixtureCache.set(name, (f = fixture(name)));
  return f;
}

/** A value for a field: edge values mostly, sometimes a small offset from the original. */
function fieldValue(r: Rng, bytes: Uint8Array, at: number, width: 1 | 2 | 4 | 8): string {
  if (r.bool(0.35) && at + width <= bytes.length) {
    const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const orig = width === 1 ? BigInt(v.getUint8(at)) : width === 2 ? BigInt(v.getUint16(at, true)) : width === 4 ? BigInt(v.getUint32(at, true)) : v.getBigUint64(at, true);
    return String(BigInt.asUintN(width * 8, orig + BigInt(r.range(-64, 64))));
  }
  if (r.bool(0.2)) return String(BigInt(bytes.length + r.range(-16, 16)) & ((1n << BigInt(width * 8)) - 1n));
  return String(r.edgy((width * 8) as 8 | 16 | 32 | 64));
}

function oneMutation(r: Rng, name: string, b: Uint8Array): Mutation {
  const secs = headersOf(name);
  const entry = (type: number, size: number, fields: [number, 1 | 2 | 4 | 8][]): Mutation | undefined => {
    const tables = secs.filter((s) => s.type === type && s.size >= size);
    if (!tables.length) return undefined;
    const t = r.pick(tables);
    const [off, width] = r.pick(fields);
    const at = t.offset + size * r.int(t.size / size) + off;
    return { op: "set", at, width, value: fieldValue(r, b, at, width) };
  };
  switch (r.int(10)) {
    case 0:
      return { op: "flip", at: r.int(b.length), value: r.int(256) };
    case 1:
      return { op: "truncate", length: r.int(b.length) };
    case 2:
      return { op: "insert", at: r.int(b.length + 1), bytes: [...r.bytes(r.pick([1, 3, 8, 64, 200]))] };
    case 3:
      return { op: "delete", at: r.int(b.length), length: r.pick([1, 4, 8, 64, 300]) };
    case 4: {
      const [at, width] = r.pick(EHDR_FIELDS);
      return { op: "set", at, width, value: fieldValue(r, b, at, width) };
    }
    case 5:
    case 6: {
      const s = r.pick(secs);
      const [off, width] = r.pick(SHDR_FIELDS);
      return { op: "set", at: s.pos + off, width, value: fieldValue(r, b, s.pos + off, width) };
    }
    case 7: {
      const strs = secs.filter((s) => s.type === 3 && s.size > 0);
      const s = r.pick(strs);
      const length = r.pick([1, 2, 16, s.size]);
      return { op: "unterminate", at: s.offset + s.size - Math.min(length, s.size), length };
    }
    case 8:
      return entry(2, 24, SYM_FIELDS) ?? { op: "flip", at: r.int(b.length), value: r.int(256) };
    default:
      return entry(9, 16, REL_FIELDS) ?? entry(2, 24, SYM_FIELDS) ?? { op: "flip", at: r.int(b.length), value: r.int(256) };
  }
}

/** Parses and links every program: "parsed" or "rejected" (an ObjectError); anything else throws. */
async function parseOutcome(bytes: Uint8Array): Promise<string> {
  try {
    const o = await readObject(bytes, FILE);
    for (const p of o.programs) linkProgram(o, p, { mapFd: () => 3 });
    return "parsed";
  } catch (e) {
    if (e instanceof ObjectError) {
      if (e.file !== FILE || !e.message.startsWith(FILE)) throw new Violation(`ObjectError names the wrong file: ${e.message}`);
      return "rejected";
    }
    throw e;
  }
}

function* dropEach<T>(list: readonly T[]): Iterable<T[]> {
  for (let i = 0; i < list.length; i++) yield [...list.slice(0, i), ...list.slice(i + 1)];
}

interface MutatedElf {
  fixture: string;
  mutations: Mutation[];
}

export const elfMutated: Property<MutatedElf> = {
  name: "ELF reader: mutated fixtures parse or give an ObjectError",
  kind: "ELF objects (mutated fixtures)",
  gen(r) {
    const name = r.pick(FIXTURE_NAMES);
    const b = cachedFixture(name);
    const n = r.pick([1, 1, 1, 2, 3, 5]);
    const mutations = Array.from({ length: n }, () => oneMutation(r, name, b));
    return { fixture: name, mutations };
  },
  check: (x) => parseOutcome(applyMutations(cachedFixture(x.fixture), x.mutations)),
  shrink: (x) => [...dropEach(x.mutations)].map((m) => ({ fixture: x.fixture, mutations: m })),
  show: (x) => `${x.fixture}.o with ${JSON.stringify(x.mutations)}`,
};

/**
 * An ELF64 LE EM_BPF ET_REL header, random bytes, and a section table at the end whose entries are
 * random but mostly inside the file (so the reader gets past the header checks into the tables).
 */
export const elfRandom: Property<Uint8Array> = {
  name: "ELF reader: random bytes behind an ELF header parse or give an ObjectError",
  kind: "ELF objects (random bytes, ELF header)",
  gen(r) {
    const body = r.pick([64, 256, 1024, 4096]) + 8 * r.int(8);
    const shnum = r.range(1, 12);
    const len = 64 + body + 64 * shnum;
    const b = r.bytes(len);
    const v = new DataView(b.buffer);
    b.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0]);
    v.setUint16(16, 1, true);
    v.setUint16(18, 247, true);
    v.setUint32(20, 1, true);
    v.setBigUint64(32, 0n, true);
    v.setUint16(52, 64, true);
    v.setUint16(54, 0, true);
    v.setUint16(56, 0, true);
    v.setUint16(58, 64, true);
    const shoff = 64 + body;
    v.setBigUint64(40, BigInt(shoff), true);
    v.setUint16(60, shnum, true);
    const strtabs: number[] = [];
    for (let i = 0; i < shnum; i++) {
      const h = shoff + 64 * i;
      if (i === 0 && r.bool(0.9)) {
        b.fill(0, h, h + 64);
        continue;
      }
      const type = i === 1 ? 3 : r.pick([1, 1, 2, 3, 3, 8, 9, r.int(20)]);
      if (type === 3) strtabs.push(i);
      const off = 64 + 8 * r.int(body / 8);
      const size = r.bool(0.9) ? r.int(shoff - off + 1) : Number(r.edgy(32));
      v.setUint32(h, r.int(64), true);
      v.setUint32(h + 4, type, true);
      v.setBigUint64(h + 8, BigInt(r.pick([0, 2, 6, 3])), true);
      v.setBigUint64(h + 24, BigInt(off), true);
      v.setBigUint64(h + 32, BigInt(type === 2 ? size - (size % 24) : type === 9 ? size - (size % 16) : size), true);
      v.setUint32(h + 40, r.int(shnum + 1), true);
      v.setUint32(h + 44, r.int(shnum + 1), true);
      v.setBigUint64(h + 48, BigInt(r.bool(0.95) ? r.pick([0, 1, 4, 8]) : r.u32()), true);
      v.setBigUint64(h + 56, BigInt(type === 2 ? 24 : type === 9 ? 16 : r.pick([0, 8])), true);
    }
    v.setUint16(62, strtabs.length && r.bool(0.95) ? r.pick(strtabs) : r.int(shnum + 1), true);
    return b;
  },
  check: (b) => parseOutcome(b),
  shrink: (b) => {
    // shrink by zeroing 8-byte words of the body: keeps the layout, simplifies the content
    const out: Uint8Array[] = [];
    for (let i = 64; i + 8 <= b.length; i += 8) {
      if (b.subarray(i, i + 8).some((x) => x !== 0)) {
        const c = b.slice();
        c.fill(0, i, i + 8);
        out.push(c);
      }
    }
    return out;
  },
  show: sparseHex,
};

/** Bytes as their non-zero 8-byte words (`offset:hex`): short for a shrunk input, and exact. */
function sparseHex(b: Uint8Array): string {
  const words: string[] = [];
  for (let i = 0; i < b.length; i += 8) {
    const w = b.subarray(i, i + 8);
    if (w.some((x) => x !== 0)) words.push(`0x${i.toString(16)}:${Buffer.from(w).toString("hex")}`);
  }
  return `${b.length} bytes, zero except ${words.join(" ")}`;
}

// ---- synthetic, well-formed-ish objects: random sections with random links, sizes and contents

interface SynthElf {
  secs: SecDef[];
}

const CODE = [0xb7, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0];
const SEC_NAMES = [".text", "kprobe/sys_clone", "tracepoint/syscalls/sys_enter_getpid", "xdp", "socket/3", "maps", ".maps", ".data", ".rodata", ".bss", "license", "version", ".BTF", ".BTF.ext", ".symtab", ".strtab", ".rel.text", ".relkprobe/sys_clone", ".text.unlikely", "", "raw_tp/x", "uprobe//bin/true:main"];

function synthSection(r: Rng, n: number): SecDef {
  const type = r.pick([1, 1, 1, 2, 3, 8, 9, 4, 0, 18, r.int(0x80)]);
  const name = r.pick(SEC_NAMES);
  let data: Uint8Array;
  switch (type) {
    case 2: { // symbols: name, info, other, shndx, value, size
      const k = r.int(8);
      data = new Uint8Array(24 * (k + 1));
      const v = new DataView(data.buffer);
      for (let i = 1; i <= k; i++) {
        v.setUint32(24 * i, r.int(64), true);
        v.setUint8(24 * i + 4, r.pick([0x12, 0x10, 0x11, 0x03, 0x01, 0x22, r.int(256)]));
        v.setUint16(24 * i + 6, r.pick([0, 1, 2, n, 0xfff1, 0xfff2, r.int(n + 2)]), true);
        v.setBigUint64(24 * i + 8, BigInt(r.pick([0, 8, 16, 3, r.int(4096)])), true);
        v.setBigUint64(24 * i + 16, BigInt(r.pick([0, 8, 16, 24, r.int(4096)])), true);
      }
      break;
    }
    case 3:
      data = new TextEncoder().encode(`\0${Array.from({ length: r.int(6) }, () => r.pick(["prog", "map", "a", "licence", "x.y"])).join("\0")}\0`);
      break;
    case 9: case 4: { // relocations: offset, type, symbol
      const k = r.int(5);
      data = new Uint8Array(16 * k);
      const v = new DataView(data.buffer);
      for (let i = 0; i < k; i++) {
        v.setBigUint64(16 * i, BigInt(r.pick([0, 8, 16, 4, r.int(256)])), true);
        v.setUint32(16 * i + 8, r.pick([1, 10, 0, 2, r.int(20)]), true);
        v.setUint32(16 * i + 12, r.int(8), true);
      }
      break;
    }
    default: {
      const k = r.int(6);
      data = new Uint8Array(8 * k + (r.bool(0.1) ? r.int(8) : 0));
      for (let i = 0; i + 16 <= data.length; i += 16) data.set(CODE, i);
      if (r.bool(0.3)) data.set(r.bytes(data.length));
    }
  }
  const s: SecDef = { name, type, data, flags: r.pick([0, 6, 2, 3, r.int(16)]), link: r.int(n + 1), info: r.int(n + 1) };
  if (type === 2) s.entsize = r.bool(0.9) ? 24 : r.int(64);
  if (type === 9) s.entsize = r.bool(0.9) ? 16 : r.int(32);
  if (type === 4) s.entsize = 24;
  if (r.bool(0.1)) s.size = Number(r.edgy(32));
  return s;
}

export const elfSynthetic: Property<SynthElf> = {
  name: "ELF reader: synthetic objects with random sections parse or give an ObjectError",
  kind: "ELF objects (synthetic sections)",
  gen(r) {
    const n = r.range(1, 8);
    return { secs: Array.from({ length: n }, () => synthSection(r, n)) };
  },
  check: (x) => parseOutcome(buildElf(x.secs)),
  shrink: (x) => [...dropEach(x.secs)].filter((s) => s.length > 0).map((secs) => ({ secs })),
  show: (x) => JSON.stringify(x.secs.map((s) => ({ ...s, data: s.data ? Buffer.from(s.data).toString("hex") : undefined }))),
};

// ------------------------------------------------------------------ BTF

function sectionBytes(name: string, section: string): Uint8Array | undefined {
  const s = headersOf(name).find((h) => h.name === section);
  return s ? cachedFixture(name).slice(s.offset, s.offset + s.size) : undefined;
}

const BTF_FIXTURES = FIXTURE_NAMES.filter((n) => sectionBytes(n, ".BTF"));

/** Builds a Btf and walks everything a caller might ask of it: sizes, qualifiers, lookups. */
function btfOutcome(bytes: Uint8Array, ext?: Uint8Array): string {
  try {
    const btf = new Btf(bytes);
    for (let id = 1; id < btf.types.length; id++) {
      try {
        btf.skipQualifiers(id);
        btf.sizeOf(id);
      } catch (e) {
        if (!(e instanceof BtfError)) throw e;
      }
    }
    btf.datasec(".maps");
    btf.varsNamed("x");
    if (ext) readCoreRelocations(ext, () => btf);
    return "parsed";
  } catch (e) {
    if (e instanceof BtfError) {
      if (!Number.isInteger(e.offset) || e.offset < 0) throw new Violation(`BtfError with offset ${e.offset}: ${e.message}`);
      return "rejected";
    }
    throw e;
  }
}

interface MutatedBtf {
  fixture: string;
  section: ".BTF" | ".BTF.ext";
  mutations: Mutation[];
}

function btfMutation(r: Rng, b: Uint8Array, ext: boolean): Mutation {
  const headerFields: [number, 1 | 2 | 4 | 8][] = ext
    ? [[0, 2], [2, 1], [3, 1], [4, 4], [8, 4], [12, 4], [16, 4], [20, 4], [24, 4], [28, 4]]
    : [[0, 2], [2, 1], [3, 1], [4, 4], [8, 4], [12, 4], [16, 4], [20, 4]];
  switch (r.int(6)) {
    case 0:
      return { op: "flip", at: r.int(b.length), value: r.int(256) };
    case 1:
      return { op: "truncate", length: r.int(b.length) };
    case 2: {
      const [at, width] = r.pick(headerFields);
      return { op: "set", at, width, value: fieldValue(r, b, at, width) };
    }
    case 3: // a type record word: name_off, info (kind/vlen), size/type — aligned to 4
      return { op: "set", at: 24 + 4 * r.int(Math.max(1, (b.length - 24) >> 2)), width: 4, value: fieldValue(r, b, 24, 4) };
    case 4:
      return { op: "delete", at: 24 + r.int(Math.max(1, b.length - 24)), length: r.pick([4, 12, 1]) };
    default:
      return { op: "insert", at: 24 + r.int(Math.max(1, b.length - 24)), bytes: [...r.bytes(r.pick([4, 12, 3]))] };
  }
}

export const btfMutated: Property<MutatedBtf> = {
  name: "BTF reader: mutated .BTF/.BTF.ext of the fixtures parse or give a BtfError",
  kind: "BTF sections (mutated fixtures)",
  gen(r) {
    const name = r.pick(BTF_FIXTURES);
    const section = sectionBytes(name, ".BTF.ext") && r.bool(0.3) ? ".BTF.ext" : ".BTF";
    const b = sectionBytes(name, section)!;
    return { fixture: name, section, mutations: Array.from({ length: r.pick([1, 1, 2, 4]) }, () => btfMutation(r, b, section === ".BTF.ext")) };
  },
  check(x) {
    const btf = sectionBytes(x.fixture, ".BTF")!;
    if (x.section === ".BTF") return btfOutcome(applyMutations(btf, x.mutations), sectionBytes(x.fixture, ".BTF.ext"));
    return btfOutcome(btf, applyMutations(sectionBytes(x.fixture, ".BTF.ext")!, x.mutations));
  },
  shrink: (x) => [...dropEach(x.mutations)].map((mutations) => ({ ...x, mutations })),
  show: (x) => `${x.section} of ${x.fixture}.o with ${JSON.stringify(x.mutations)}`,
};

/** The same mutations applied in place inside the object: the object reader must turn them into an ObjectError. */
export const btfInObject: Property<MutatedBtf> = {
  name: "ELF reader: objects with a mutated .BTF/.BTF.ext in place parse or give an ObjectError",
  kind: "BTF sections (mutated in their object)",
  gen(r) {
    const x = btfMutated.gen(r);
    x.mutations = x.mutations.filter((m) => m.op === "flip" || m.op === "set" || m.op === "unterminate");
    return x;
  },
  check(x) {
    const h = headersOf(x.fixture).find((s) => s.name === x.section)!;
    const moved = x.mutations.map((m) => ("at" in m ? { ...m, at: m.at + h.offset } : m)).filter((m) => !("at" in m) || m.at < h.offset + h.size);
    return parseOutcome(applyMutations(cachedFixture(x.fixture), moved));
  },
  shrink: btfMutated.shrink,
  show: btfMutated.show,
};

// ---- synthetic BTF: type loops, huge vlen, names out of range, bad lengths

interface SynthBtf {
  words: number[]; // type records as u32 words
  strings: string;
  hdr: { hdrLen?: number; typeOff?: number; typeLen?: number; strOff?: number; strLen?: number };
}

function synthBtfBytes(x: SynthBtf): Uint8Array {
  const types = new Uint8Array(x.words.length * 4);
  const tv = new DataView(types.buffer);
  x.words.forEach((w, i) => tv.setUint32(4 * i, w >>> 0, true));
  const strs = new TextEncoder().encode(x.strings);
  const out = new Uint8Array(24 + types.length + strs.length);
  const v = new DataView(out.buffer);
  v.setUint16(0, 0xeb9f, true);
  v.setUint8(2, 1);
  v.setUint32(4, x.hdr.hdrLen ?? 24, true);
  v.setUint32(8, x.hdr.typeOff ?? 0, true);
  v.setUint32(12, x.hdr.typeLen ?? types.length, true);
  v.setUint32(16, x.hdr.strOff ?? types.length, true);
  v.setUint32(20, x.hdr.strLen ?? strs.length, true);
  out.set(types, 24);
  out.set(strs, 24 + types.length);
  return out;
}

export const btfSynthetic: Property<SynthBtf> = {
  name: "BTF reader: synthetic BTF (loops, huge vlen, bad names and lengths) parses or gives a BtfError",
  kind: "BTF sections (synthetic)",
  gen(r) {
    const strings = `\0${["int", "map", ".maps", "x", "a_long_name"].slice(0, r.int(6)).join("\0")}\0`;
    const n = r.range(1, 12);
    const words: number[] = [];
    const ref = () => r.pick([0, 1, r.range(1, n), n + 1, r.int(1000), 0xffffffff]);
    const nameOff = () => r.pick([0, 1, 5, strings.length - 1, strings.length, strings.length + 10, 0xffffffff]);
    for (let i = 1; i <= n; i++) {
      const kind = r.bool(0.95) ? r.range(1, 19) : r.int(32);
      const vlen = r.pick([0, 1, 2, 3, 0xffff, r.int(8)]);
      const info = ((r.bool(0.1) ? 1 : 0) << 31) | (kind << 24) | vlen;
      const sizeOrType = [2, 8, 9, 10, 11, 14, 18].includes(kind) ? (r.bool(0.3) ? i : ref()) : r.pick([0, 4, 8, 0xffffffff, r.int(64)]);
      words.push(nameOff(), info, sizeOrType);
      const extraWords = kind === 1 || kind === 14 || kind === 17 ? 1 : kind === 3 ? 3 : kind === 4 || kind === 5 || kind === 15 || kind === 19 ? 3 * vlen : kind === 6 || kind === 13 ? 2 * vlen : 0;
      // a huge vlen is usually left without its records, so the reader must notice the short section
      const write = Math.min(extraWords, r.bool(0.8) ? 60 : r.int(60));
      for (let k = 0; k < write; k++) words.push(kind === 3 && k < 2 ? ref() : kind === 3 ? r.pick([1, 0xffffffff, 0x10000, r.int(100)]) : k % 3 === 0 ? nameOff() : ref());
    }
    const hdr: SynthBtf["hdr"] = {};
    if (r.bool(0.2)) {
      const f = r.pick(["hdrLen", "typeOff", "typeLen", "strOff", "strLen"] as const);
      hdr[f] = Number(r.edgy(32));
    }
    return { words, strings, hdr };
  },
  check: (x) => btfOutcome(synthBtfBytes(x)),
  shrink(x) {
    const out: SynthBtf[] = [];
    for (let cut = x.words.length >> 1; cut >= 1; cut >>= 1) {
      for (let at = 0; at + cut <= x.words.length; at += cut) out.push({ ...x, words: [...x.words.slice(0, at), ...x.words.slice(at + cut)] });
    }
    return out;
  },
  show: (x) => `${JSON.stringify(x)} = ${Buffer.from(synthBtfBytes(x)).toString("hex")}`,
};

/**
 * Names from the file (sections, symbols, BTF types) go into ObjectError messages through quote(),
 * so a name holding a newline or a terminal escape cannot break the one-line rule.
 */
export const elfMessages: Property<Uint8Array> = {
  name: "ELF reader: ObjectError messages have no control characters and stay under 300 characters",
  kind: "ELF objects (message shape)",
  gen: (r) => elfRandom.gen(r),
  async check(b) {
    try {
      await readObject(b, FILE);
      return "parsed";
    } catch (e) {
      if (!(e instanceof ObjectError)) throw e;
      if (/[\u0000-\u001f\u007f-\u009f]/.test(e.message)) throw new Violation(`control character in: ${JSON.stringify(e.message.slice(0, 200))}`);
      if (e.message.length >= 300) throw new Violation(`message of ${e.message.length} characters: ${JSON.stringify(e.message.slice(0, 200))}...`);
      return "rejected";
    }
  },
  shrink: elfRandom.shrink,
  show: elfRandom.show,
};

export const ELF_PROPERTIES = [elfMutated, elfRandom, elfSynthetic, elfMessages] as const;
export const BTF_PROPERTIES = [btfMutated, btfInObject, btfSynthetic] as const;

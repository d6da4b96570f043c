// Test helpers: load fixtures, read the committed llvm-objdump listings (the independent oracle),
// and a deliberately separate, minimal ELF section-header walker for crafting hostile objects.

import { readFileSync } from "node:fs";
import { join } from "node:path";

export const FIXTURES = join(import.meta.dir, "..", "fixtures");

export const FIXTURE_NAMES = [
  "hello", "legacy_maps", "iproute2_maps", "btf_maps", "multi", "calls", "globals", "core", "samples49", "btf_kinds",
] as const;

export function fixture(name: string): Uint8Array {
  return new Uint8Array(readFileSync(join(FIXTURES, `${name}.o`)));
}

export interface ObjdumpSection {
  name: string;
  /** all instruction bytes of the section, in order */
  bytes: Uint8Array;
  /** "<sym>:" headings with their byte offsets (functions and LBB labels alike) */
  labels: Map<string, number>;
}

/** Parses `llvm-objdump -d` output: per section, the hex bytes of every instruction line. */
export function readObjdump(name: string): Map<string, ObjdumpSection> {
  const text = readFileSync(join(FIXTURES, `${name}.objdump.txt`), "utf8");
  const out = new Map<string, ObjdumpSection>();
  let cur: { name: string; bytes: number[]; labels: Map<string, number> } | undefined;
  const flush = () => {
    if (cur) out.set(cur.name, { name: cur.name, bytes: new Uint8Array(cur.bytes), labels: cur.labels });
  };
  for (const line of text.split("\n")) {
    const sec = /^Disassembly of section (.*):$/.exec(line);
    if (sec) {
      flush();
      cur = { name: sec[1]!, bytes: [], labels: new Map() };
      continue;
    }
    const label = /^([0-9a-f]{16}) <(.*)>:$/.exec(line);
    if (label && cur) {
      cur.labels.set(label[2]!, parseInt(label[1]!, 16));
      continue;
    }
    const insn = /^\s*(\d+):\t([0-9a-f]{2}(?: [0-9a-f]{2})*)\t/.exec(line);
    if (insn && cur) {
      if (Number(insn[1]) * 8 !== cur.bytes.length) throw new Error(`objdump listing ${name}: index ${insn[1]} out of sequence`);
      for (const h of insn[2]!.trim().split(" ")) cur.bytes.push(parseInt(h, 16));
    }
  }
  flush();
  return out;
}

export interface Shdr {
  index: number;
  name: string;
  /** file position of the section header */
  pos: number;
  type: number;
  offset: number;
  size: number;
  link: number;
  info: number;
}

/** Minimal section-header walker (assumes a well-formed fixture). */
export function sectionHeaders(bytes: Uint8Array): Shdr[] {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const shoff = Number(v.getBigUint64(40, true));
  const shnum = v.getUint16(60, true);
  const shstrndx = v.getUint16(62, true);
  const hdr = (i: number) => shoff + 64 * i;
  const strOff = Number(v.getBigUint64(hdr(shstrndx) + 24, true));
  const name = (o: number) => {
    let e = strOff + o;
    while (bytes[e] !== 0) e++;
    return new TextDecoder().decode(bytes.subarray(strOff + o, e));
  };
  const out: Shdr[] = [];
  for (let i = 0; i < shnum; i++) {
    const p = hdr(i);
    out.push({
      index: i, name: name(v.getUint32(p, true)), pos: p, type: v.getUint32(p + 4, true),
      offset: Number(v.getBigUint64(p + 24, true)), size: Number(v.getBigUint64(p + 32, true)),
      link: v.getUint32(p + 40, true), info: v.getUint32(p + 44, true),
    });
  }
  return out;
}

export function shdr(bytes: Uint8Array, name: string): Shdr {
  const s = sectionHeaders(bytes).find((x) => x.name === name);
  if (!s) throw new Error(`no section ${name}`);
  return s;
}

/** Position of symbol `name` in the symbol table. */
export function symbolPos(bytes: Uint8Array, name: string): number {
  const secs = sectionHeaders(bytes);
  const symtab = secs.find((s) => s.type === 2)!;
  const strtab = secs[symtab.link]!;
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let p = symtab.offset; p < symtab.offset + symtab.size; p += 24) {
    const o = strtab.offset + v.getUint32(p, true);
    let e = o;
    while (bytes[e] !== 0) e++;
    if (new TextDecoder().decode(bytes.subarray(o, e)) === name) return p;
  }
  throw new Error(`no symbol ${name}`);
}

/** A copy with a patch applied. */
export function patched(bytes: Uint8Array, f: (v: DataView, b: Uint8Array) => void): Uint8Array {
  const c = bytes.slice();
  f(new DataView(c.buffer), c);
  return c;
}

/** Deterministic PRNG (mulberry32). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface SecDef {
  name: string;
  type: number;
  flags?: number;
  data?: Uint8Array;
  /** for NOBITS, or to lie about the size */
  size?: number;
  link?: number;
  info?: number;
  entsize?: number;
}

/**
 * Writes a minimal ELF64 little-endian EM_BPF ET_REL object: header, section data, a .shstrtab
 * (appended as the last section), section headers. Section i of `secs` gets index i + 1.
 */
export function buildElf(secs: SecDef[], machine = 247): Uint8Array {
  const all: SecDef[] = [...secs, { name: ".shstrtab", type: 3 }];
  const names: number[] = [];
  let shstr = "\0";
  for (const s of all) {
    names.push(shstr.length);
    shstr += `${s.name}\0`;
  }
  all[all.length - 1]!.data = new TextEncoder().encode(shstr);
  const offsets: number[] = [];
  let pos = 64;
  for (const s of all) {
    pos = (pos + 7) & ~7;
    offsets.push(pos);
    if (s.type !== 8) pos += s.data?.length ?? 0;
  }
  const shoff = (pos + 7) & ~7;
  const out = new Uint8Array(shoff + 64 * (all.length + 1));
  const v = new DataView(out.buffer);
  out.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]);
  v.setUint16(16, 1, true);
  v.setUint16(18, machine, true);
  v.setUint32(20, 1, true);
  v.setBigUint64(40, BigInt(shoff), true);
  v.setUint16(52, 64, true);
  v.setUint16(58, 64, true);
  v.setUint16(60, all.length + 1, true);
  v.setUint16(62, all.length, true);
  all.forEach((s, i) => {
    if (s.data && s.type !== 8) out.set(s.data, offsets[i]!);
    const h = shoff + 64 * (i + 1);
    v.setUint32(h, names[i]!, true);
    v.setUint32(h + 4, s.type, true);
    v.setBigUint64(h + 8, BigInt(s.flags ?? 0), true);
    v.setBigUint64(h + 24, BigInt(offsets[i]!), true);
    v.setBigUint64(h + 32, BigInt(s.size ?? s.data?.length ?? 0), true);
    v.setUint32(h + 40, s.link ?? 0, true);
    v.setUint32(h + 44, s.info ?? 0, true);
    v.setBigUint64(h + 48, 8n, true);
    v.setBigUint64(h + 56, BigInt(s.entsize ?? 0), true);
  });
  return out;
}

/** Encodes ELF64 symbols: [nameOffset, info, shndx, value, size]. */
export function symbols(entries: [number, number, number, number, number][]): Uint8Array {
  const out = new Uint8Array(24 * entries.length);
  const v = new DataView(out.buffer);
  entries.forEach(([name, info, shndx, value, size], i) => {
    v.setUint32(24 * i, name, true);
    v.setUint8(24 * i + 4, info);
    v.setUint16(24 * i + 6, shndx, true);
    v.setBigUint64(24 * i + 8, BigInt(value), true);
    v.setBigUint64(24 * i + 16, BigInt(size), true);
  });
  return out;
}

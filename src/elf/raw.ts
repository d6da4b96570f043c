// Structural validation of an ELF64 little-endian relocatable eBPF object, done on the raw bytes
// BEFORE elfinfo sees them (elfinfo hangs, over-allocates or silently accepts garbage on hostile
// input; see design/BUN-NOTES.md). Also decodes the symbol and relocation tables, which elfinfo
// parses too loosely for our use. Pure: no fs, no ffi.

import { RELOC_NAMES } from "../uapi.ts";
import type { SymbolSpec } from "./types.ts";
import { ObjectError, quote } from "../errors.ts";
import { cstring, MAX_NAME } from "./cstring.ts";

export const EM_BPF = 247;
export const ET_REL = 1;

export const SHT_NULL = 0;
export const SHT_PROGBITS = 1;
export const SHT_SYMTAB = 2;
export const SHT_STRTAB = 3;
export const SHT_RELA = 4;
export const SHT_NOBITS = 8;
export const SHT_REL = 9;
export const SHT_DYNSYM = 11;
export const SHT_SYMTAB_SHNDX = 18;

export const SHF_WRITE = 0x1;
export const SHF_ALLOC = 0x2;
export const SHF_EXECINSTR = 0x4;

export const STB_LOCAL = 0;
export const STB_GLOBAL = 1;
export const STB_WEAK = 2;

export const STT_NOTYPE = 0;
export const STT_OBJECT = 1;
export const STT_FUNC = 2;
export const STT_SECTION = 3;
export const STT_FILE = 4;

export const SHN_UNDEF = 0;
export const SHN_LORESERVE = 0xff00;
export const SHN_ABS = 0xfff1;
export const SHN_COMMON = 0xfff2;
export const SHN_XINDEX = 0xffff;

export { R_BPF_NONE, R_BPF_64_64, R_BPF_64_ABS64, R_BPF_64_ABS32, R_BPF_64_NODYLD32, R_BPF_64_32 } from "../uapi.ts";

export function relocationTypeName(type: number): string {
  return RELOC_NAMES[type] ?? String(type);
}

const EHDR_SIZE = 64;
const SHDR_SIZE = 64;
const SYM_SIZE = 24;
const REL_SIZE = 16;
const RELA_SIZE = 24;

/**
 * Upper bound on the work elfinfo's string lookup does (it scans every string of a table for each
 * name offset that does not start a string). Real objects stay far below; a crafted one could
 * otherwise keep elfinfo busy for minutes (measured: about 100 ns per unit, so this bound is about 0.5 s).
 */
const MAX_ELFINFO_STRING_SCAN = 5_000_000;

/** One section header as read from the file (all numbers exact: 64-bit fields must fit in 32 bits). */
export interface RawSection {
  index: number;
  name: string;
  nameOffset: number;
  type: number;
  flags: number;
  offset: number;
  size: number;
  link: number;
  info: number;
  addralign: number;
  entsize: number;
}

/** One symbol of the symbol table (the same shape ObjectSpec exposes). `value`/`size` are exact up to 2^53. */
export type RawSymbol = SymbolSpec;

/** One entry of a SHT_REL section. */
export interface RawRelocation {
  /** Byte offset inside the target section. */
  offset: number;
  symbol: number;
  type: number;
  /** File offset of the relocation entry itself (for error messages). */
  entryOffset: number;
}

export interface RawRelSection {
  section: RawSection;
  target: number;
  relocations: RawRelocation[];
}

export interface RawElf {
  sections: RawSection[];
  symbols: RawSymbol[];
  symtabIndex: number;
  rels: RawRelSection[];
}

/** Reader over a byte array: little-endian, bounds-checked by the caller's validation. */
export class Bytes {
  readonly view: DataView;
  constructor(readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  get length(): number {
    return this.bytes.length;
  }
  u8(pos: number): number {
    return this.view.getUint8(pos);
  }
  u16(pos: number): number {
    return this.view.getUint16(pos, true);
  }
  u32(pos: number): number {
    return this.view.getUint32(pos, true);
  }
  i32(pos: number): number {
    return this.view.getInt32(pos, true);
  }
  /** A u64 as a number, or undefined when it does not fit in 32 bits (no valid field of a small object does). */
  u64small(pos: number): number | undefined {
    const hi = this.view.getUint32(pos + 4, true);
    return hi === 0 ? this.view.getUint32(pos, true) : undefined;
  }
  /** A u64 as a number, clamped to Number.MAX_SAFE_INTEGER. */
  u64clamp(pos: number): number {
    const v = this.view.getBigUint64(pos, true);
    return v > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(v);
  }
}

const MACHINES: Record<number, string> = {
  3: "x86", 8: "MIPS", 20: "PowerPC", 21: "PowerPC64", 22: "S/390", 40: "ARM", 62: "x86-64", 183: "AArch64",
  243: "RISC-V",
};

const ELF_TYPES: Record<number, string> = { 0: "ET_NONE", 1: "ET_REL", 2: "ET_EXEC", 3: "ET_DYN", 4: "ET_CORE" };

/** True when the bytes start with the ELF magic (nothing else is checked). */
export function isElf(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === 0x7f && bytes[1] === 0x45 && bytes[2] === 0x4c && bytes[3] === 0x46;
}

/**
 * Reads a NUL-terminated string of a string table; undefined when `off` is outside the table, the
 * string is unterminated or longer than MAX_NAME (cached per table and offset).
 */
function readString(b: Bytes, table: RawSection, off: number, cache: Map<number, string | undefined>): string | undefined {
  const key = table.index * 0x1_0000_0000 + off;
  if (cache.has(key)) return cache.get(key);
  const s = off >= table.size ? undefined : cstring(b.bytes, table.offset + off, table.offset + table.size) ?? undefined;
  cache.set(key, s);
  return s;
}

/**
 * Validates the ELF header, every section header, the string and symbol tables and every relocation
 * entry against the file length, and decodes them. Throws ObjectError for anything malformed.
 */
export function validateElf(bytes: Uint8Array, file: string): RawElf {
  const fail = (problem: string, where: { section?: string; offset?: number } = {}): never => {
    throw new ObjectError(file, problem, where);
  };
  const b = new Bytes(bytes);
  if (bytes.length < 4 || !isElf(bytes)) fail("not an ELF file (bad magic)", { offset: 0 });
  if (bytes.length < EHDR_SIZE) fail(`truncated ELF header (${bytes.length} bytes, need ${EHDR_SIZE})`, { offset: 0 });
  const cls = b.u8(4);
  if (cls === 1) fail("32-bit ELF (ELFCLASS32) objects are not eBPF objects: need ELFCLASS64", { offset: 4 });
  if (cls !== 2) fail(`invalid ELF class ${cls}`, { offset: 4 });
  const data = b.u8(5);
  if (data === 2) fail("big-endian objects (bpfeb) are not supported: compile with -target bpfel (or bpf)", { offset: 5 });
  if (data !== 1) fail(`invalid ELF data encoding ${data}`, { offset: 5 });
  if (b.u8(6) !== 1) fail(`unsupported ELF version ${b.u8(6)}`, { offset: 6 });
  const type = b.u16(16);
  const machine = b.u16(18);
  if (machine !== EM_BPF) {
    const m = MACHINES[machine];
    fail(`not an eBPF object: machine ${machine}${m ? ` (${m})` : ""}, expected EM_BPF (247)`, { offset: 18 });
  }
  if (type !== ET_REL) {
    fail(`not a relocatable object: type ${ELF_TYPES[type] ?? type}, expected ET_REL (an object from clang -c)`, { offset: 16 });
  }
  if (b.u32(20) !== 1) fail(`unsupported ELF version ${b.u32(20)} in e_version`, { offset: 20 });
  const phoff = b.u64small(32);
  const shoff = b.u64small(40);
  const ehsize = b.u16(52);
  const phnum = b.u16(56);
  const shentsize = b.u16(58);
  const shnum = b.u16(60);
  const shstrndx = b.u16(62);
  if (ehsize !== EHDR_SIZE) fail(`bad ELF header size ${ehsize}, expected 64`, { offset: 52 });
  if (phnum !== 0) fail(`relocatable object with ${phnum} program headers (phoff ${phoff ?? "huge"})`, { offset: 56 });
  if (shoff === undefined || shoff === 0) {
    fail(shoff === 0 ? "no section header table" : "section header table offset out of range", { offset: 40 });
  }
  const sho = shoff as number;
  if (shnum === 0) fail("no sections (or extended section numbering, which is not supported)", { offset: 60 });
  if (shentsize !== SHDR_SIZE) fail(`bad section header size ${shentsize}, expected 64`, { offset: 58 });
  if (sho < EHDR_SIZE || sho + shnum * SHDR_SIZE > bytes.length) {
    fail(`section header table (${shnum} entries at 0x${sho.toString(16)}) extends past the end of the file (${bytes.length} bytes)`, { offset: 40 });
  }
  if (shstrndx === SHN_XINDEX) fail("extended section name table index is not supported", { offset: 62 });
  if (shstrndx === 0 || shstrndx >= shnum) fail(`section name table index ${shstrndx} out of range (${shnum} sections)`, { offset: 62 });

  // Section headers.
  const sections: RawSection[] = [];
  for (let i = 0; i < shnum; i++) {
    const h = sho + i * SHDR_SIZE;
    const where = { section: `#${i}`, offset: h };
    const stype = b.u32(h + 4);
    const flags = b.u64small(h + 8);
    const offset = b.u64small(h + 24);
    const size = b.u64small(h + 32);
    const addralign = b.u64small(h + 48);
    const entsize = b.u64small(h + 56);
    if (flags === undefined) fail("section flags out of range", where);
    if (offset === undefined) fail("section offset out of range", where);
    if (size === undefined) fail("section size out of range (>= 4 GiB)", where);
    if (addralign === undefined) fail("section alignment out of range", where);
    if (entsize === undefined) fail("section entry size out of range", where);
    sections.push({
      index: i, name: "", nameOffset: b.u32(h), type: stype, flags: flags as number, offset: offset as number,
      size: size as number, link: b.u32(h + 40), info: b.u32(h + 44), addralign: addralign as number,
      entsize: entsize as number,
    });
  }
  const s0 = sections[0]!;
  if (s0.type !== SHT_NULL) fail("section 0 is not SHT_NULL", { section: "#0", offset: sho });
  // Extents against the file.
  for (const s of sections) {
    const where = { section: `#${s.index}`, offset: sho + s.index * SHDR_SIZE };
    if (s.type === SHT_NULL) continue;
    if (s.type === SHT_NOBITS) {
      if (s.offset > bytes.length) fail(`section offset 0x${s.offset.toString(16)} past the end of the file`, where);
      continue;
    }
    if (s.offset + s.size > bytes.length) {
      fail(`section data (offset 0x${s.offset.toString(16)}, size 0x${s.size.toString(16)}) extends past the end of the file (${bytes.length} bytes)`, where);
    }
    if (s.size > 0 && s.offset < EHDR_SIZE) fail(`section data at offset 0x${s.offset.toString(16)} overlaps the ELF header`, where);
  }
  // Section names.
  const names = new Map<number, string | undefined>();
  const shstr = sections[shstrndx]!;
  if (shstr.type !== SHT_STRTAB) fail(`section name table (section ${shstrndx}) is not a string table`, { offset: 62 });
  if (shstr.size === 0) fail("empty section name table", { section: `#${shstrndx}` });
  for (const s of sections) {
    const where = { section: `#${s.index}`, offset: sho + s.index * SHDR_SIZE };
    const name = readString(b, shstr, s.nameOffset, names);
    if (name === undefined) fail(`section name offset 0x${s.nameOffset.toString(16)} outside the section name table, unterminated or longer than ${MAX_NAME} bytes`, where);
    s.name = name as string;
  }
  // Per-type checks.
  let symtab: RawSection | undefined;
  for (const s of sections) {
    const where = { section: s.name || `#${s.index}`, offset: sho + s.index * SHDR_SIZE };
    switch (s.type) {
      case SHT_STRTAB:
        if (s.size === 0) fail("empty string table", where);
        break;
      case SHT_DYNSYM:
        fail("dynamic symbol table in a relocatable object", where);
        break;
      case SHT_SYMTAB: {
        if (s.entsize !== SYM_SIZE) fail(`symbol table entry size ${s.entsize}, expected ${SYM_SIZE}`, where);
        if (s.size % SYM_SIZE !== 0) fail(`symbol table size ${s.size} is not a multiple of ${SYM_SIZE}`, where);
        const str = sections[s.link];
        if (!str || str.type !== SHT_STRTAB) fail(`symbol table links to section ${s.link}, which is not a string table`, where);
        if (symtab) fail("more than one symbol table", where);
        symtab = s;
        break;
      }
      case SHT_REL:
      case SHT_RELA: {
        const want = s.type === SHT_REL ? REL_SIZE : RELA_SIZE;
        if (s.entsize !== want) fail(`relocation entry size ${s.entsize}, expected ${want}`, where);
        if (s.size % want !== 0) fail(`relocation section size ${s.size} is not a multiple of ${want}`, where);
        const st = sections[s.link];
        if (!st || st.type !== SHT_SYMTAB) fail(`relocation section links to section ${s.link}, which is not the symbol table`, where);
        if (s.info === 0 || s.info >= shnum) fail(`relocation section applies to section ${s.info}, which does not exist`, where);
        break;
      }
      case SHT_SYMTAB_SHNDX:
        fail("extended symbol section indices (SHT_SYMTAB_SHNDX) are not supported", where);
    }
  }

  // Symbols.
  const symbols: RawSymbol[] = [];
  if (symtab) {
    const str = sections[symtab.link]!;
    const n = symtab.size / SYM_SIZE;
    for (let i = 0; i < n; i++) {
      const p = symtab.offset + i * SYM_SIZE;
      const where = { section: symtab.name, offset: p };
      const nameOff = b.u32(p);
      const info = b.u8(p + 4);
      const shndx = b.u16(p + 6);
      const name = readString(b, str, nameOff, names);
      if (name === undefined) fail(`symbol ${i}: name offset 0x${nameOff.toString(16)} outside the string table ${quote(str.name)}, unterminated or longer than ${MAX_NAME} bytes`, where);
      if (shndx === SHN_XINDEX) fail(`symbol ${i}: extended section index is not supported`, where);
      if (shndx !== SHN_UNDEF && shndx < SHN_LORESERVE && shndx >= shnum) {
        fail(`symbol ${i} (${quote(name!)}): section index ${shndx} out of range (${shnum} sections)`, where);
      }
      const type = info & 0xf;
      const visibility = b.u8(p + 5) & 3;
      symbols.push({
        index: i, name: type === STT_SECTION && name === "" ? sections[shndx]?.name ?? "" : (name as string),
        value: b.u64clamp(p + 8), size: b.u64clamp(p + 16), type, bind: info >> 4, visibility, shndx,
      });
    }
  }

  // Relocations.
  const rels: RawRelSection[] = [];
  for (const s of sections) {
    if (s.type !== SHT_REL && s.type !== SHT_RELA) continue;
    const target = sections[s.info]!;
    const relocations: RawRelocation[] = [];
    const n = s.size / s.entsize;
    for (let i = 0; i < n; i++) {
      const p = s.offset + i * s.entsize;
      const where = { section: s.name, offset: p };
      const off = b.u64small(p);
      const sym = b.u32(p + 12);
      const rtype = b.u32(p + 8);
      if (off === undefined || off >= target.size) {
        fail(`relocation ${i}: offset ${off === undefined ? "(huge)" : `0x${off.toString(16)}`} is past the end of section ${quote(target.name)} (size 0x${target.size.toString(16)})`, where);
      }
      if (sym >= symbols.length) {
        fail(`relocation ${i}: symbol index ${sym} out of range (${symbols.length} symbols)`, where);
      }
      relocations.push({ offset: off as number, symbol: sym, type: rtype, entryOffset: p });
    }
    rels.push({ section: s, target: s.info, relocations });
  }

  guardElfinfoStringScan(b, sections, symtab, symbols, shstrndx, file);
  return { sections, symbols, symtabIndex: symtab?.index ?? -1, rels };
}

/** Rejects string tables on which elfinfo's name lookup would do quadratic work. */
function guardElfinfoStringScan(
  b: Bytes, sections: RawSection[], symtab: RawSection | undefined, symbols: RawSymbol[], shstrndx: number,
  file: string,
): void {
  const startsAndCount = (t: RawSection): [Set<number>, number] => {
    const starts = new Set<number>();
    for (let i = 0; i < t.size; i++) {
      const c = b.bytes[t.offset + i];
      if (c !== 0 && (i === 0 || b.bytes[t.offset + i - 1] === 0)) starts.add(i);
    }
    return [starts, starts.size];
  };
  const check = (t: RawSection, offsets: number[]) => {
    const [starts, count] = startsAndCount(t);
    let misses = 0;
    for (const o of offsets) if (!starts.has(o)) misses++;
    if (misses * count > MAX_ELFINFO_STRING_SCAN) {
      throw new ObjectError(file, `string table has ${count} strings and ${misses} names that point into the middle of strings: refusing to parse`, { section: t.name, offset: t.offset });
    }
  };
  check(sections[shstrndx]!, sections.filter((s) => s.nameOffset !== 0).map((s) => s.nameOffset));
  if (symtab) {
    const str = sections[symtab.link]!;
    const offs: number[] = [];
    for (let i = 0; i < symbols.length; i++) offs.push(b.u32(symtab.offset + i * SYM_SIZE));
    check(str, offs);
  }
}

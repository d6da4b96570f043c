// Symbols of a user-space executable or library, for uprobes: a symbol's file offset is what
// uprobe_events and the uprobe PMU want. Pure: the caller supplies `read(offset, length)`, so a
// 100 MB executable is never read whole. Every offset is checked against the file size.
// (Separate from the eBPF object reader: targets are ordinary x86_64/aarch64 ELF files of any size.)

export interface TargetSymbol {
  name: string;
  /** Virtual address (st_value). */
  value: bigint;
  size: bigint;
  /** Offset in the file of the symbol's first byte. */
  fileOffset: number;
  /** Came from .dynsym (true) or .symtab (false). */
  dynamic: boolean;
}

export class TargetError extends Error {}

type Read = (offset: number, length: number) => Uint8Array;

const SHT_SYMTAB = 2;
const SHT_DYNSYM = 11;
const PT_LOAD = 1;
const STT_FUNC = 2;
const STT_GNU_IFUNC = 10;
const MAX_TABLE = 256 * 1024 * 1024;

/** The fields of a 64-bit ELF header that target readers (symbols, USDT notes) need. */
export interface ElfHeader {
  le: boolean;
  /** e_type: ET_EXEC 2, ET_DYN 3 */
  elfType: number;
  /** e_machine */
  machine: number;
  phoff: number;
  phentsize: number;
  phnum: number;
  shoff: number;
  shentsize: number;
  shnum: number;
  shstrndx: number;
}

/** A PT_LOAD segment. */
export interface LoadSegment {
  vaddr: bigint;
  offset: bigint;
  filesz: bigint;
  memsz: bigint;
}

/** The ELF header, its tables checked to lie inside the file; `fail` throws the caller's error kind. */
export function readElfHeader(read: Read, size: number, fail: (why: string) => never): ElfHeader {
  if (size < 64) fail("too small to be an ELF file");
  const h = read(0, 64);
  const dv = new DataView(h.buffer, h.byteOffset, h.byteLength);
  if (dv.getUint32(0) !== 0x7f454c46) fail("not an ELF file");
  if (h[4] !== 2) fail("not a 64-bit ELF file (32-bit targets are not supported)");
  const le = h[5] === 1;
  const hdr = {
    le,
    elfType: dv.getUint16(0x10, le),
    machine: dv.getUint16(0x12, le),
    phoff: Number(dv.getBigUint64(0x20, le)),
    shoff: Number(dv.getBigUint64(0x28, le)),
    phentsize: dv.getUint16(0x36, le),
    phnum: dv.getUint16(0x38, le),
    shentsize: dv.getUint16(0x3a, le),
    shnum: dv.getUint16(0x3c, le),
    shstrndx: dv.getUint16(0x3e, le),
  };
  const within = (off: number, len: number) => off >= 0 && len >= 0 && off + len <= size;
  if (hdr.shnum && (hdr.shentsize < 64 || !within(hdr.shoff, hdr.shnum * hdr.shentsize))) fail("section table lies outside the file");
  if (hdr.phnum && (hdr.phentsize < 56 || !within(hdr.phoff, hdr.phnum * hdr.phentsize))) fail("program header table lies outside the file");
  return hdr;
}

/** The PT_LOAD segments of the program header table. */
export function loadSegments(read: Read, h: ElfHeader): LoadSegment[] {
  const segments: LoadSegment[] = [];
  if (!h.phnum) return segments;
  const ph = read(h.phoff, h.phnum * h.phentsize);
  const dv = new DataView(ph.buffer, ph.byteOffset, ph.byteLength);
  for (let i = 0; i < h.phnum; i++) {
    const p = i * h.phentsize;
    if (dv.getUint32(p, h.le) !== PT_LOAD) continue;
    segments.push({ offset: dv.getBigUint64(p + 8, h.le), vaddr: dv.getBigUint64(p + 16, h.le), filesz: dv.getBigUint64(p + 32, h.le), memsz: dv.getBigUint64(p + 40, h.le) });
  }
  return segments;
}

/**
 * A virtual address as a file offset through the PT_LOAD segments: within the bytes the file holds
 * (code), or within the segment's memory size (`memory`: data such as a USDT semaphore).
 */
export function toFileOffset(segments: LoadSegment[], addr: bigint, memory = false): number | undefined {
  for (const s of segments) {
    if (addr >= s.vaddr && addr < s.vaddr + (memory ? s.memsz : s.filesz)) return Number(addr - s.vaddr + s.offset);
  }
  return undefined;
}

/** Function symbols of the file (.symtab and .dynsym), with their file offsets. */
export function readTargetSymbols(read: Read, size: number): TargetSymbol[] {
  const h = readElfHeader(read, size, (why) => {
    throw new TargetError(why);
  });
  const within = (off: number, len: number) => off >= 0 && len >= 0 && off + len <= size;
  const segments = loadSegments(read, h);
  if (!h.shnum) return [];
  const sh = read(h.shoff, h.shnum * h.shentsize);
  const sdv = new DataView(sh.buffer, sh.byteOffset, sh.byteLength);
  const section = (i: number) => {
    const p = i * h.shentsize;
    return {
      type: sdv.getUint32(p + 4, h.le),
      offset: Number(sdv.getBigUint64(p + 0x18, h.le)),
      size: Number(sdv.getBigUint64(p + 0x20, h.le)),
      link: sdv.getUint32(p + 0x28, h.le),
      entsize: Number(sdv.getBigUint64(p + 0x38, h.le)),
    };
  };
  const out: TargetSymbol[] = [];
  for (let i = 0; i < h.shnum; i++) {
    const s = section(i);
    if (s.type !== SHT_SYMTAB && s.type !== SHT_DYNSYM) continue;
    if (s.entsize < 24 || s.size > MAX_TABLE || !within(s.offset, s.size) || s.link >= h.shnum) throw new TargetError(`symbol table ${i} is corrupt`);
    const strs = section(s.link);
    if (strs.size > MAX_TABLE || !within(strs.offset, strs.size)) throw new TargetError(`string table ${s.link} is corrupt`);
    const table = read(s.offset, s.size);
    const names = read(strs.offset, strs.size);
    const dv = new DataView(table.buffer, table.byteOffset, table.byteLength);
    const decoder = new TextDecoder();
    for (let p = 0; p + 24 <= table.length; p += s.entsize) {
      const type = table[p + 4]! & 0xf;
      const shndx = dv.getUint16(p + 6, h.le);
      if ((type !== STT_FUNC && type !== STT_GNU_IFUNC) || shndx === 0) continue;
      const nameOff = dv.getUint32(p, h.le);
      if (nameOff >= names.length) continue;
      let end = nameOff;
      while (end < names.length && names[end] !== 0) end++;
      const value = dv.getBigUint64(p + 8, h.le);
      const fileOffset = toFileOffset(segments, value);
      if (fileOffset === undefined) continue;
      out.push({ name: decoder.decode(names.subarray(nameOff, end)), value, size: dv.getBigUint64(p + 16, h.le), fileOffset, dynamic: s.type === SHT_DYNSYM });
    }
  }
  return out;
}

/**
 * File offset of `symbol` in the target. Versioned names (`malloc@@GLIBC_2.2.5`) match their
 * plain name; a static symbol wins over a dynamic one of the same name only when they agree.
 */
export function findTargetSymbol(symbols: TargetSymbol[], symbol: string): TargetSymbol | undefined {
  const plain = (n: string) => n.replace(/@.*$/, "");
  return symbols.find((s) => s.name === symbol) ?? symbols.find((s) => plain(s.name) === symbol);
}

// Minimal ELF64 little-endian reader: machine, PT_INTERP and DT_NEEDED.
// Enough to find which glibc files a (possibly foreign-arch) executable needs, without ldd
// (ldd only works for the host's own architecture).

export const EM_X86_64 = 62;
export const EM_AARCH64 = 183;

export interface ElfDeps {
  machine: number;
  /** File offset of the entry point (what a uprobe by raw offset on the program's start needs), or null. */
  entryOffset: number | null;
  interp: string | null;
  needed: string[];
}

const PT_LOAD = 1;
const PT_DYNAMIC = 2;
const PT_INTERP = 3;
const DT_NULL = 0n;
const DT_NEEDED = 1n;
const DT_STRTAB = 5n;

function cstring(bytes: Uint8Array, off: number): string {
  let end = off;
  while (end < bytes.length && bytes[end] !== 0) end++;
  return new TextDecoder().decode(bytes.subarray(off, end));
}

export async function readElfDeps(path: string): Promise<ElfDeps> {
  const bytes = new Uint8Array(await Bun.file(path).arrayBuffer());
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 64 || dv.getUint32(0, false) !== 0x7f454c46) throw new Error(`${path}: not an ELF file`);
  if (bytes[4] !== 2 || bytes[5] !== 1) throw new Error(`${path}: not a 64-bit little-endian ELF file`);
  const machine = dv.getUint16(18, true);
  const entry = Number(dv.getBigUint64(24, true));
  const phoff = Number(dv.getBigUint64(32, true));
  const phentsize = dv.getUint16(54, true);
  const phnum = dv.getUint16(56, true);
  if (phoff + phnum * phentsize > bytes.length) throw new Error(`${path}: program headers out of range`);

  interface Seg { type: number; offset: number; vaddr: number; filesz: number }
  const segs: Seg[] = [];
  for (let i = 0; i < phnum; i++) {
    const p = phoff + i * phentsize;
    segs.push({
      type: dv.getUint32(p, true),
      offset: Number(dv.getBigUint64(p + 8, true)),
      vaddr: Number(dv.getBigUint64(p + 16, true)),
      filesz: Number(dv.getBigUint64(p + 32, true)),
    });
  }
  const vaddrToOffset = (va: number): number => {
    for (const s of segs) {
      if (s.type === PT_LOAD && va >= s.vaddr && va < s.vaddr + s.filesz) return s.offset + (va - s.vaddr);
    }
    throw new Error(`${path}: address 0x${va.toString(16)} is in no PT_LOAD segment`);
  };

  let interp: string | null = null;
  const needed: string[] = [];
  for (const s of segs) {
    if (s.type === PT_INTERP) interp = cstring(bytes, s.offset);
    if (s.type !== PT_DYNAMIC) continue;
    const offsets: number[] = [];
    let strtab = -1;
    for (let p = s.offset; p + 16 <= s.offset + s.filesz; p += 16) {
      const tag = dv.getBigInt64(p, true);
      const val = Number(dv.getBigUint64(p + 8, true));
      if (tag === DT_NULL) break;
      if (tag === DT_NEEDED) offsets.push(val);
      if (tag === DT_STRTAB) strtab = vaddrToOffset(val);
    }
    if (offsets.length > 0 && strtab < 0) throw new Error(`${path}: DT_NEEDED without DT_STRTAB`);
    for (const o of offsets) needed.push(cstring(bytes, strtab + o));
  }
  let entryOffset: number | null = null;
  try {
    if (entry !== 0) entryOffset = vaddrToOffset(entry);
  } catch {
    entryOffset = null;
  }
  return { machine, entryOffset, interp, needed };
}

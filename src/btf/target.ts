// The pure half of opening a target BTF (the kernel's types CO-RE relocations are resolved
// against) from a file the user gave: raw BTF as BTFHub and `pahole --btf_encode_detached` write it,
// an ELF with a .BTF section (a vmlinux), or the tar member of a BTFHub archive once xz has
// unpacked it (kernel/btf/core-target.ts runs xz). Every malformed input is one line: TargetBtfError.

import { Btf, BtfError, BTF_MAGIC } from "../elf/btf.ts";

/** What a target BTF file looks like, from its first bytes. */
export type TargetFormat = "btf" | "elf" | "xz" | "tar" | "gzip" | "zstd" | "unknown";

/** A file that cannot serve as target BTF; `problem` is what is wrong, without the file name. */
export class TargetBtfError extends Error {
  constructor(readonly problem: string) {
    super(problem);
  }
}

const XZ_MAGIC = [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00];

function startsWith(bytes: Uint8Array, magic: number[], at = 0): boolean {
  if (bytes.length < at + magic.length) return false;
  return magic.every((m, i) => bytes[at + i] === m);
}

export function targetFormat(bytes: Uint8Array): TargetFormat {
  if (bytes.length >= 2 && (bytes[0]! | (bytes[1]! << 8)) === BTF_MAGIC) return "btf";
  if (startsWith(bytes, [0x7f, 0x45, 0x4c, 0x46])) return "elf";
  if (startsWith(bytes, XZ_MAGIC)) return "xz";
  if (startsWith(bytes, [0x1f, 0x8b])) return "gzip";
  if (startsWith(bytes, [0x28, 0xb5, 0x2f, 0xfd])) return "zstd";
  if (startsWith(bytes, [0x75, 0x73, 0x74, 0x61, 0x72], 257)) return "tar"; // "ustar"
  return "unknown";
}

/**
 * The raw BTF inside `bytes`: the bytes themselves, the .BTF section of an ELF file, or the one
 * BTF member of a tar archive (BTFHub's `KERNEL.btf.tar.xz`, after xz). xz data is the caller's.
 */
export function rawTargetBtf(bytes: Uint8Array): Uint8Array {
  switch (targetFormat(bytes)) {
    case "btf":
      return bytes;
    case "elf":
      return elfBtfSection(bytes);
    case "tar":
      return rawTargetBtf(tarBtfMember(bytes));
    case "xz":
      throw new TargetBtfError("xz-compressed: unpack it first (xz -d)"); // the kernel side unpacks; pure code cannot
    case "gzip":
    case "zstd":
      throw new TargetBtfError(`a ${targetFormat(bytes)}-compressed file: unpack it (BTFHub's archives are .tar.xz, which bpfload unpacks itself)`);
    default:
      throw new TargetBtfError(
        bytes.length < 4 ? `${bytes.length} bytes: too short to be BTF` : "not BTF (no BTF magic 0xeb9f), not an ELF file with a .BTF section, not a BTFHub .tar.xz archive",
      );
  }
}

/**
 * Parses target BTF (the index pass only: types are decoded when a relocation asks for them).
 * With `base`, split BTF of a module.
 */
export function parseTargetBtf(raw: Uint8Array, base?: Btf): Btf {
  try {
    return new Btf(raw, { base });
  } catch (e) {
    if (e instanceof BtfError) throw new TargetBtfError(`bad BTF: ${e.message} (at byte ${e.offset})`);
    throw e;
  }
}

/** Reads `length` bytes at `offset` of a file of `size` bytes (fewer only at its end). */
export type ReadAt = (offset: number, length: number) => Uint8Array;

/** The .BTF section of a little-endian 64-bit ELF file held in memory. */
export function elfBtfSection(bytes: Uint8Array): Uint8Array {
  return elfBtfSectionAt((o, n) => bytes.subarray(o, Math.min(bytes.length, o + n)), bytes.length);
}

/**
 * The .BTF section of a little-endian 64-bit ELF file (a vmlinux, any machine), read piecewise:
 * the header, the section headers, their names and .BTF only (a vmlinux with DWARF is ~500 MB).
 */
export function elfBtfSectionAt(read: ReadAt, size: number): Uint8Array {
  const get = (offset: number, length: number, what: string): DataView => {
    if (offset + length > size) throw new TargetBtfError(`${what} (${length} bytes at ${offset}) extends past the end of the file (${size} bytes; truncated?)`);
    const b = read(offset, length);
    if (b.length < length) throw new TargetBtfError(`${what}: short read (truncated file?)`);
    return new DataView(b.buffer, b.byteOffset, b.byteLength);
  };
  if (size < 64) throw new TargetBtfError(`truncated ELF header (${size} bytes)`);
  const h = get(0, 64, "ELF header");
  if (h.getUint8(4) !== 2) throw new TargetBtfError("a 32-bit ELF file: a vmlinux with .BTF is ELFCLASS64");
  if (h.getUint8(5) !== 1) throw new TargetBtfError("a big-endian ELF file: only little-endian BTF is supported");
  const shoff = Number(h.getBigUint64(0x28, true));
  const shentsize = h.getUint16(0x3a, true);
  const shnum = h.getUint16(0x3c, true);
  const shstrndx = h.getUint16(0x3e, true);
  if (shnum === 0 || shoff === 0) throw new TargetBtfError("an ELF file without section headers (no .BTF section)");
  if (shentsize < 64) throw new TargetBtfError(`bad ELF section header size ${shentsize}`);
  const table = get(shoff, shnum * shentsize, "the ELF section header table");
  const section = (i: number) => {
    const at = i * shentsize;
    return { name: table.getUint32(at, true), type: table.getUint32(at + 4, true), offset: Number(table.getBigUint64(at + 0x18, true)), size: Number(table.getBigUint64(at + 0x20, true)) };
  };
  if (shstrndx >= shnum) throw new TargetBtfError("ELF section name table index out of range");
  const strtab = section(shstrndx);
  if (strtab.size > 16 * 1024 * 1024) throw new TargetBtfError(`ELF section name table of ${strtab.size} bytes`);
  const names = get(strtab.offset, strtab.size, "the ELF section name table");
  const isBtf = (off: number) =>
    off + 5 <= strtab.size && names.getUint32(off, false) === 0x2e425446 /* ".BTF" */ && names.getUint8(off + 4) === 0;
  for (let i = 0; i < shnum; i++) {
    const s = section(i);
    if (!isBtf(s.name)) continue;
    if (s.type === 8 /* SHT_NOBITS */) throw new TargetBtfError("the ELF file's .BTF section has no data (SHT_NOBITS)");
    const d = get(s.offset, s.size, "the ELF file's .BTF section");
    return new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
  }
  throw new TargetBtfError("an ELF file without a .BTF section (a vmlinux built without CONFIG_DEBUG_INFO_BTF?)");
}

/** One regular file of a tar archive. */
export interface TarMember {
  name: string;
  data: Uint8Array;
}

/** Regular files of a ustar/GNU tar archive (pax and GNU long-name headers are followed). */
export function tarMembers(bytes: Uint8Array): TarMember[] {
  const out: TarMember[] = [];
  let longName: string | undefined;
  for (let at = 0; at + 512 <= bytes.length; ) {
    const h = bytes.subarray(at, at + 512);
    if (h.every((b) => b === 0)) break; // end of archive
    const field = (o: number, n: number) => {
      const end = h.subarray(o, o + n).indexOf(0);
      return new TextDecoder().decode(h.subarray(o, end < 0 ? o + n : o + end));
    };
    const sizeText = field(124, 12).trim();
    if (!/^[0-7]+$/.test(sizeText)) throw new TargetBtfError(`a tar archive with a bad member size at byte ${at + 124}`);
    const size = parseInt(sizeText, 8);
    const dataAt = at + 512;
    if (dataAt + size > bytes.length) throw new TargetBtfError(`a truncated tar archive (member of ${size} bytes at byte ${dataAt})`);
    const data = bytes.subarray(dataAt, dataAt + size);
    const type = String.fromCharCode(h[156]!);
    const prefix = field(345, 155);
    const name = longName ?? (prefix ? `${prefix}/${field(0, 100)}` : field(0, 100));
    longName = undefined;
    if (type === "L") longName = new TextDecoder().decode(data).replace(/\0+$/, "");
    else if (type === "x") longName = /(?:^|\n)\d+ path=([^\n]*)\n/.exec(new TextDecoder().decode(data))?.[1];
    else if (type === "0" || type === "\0") out.push({ name, data });
    at = dataAt + Math.ceil(size / 512) * 512;
  }
  return out;
}

/** The BTF file of a BTFHub archive: its one member named *.btf, else its only member. */
export function tarBtfMember(bytes: Uint8Array): Uint8Array {
  const files = tarMembers(bytes);
  const btf = files.filter((f) => f.name.endsWith(".btf"));
  const pick = btf.length === 1 ? btf[0] : files.length === 1 ? files[0] : undefined;
  if (pick) return pick.data;
  if (!files.length) throw new TargetBtfError("an empty tar archive (no BTF file in it)");
  throw new TargetBtfError(`a tar archive of ${files.length} files, none the one *.btf file (${files.slice(0, 3).map((f) => f.name).join(", ")}${files.length > 3 ? ", ..." : ""})`);
}

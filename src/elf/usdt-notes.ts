// USDT probes (sys/sdt.h, SystemTap's format) of a user-space ELF file: the NT_STAPSDT notes of
// .note.stapsdt, each a probe site (provider, name, pc, semaphore, argument string), their
// addresses adjusted for prelinking through .stapsdt.base and turned into file offsets as libbpf
// does, and the arguments parsed into the spec libbpf's usdt.bpf.h reads (struct __bpf_usdt_spec).
// Pure: the caller supplies `read(offset, length)`; every offset is checked against the file size.
import { loadSegments, readElfHeader, toFileOffset } from "./target.ts";

export class UsdtError extends Error {}

type Read = (offset: number, length: number) => Uint8Array;

export interface UsdtNote {
  provider: string;
  name: string;
  /** Link-time address of the probe site, after the .stapsdt.base adjustment. */
  pc: bigint;
  /** The semaphore's link-time address, 0n for none. */
  semaphore: bigint;
  /** The argument string, e.g. "-4@%eax 8@-8(%rbp) 4@$5". */
  args: string;
}

export interface UsdtSite extends UsdtNote {
  /** File offset of the probe site: where the uprobe goes. */
  fileOffset: number;
  /** File offset of the semaphore (the uprobe's ref_ctr_offset), 0 for none. */
  semaphoreOffset: number;
}

export interface UsdtTarget {
  /** ET_EXEC (2): sites run at their link-time address; ET_DYN (3): PIE or library, relocated at run time. */
  elfType: number;
  machine: "x86_64" | "arm64" | "other";
  sites: UsdtSite[];
}

const SHT_NOTE = 7;
const NT_STAPSDT = 3;
const EM_X86_64 = 62;
const EM_AARCH64 = 183;
const MAX_NOTES = 64 * 1024 * 1024;

/** The USDT sites of an ELF file (all of them; `selectSites` picks one probe). */
export function readUsdtTarget(read: Read, size: number): UsdtTarget {
  const h = readElfHeader(read, size, (why) => {
    throw new UsdtError(why);
  });
  const { le, elfType, shoff, shentsize, shnum, shstrndx } = h;
  const within = (off: number, len: number) => off >= 0 && len >= 0 && off + len <= size;
  if (!shnum) throw new UsdtError("no section table (a stripped file keeps .note.stapsdt: is it an ELF executable?)");
  const segments = loadSegments(read, h);
  const sh = read(shoff, shnum * shentsize);
  const sv = new DataView(sh.buffer, sh.byteOffset, sh.byteLength);
  const section = (i: number) => {
    const p = i * shentsize;
    return { name: sv.getUint32(p, le), type: sv.getUint32(p + 4, le), addr: sv.getBigUint64(p + 0x10, le), offset: Number(sv.getBigUint64(p + 0x18, le)), size: Number(sv.getBigUint64(p + 0x20, le)) };
  };
  if (shstrndx >= shnum) throw new UsdtError("section name table index out of range");
  const strs = section(shstrndx);
  if (!within(strs.offset, strs.size) || strs.size > MAX_NOTES) throw new UsdtError("section name table lies outside the file");
  const names = read(strs.offset, strs.size);
  const nameAt = (off: number) => {
    let end = off;
    while (end < names.length && names[end] !== 0) end++;
    return new TextDecoder().decode(names.subarray(off, end));
  };
  let notes: ReturnType<typeof section> | undefined;
  let base: bigint | undefined;
  for (let i = 0; i < shnum; i++) {
    const s = section(i);
    const n = s.name < names.length ? nameAt(s.name) : "";
    if (n === ".note.stapsdt" && s.type === SHT_NOTE) notes = s;
    if (n === ".stapsdt.base") base = s.addr;
  }
  const machine = h.machine === EM_X86_64 ? "x86_64" : h.machine === EM_AARCH64 ? "arm64" : "other";
  if (!notes) return { elfType, machine, sites: [] };
  if (!within(notes.offset, notes.size) || notes.size > MAX_NOTES) throw new UsdtError(".note.stapsdt lies outside the file");
  const sites: UsdtSite[] = [];
  for (const note of parseNotes(read(notes.offset, notes.size), le)) {
    // prelink moved the file but not the notes: the note's base says where .stapsdt.base was
    const pc = base !== undefined && note.base !== 0n ? note.pc + (base - note.base) : note.pc;
    const fileOffset = toFileOffset(segments, pc);
    if (fileOffset === undefined) throw new UsdtError(`probe ${note.provider}:${note.name} at 0x${pc.toString(16)} is in no loadable executable segment`);
    let semaphoreOffset = 0;
    if (note.semaphore) {
      const off = toFileOffset(segments, note.semaphore, true);
      if (off === undefined) throw new UsdtError(`semaphore of ${note.provider}:${note.name} at 0x${note.semaphore.toString(16)} is in no loadable segment`);
      semaphoreOffset = off;
    }
    sites.push({ provider: note.provider, name: note.name, pc, semaphore: note.semaphore, args: note.args, fileOffset, semaphoreOffset });
  }
  return { elfType, machine, sites };
}

function parseNotes(bytes: Uint8Array, le: boolean): { provider: string; name: string; pc: bigint; base: bigint; semaphore: bigint; args: string }[] {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = [];
  const align4 = (n: number) => (n + 3) & ~3;
  const decoder = new TextDecoder();
  for (let p = 0; p + 12 <= bytes.length; ) {
    const namesz = dv.getUint32(p, le);
    const descsz = dv.getUint32(p + 4, le);
    const type = dv.getUint32(p + 8, le);
    const nameStart = p + 12;
    const descStart = nameStart + align4(namesz);
    const next = descStart + align4(descsz);
    if (namesz > bytes.length || descsz > bytes.length || descStart + descsz > bytes.length) throw new UsdtError("a note of .note.stapsdt runs past its section");
    const owner = decoder.decode(bytes.subarray(nameStart, nameStart + namesz)).replace(/\0+$/, "");
    if (owner === "stapsdt" && type === NT_STAPSDT) {
      if (descsz < 24 + 3) throw new UsdtError("a stapsdt note is too short");
      const pc = dv.getBigUint64(descStart, le);
      const base = dv.getBigUint64(descStart + 8, le);
      const semaphore = dv.getBigUint64(descStart + 16, le);
      const strings = decoder.decode(bytes.subarray(descStart + 24, descStart + descsz)).split("\0");
      if (strings.length < 3) throw new UsdtError("a stapsdt note lacks its provider, name or arguments");
      out.push({ provider: strings[0]!, name: strings[1]!, pc, base, semaphore, args: strings[2]! });
    }
    p = next;
  }
  return out;
}

// --- argument specs (libbpf's struct __bpf_usdt_arg_spec) ---

export const USDT_ARG_CONST = 0;
export const USDT_ARG_REG = 1;
export const USDT_ARG_REG_DEREF = 2;
/** usdt.bpf.h's BPF_USDT_MAX_ARG_CNT. */
export const USDT_MAX_ARGS = 12;
/** sizeof(struct __bpf_usdt_spec): 12 args of 16 bytes, the cookie, the count, padded to 8. */
export const USDT_SPEC_SIZE = 208;

export interface UsdtArgSpec {
  type: typeof USDT_ARG_CONST | typeof USDT_ARG_REG | typeof USDT_ARG_REG_DEREF;
  /** CONST: the value; REG_DEREF: the offset from the register. */
  valOff: bigint;
  /** Offset of the register in struct pt_regs (REG, REG_DEREF). */
  regOff: number;
  signed: boolean;
  /** 64 - 8 × size: the bits to clear (or sign-extend) to make a 1-, 2- or 4-byte argument a u64. */
  bitshift: number;
}

/** struct pt_regs offsets on x86_64; every name of a register (rax, eax, ax, al) reads the same slot. */
const X86_REGS: [number, string[]][] = [
  [0, ["r15", "r15d", "r15w", "r15b"]],
  [8, ["r14", "r14d", "r14w", "r14b"]],
  [16, ["r13", "r13d", "r13w", "r13b"]],
  [24, ["r12", "r12d", "r12w", "r12b"]],
  [32, ["rbp", "ebp", "bp", "bpl"]],
  [40, ["rbx", "ebx", "bx", "bl"]],
  [48, ["r11", "r11d", "r11w", "r11b"]],
  [56, ["r10", "r10d", "r10w", "r10b"]],
  [64, ["r9", "r9d", "r9w", "r9b"]],
  [72, ["r8", "r8d", "r8w", "r8b"]],
  [80, ["rax", "eax", "ax", "al"]],
  [88, ["rcx", "ecx", "cx", "cl"]],
  [96, ["rdx", "edx", "dx", "dl"]],
  [104, ["rsi", "esi", "si", "sil"]],
  [112, ["rdi", "edi", "di", "dil"]],
  [128, ["rip", "eip"]],
  [152, ["rsp", "esp", "sp", "spl"]],
];
const X86_REG_OFF = new Map(X86_REGS.flatMap(([off, names]) => names.map((n) => [n, off] as const)));

/** arm64 struct pt_regs: regs[31] (x0..x30), then sp and pc. */
function arm64RegOff(reg: string): number | undefined {
  if (reg === "sp") return 248;
  const m = reg.match(/^[xw]([0-9]|[12][0-9]|30)$/);
  return m ? Number(m[1]) * 8 : undefined;
}

/** One argument, `SIZE@LOCATION` as sys/sdt.h writes it for the target's machine. */
export function parseUsdtArg(arg: string, machine: UsdtTarget["machine"]): UsdtArgSpec {
  const m = arg.match(/^(-?)(1|2|4|8)@(.+)$/);
  if (!m) throw new UsdtError(`USDT argument '${arg}': expected SIZE@LOCATION with SIZE 1, 2, 4 or 8 (negative: signed)`);
  const signed = m[1] === "-";
  const bitshift = 64 - 8 * Number(m[2]);
  const loc = m[3]!;
  const base = { signed, bitshift };
  const int = (s: string) => {
    const neg = s.startsWith("-");
    const v = BigInt(neg ? s.slice(1) : s);
    return BigInt.asUintN(64, neg ? -v : v);
  };
  if (machine === "x86_64") {
    let x: RegExpMatchArray | null;
    if ((x = loc.match(/^\$(-?(?:0x[0-9a-f]+|\d+))$/i))) return { ...base, type: USDT_ARG_CONST, valOff: int(x[1]!), regOff: 0 };
    if ((x = loc.match(/^%([a-z0-9]+)$/))) return { ...base, type: USDT_ARG_REG, valOff: 0n, regOff: x86Reg(x[1]!, arg) };
    if ((x = loc.match(/^(-?\d+)?\(%([a-z0-9]+)\)$/))) return { ...base, type: USDT_ARG_REG_DEREF, valOff: int(x[1] ?? "0"), regOff: x86Reg(x[2]!, arg) };
    throw new UsdtError(`USDT argument '${arg}': this location form (index register, symbol, %rip-relative) is not one usdt.bpf.h can read`);
  }
  if (machine === "arm64") {
    let x: RegExpMatchArray | null;
    if ((x = loc.match(/^\[([a-z0-9]+)(?:,\s*(-?\d+))?\]$/))) return { ...base, type: USDT_ARG_REG_DEREF, valOff: int(x[2] ?? "0"), regOff: arm64Reg(x[1]!, arg) };
    if ((x = loc.match(/^(-?\d+)$/))) return { ...base, type: USDT_ARG_CONST, valOff: int(x[1]!), regOff: 0 };
    if ((x = loc.match(/^([a-z0-9]+)$/))) return { ...base, type: USDT_ARG_REG, valOff: 0n, regOff: arm64Reg(x[1]!, arg) };
    throw new UsdtError(`USDT argument '${arg}': this location form is not one usdt.bpf.h can read`);
  }
  throw new UsdtError(`USDT argument '${arg}': only x86_64 and arm64 targets are supported`);
}

function x86Reg(name: string, arg: string): number {
  const off = X86_REG_OFF.get(name);
  if (off === undefined) throw new UsdtError(`USDT argument '${arg}': unknown x86_64 register %${name}`);
  return off;
}

function arm64Reg(name: string, arg: string): number {
  const off = arm64RegOff(name);
  if (off === undefined) throw new UsdtError(`USDT argument '${arg}': unknown arm64 register ${name}`);
  return off;
}

/** All the arguments of a site (space-separated; an empty string: none). */
export function parseUsdtArgs(args: string, machine: UsdtTarget["machine"]): UsdtArgSpec[] {
  const list = args.trim() ? args.trim().split(/\s+(?=-?\d@)/) : [];
  if (list.length > USDT_MAX_ARGS) throw new UsdtError(`USDT probe has ${list.length} arguments; usdt.bpf.h reads at most ${USDT_MAX_ARGS}`);
  return list.map((a) => parseUsdtArg(a, machine));
}

/** struct __bpf_usdt_spec as usdt.bpf.h lays it out (little-endian targets). */
export function encodeUsdtSpec(args: UsdtArgSpec[], cookie: bigint): Uint8Array {
  const out = new Uint8Array(USDT_SPEC_SIZE);
  const dv = new DataView(out.buffer);
  args.forEach((a, i) => {
    const p = i * 16;
    dv.setBigUint64(p, a.valOff, true);
    dv.setUint32(p + 8, a.type, true);
    dv.setInt16(p + 12, a.regOff, true);
    dv.setUint8(p + 14, a.signed ? 1 : 0);
    dv.setInt8(p + 15, a.bitshift);
  });
  dv.setBigUint64(192, cookie, true);
  dv.setInt16(200, args.length, true);
  return out;
}

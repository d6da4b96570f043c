// The Instruction model and its little-endian codec. An eBPF instruction is 8 bytes:
//   byte 0: opcode; byte 1: dst_reg (low nibble) | src_reg (high nibble);
//   bytes 2-3: off (s16); bytes 4-7: imm (s32).
// BPF_LD | BPF_IMM | BPF_DW (ld_imm64, opcode 0x18) spans 16 bytes: the second 8 bytes carry
// the upper 32 bits of the constant in their imm field, and must otherwise be zero.

import { BpfloadError } from "../errors.ts";
import { BPF_DW, BPF_IMM, BPF_LD, bpfClass, bpfMode, bpfOp, bpfSize, bpfSrc } from "./opcodes.ts";

export interface Instruction {
  /** Opcode byte. */
  code: number;
  /** Destination register, 0-15 (4 bits). */
  dst: number;
  /** Source register, 0-15 (4 bits). */
  src: number;
  /** Signed 16-bit offset. */
  off: number;
  /** Signed 32-bit immediate (for ld_imm64: the low half, as stored in the first slot). */
  imm: number;
  /** ld_imm64 only: the whole 64-bit constant, (hi << 32) | lo, as an unsigned bigint. */
  imm64?: bigint;
  /**
   * ld_imm64 only: the raw second slot (code, regs, off) when it is not all zero. Kept so that
   * decode/encode round-trips every byte; valid programs leave it undefined.
   */
  next?: { code: number; dst: number; src: number; off: number };
}

/** One field of the 8-byte slot: byte offset, width and signedness, so readers and writers share it. */
export const INSN_FIELDS = {
  code: { at: 0, bytes: 1, signed: false },
  regs: { at: 1, bytes: 1, signed: false },
  off: { at: 2, bytes: 2, signed: true },
  imm: { at: 4, bytes: 4, signed: true },
} as const;

export const INSN_SIZE = 8;
export const LD_IMM64 = BPF_LD | BPF_IMM | BPF_DW; // 0x18

export const insnClass = (i: Instruction): number => bpfClass(i.code);
export const insnOp = (i: Instruction): number => bpfOp(i.code);
export const insnSource = (i: Instruction): number => bpfSrc(i.code);
export const insnSize = (i: Instruction): number => bpfSize(i.code);
export const insnMode = (i: Instruction): number => bpfMode(i.code);
export const isLdImm64 = (i: Instruction): boolean => i.code === LD_IMM64;
/** Number of 8-byte slots the instruction occupies (2 for ld_imm64). */
export const insnSlots = (i: Instruction): number => (i.code === LD_IMM64 ? 2 : 1);

/** Error for bytes that cannot be decoded (wrong length, truncated ld_imm64). */
export class DecodeError extends BpfloadError {
  readonly exitCode = 2;
  readonly kind = "input";
  constructor(message: string, readonly offset: number) {
    super(`${message} at byte offset ${offset}`);
  }
}

function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Decode one instruction at byte `pos` (which must leave room for it). */
export function decodeAt(dv: DataView, pos: number): Instruction {
  const code = dv.getUint8(pos);
  const regs = dv.getUint8(pos + 1);
  const insn: Instruction = {
    code,
    dst: regs & 0x0f,
    src: regs >> 4,
    off: dv.getInt16(pos + 2, true),
    imm: dv.getInt32(pos + 4, true),
  };
  if (code === LD_IMM64) {
    const hi = dv.getUint32(pos + 12, true);
    insn.imm64 = (BigInt(hi) << 32n) | BigInt(insn.imm >>> 0);
    const c2 = dv.getUint8(pos + 8);
    const r2 = dv.getUint8(pos + 9);
    const o2 = dv.getInt16(pos + 10, true);
    if (c2 !== 0 || r2 !== 0 || o2 !== 0) insn.next = { code: c2, dst: r2 & 0x0f, src: r2 >> 4, off: o2 };
  }
  return insn;
}

/**
 * Decode a program. The length must be a multiple of 8 and an ld_imm64 must not be cut off;
 * otherwise a DecodeError says where. (The disassembler is more lenient: it prints what llvm-objdump
 * prints for such bytes.)
 */
export function decode(bytes: Uint8Array): Instruction[] {
  if (bytes.length % INSN_SIZE !== 0) {
    throw new DecodeError(`length ${bytes.length} is not a multiple of ${INSN_SIZE}`, bytes.length - (bytes.length % INSN_SIZE));
  }
  const dv = view(bytes);
  const out: Instruction[] = [];
  for (let pos = 0; pos < bytes.length; ) {
    if (bytes[pos] === LD_IMM64 && pos + 16 > bytes.length) throw new DecodeError("truncated ld_imm64", pos);
    const insn = decodeAt(dv, pos);
    out.push(insn);
    pos += insn.code === LD_IMM64 ? 16 : 8;
  }
  return out;
}

function checkField(name: string, v: number, lo: number, hi: number): void {
  if (!Number.isInteger(v) || v < lo || v > hi) throw new RangeError(`${name} ${v} out of range [${lo}, ${hi}]`);
}

/** Write one instruction at byte `pos`; returns the number of bytes written. */
export function encodeAt(dv: DataView, pos: number, insn: Instruction): number {
  checkField("code", insn.code, 0, 0xff);
  checkField("dst", insn.dst, 0, 15);
  checkField("src", insn.src, 0, 15);
  checkField("off", insn.off, -0x8000, 0xffff);
  dv.setUint8(pos, insn.code);
  dv.setUint8(pos + 1, (insn.src << 4) | insn.dst);
  dv.setUint16(pos + 2, insn.off & 0xffff, true);
  if (insn.code !== LD_IMM64) {
    checkField("imm", insn.imm, -0x80000000, 0xffffffff);
    dv.setUint32(pos + 4, insn.imm >>> 0, true);
    return 8;
  }
  let v: bigint;
  if (insn.imm64 !== undefined) {
    v = BigInt.asUintN(64, insn.imm64);
  } else {
    checkField("imm", insn.imm, -0x80000000, 0xffffffff);
    v = BigInt(insn.imm >>> 0);
  }
  dv.setUint32(pos + 4, Number(v & 0xffffffffn), true);
  const n = insn.next;
  dv.setUint8(pos + 8, n ? n.code : 0);
  dv.setUint8(pos + 9, n ? (n.src << 4) | n.dst : 0);
  dv.setUint16(pos + 10, n ? n.off & 0xffff : 0, true);
  dv.setUint32(pos + 12, Number(v >> 32n), true);
  return 16;
}

/** Encode instructions to bytes; ld_imm64 takes 16 bytes and uses imm64 (or imm when imm64 is absent). */
export function encode(insns: readonly Instruction[]): Uint8Array {
  let size = 0;
  for (const i of insns) size += i.code === LD_IMM64 ? 16 : 8;
  const out = new Uint8Array(size);
  const dv = view(out);
  let pos = 0;
  for (const i of insns) pos += encodeAt(dv, pos, i);
  return out;
}

/** Convenience constructor with zero defaults. */
export function insn(code: number, fields: Partial<Omit<Instruction, "code">> = {}): Instruction {
  const i: Instruction = { code, dst: fields.dst ?? 0, src: fields.src ?? 0, off: fields.off ?? 0, imm: fields.imm ?? 0 };
  if (fields.imm64 !== undefined) {
    i.imm64 = BigInt.asUintN(64, fields.imm64);
    i.imm = Number(BigInt.asIntN(32, i.imm64));
  } else if (code === LD_IMM64) {
    i.imm64 = BigInt(i.imm >>> 0);
  }
  if (fields.next) i.next = fields.next;
  return i;
}

// Global data for kernels without it (before 5.2): reads of .rodata at constant offsets become
// immediates. A linked ld_imm64 of a .rodata address followed only by loads through it (at constant
// offsets, possibly after `rX += K`) is rewritten: each load turns into a mov of the value the
// section holds there, and the ld_imm64 into `rX = 0`. Anything else the pointer does (passed to a
// helper, stored, compared, used on another path) cannot be folded: FoldError says where. Pure.

const INSN = 8;
const BPF_LD_IMM64 = 0x18;
const CLASS_LDX = 0x01;
const CLASS_ST = 0x02;
const CLASS_STX = 0x03;
const CLASS_ALU = 0x04;
const CLASS_JMP = 0x05;
const CLASS_JMP32 = 0x06;
const CLASS_ALU64 = 0x07;
const MODE_MEM = 0x60;
const OP_MOV = 0xb0;
const OP_ADD = 0x00;
const SRC_X = 0x08;
const JA = 0x00;
const CALL = 0x80;
const EXIT = 0x90;
/** mov64 dst, imm (sign-extends) and mov32 dst, imm (zero-extends the upper half). */
const MOV64_K = 0xb7;
const MOV32_K = 0xb4;
const SIZE_OF: Record<number, number> = { 0x00: 4, 0x08: 2, 0x10: 1, 0x18: 8 };

export class FoldError extends Error {
  constructor(message: string, readonly insn: number) {
    super(message);
  }
}

/** One ld_imm64 of a .rodata address in the linked program. */
export interface RodataSite {
  /** slot of the ld_imm64 */
  insn: number;
  /** the section's bytes (with --set values applied) */
  data: Uint8Array;
  /** byte offset the ld_imm64 points at */
  offset: number;
  /** for messages: the symbol or section */
  name: string;
}

interface Insn {
  code: number;
  dst: number;
  src: number;
  off: number;
  imm: number;
}

function read(v: DataView, pc: number): Insn {
  const regs = v.getUint8(pc * INSN + 1);
  return { code: v.getUint8(pc * INSN), dst: regs & 0x0f, src: regs >> 4, off: v.getInt16(pc * INSN + 2, true), imm: v.getInt32(pc * INSN + 4, true) };
}

const isJump = (i: Insn) => {
  const c = i.code & 7;
  return (c === CLASS_JMP || c === CLASS_JMP32) && (i.code & 0xf0) !== CALL && (i.code & 0xf0) !== EXIT;
};

/** What an instruction reads and writes among r0–r10 (conservative for calls: r1–r5 read, r0–r5 written). */
function regUse(i: Insn): { reads: number[]; writes: number[] } {
  const c = i.code & 7;
  const op = i.code & 0xf0;
  if (i.code === BPF_LD_IMM64) return { reads: [], writes: [i.dst] };
  switch (c) {
    case CLASS_LDX:
      return { reads: [i.src], writes: [i.dst] };
    case CLASS_ST:
      return { reads: [i.dst], writes: [] };
    case CLASS_STX:
      return { reads: [i.dst, i.src], writes: (i.code & 0xe0) === 0xc0 ? [0, i.src] : [] }; // atomics may write back
    case CLASS_ALU:
    case CLASS_ALU64: {
      const src = i.code & SRC_X ? [i.src] : [];
      return { reads: op === OP_MOV ? src : [i.dst, ...src], writes: [i.dst] };
    }
    case CLASS_JMP:
    case CLASS_JMP32:
      if (op === CALL) return { reads: [1, 2, 3, 4, 5], writes: [0, 1, 2, 3, 4, 5] };
      if (op === EXIT) return { reads: [0], writes: [] };
      if (op === JA) return { reads: [], writes: [] };
      return { reads: i.code & SRC_X ? [i.dst, i.src] : [i.dst], writes: [] };
  }
  return { reads: [], writes: [] }; // legacy LD_ABS/LD_IND: r6 is the context, never a .rodata pointer
}

/** May `reg` be read, from `pc` on, before it is written? */
function liveAt(v: DataView, n: number, reg: number, start: number): boolean {
  const seen = new Set<number>();
  const todo = [start];
  while (todo.length) {
    let pc = todo.pop()!;
    for (;;) {
      if (pc < 0 || pc >= n) return true; // off the program: be safe
      if (seen.has(pc)) break;
      seen.add(pc);
      const i = read(v, pc);
      const u = regUse(i);
      if (u.reads.includes(reg)) return true;
      if (u.writes.includes(reg)) break;
      if ((i.code & 0xf0) === EXIT && (i.code & 7) === CLASS_JMP) break;
      if (isJump(i)) {
        todo.push(pc + i.off + 1);
        if ((i.code & 0xf0) === JA && (i.code & 7) === CLASS_JMP) break;
      }
      pc += i.code === BPF_LD_IMM64 ? 2 : 1;
    }
  }
  return false;
}

/** The mov that gives `dst` the value a load of `size` bytes at `at` would (zero-extended). */
function movFor(data: Uint8Array, at: number, size: number, dst: number, pc: number, name: string): [number, number] {
  if (at < 0 || at + size > data.length) throw new FoldError(`a read of ${size} bytes at offset ${at} lies outside ${name} (${data.length} bytes)`, pc);
  let value = 0n;
  for (let b = size - 1; b >= 0; b--) value = (value << 8n) | BigInt(data[at + b]!);
  if (value < 0x80000000n) return [MOV64_K, Number(value)];
  if (value < 0x100000000n) return [MOV32_K, Number(BigInt.asIntN(32, value))];
  const signed = BigInt.asIntN(64, value);
  if (signed >= -0x80000000n) return [MOV64_K, Number(signed)];
  throw new FoldError(`the 64-bit value 0x${value.toString(16)} read at offset ${at} of ${name} does not fit in an immediate`, pc);
}

/** Rewrites `insns` (a linked program, modified in place) so that no site refers to .rodata. */
export function foldRodata(insns: Uint8Array, sites: readonly RodataSite[]): void {
  const v = new DataView(insns.buffer, insns.byteOffset, insns.byteLength);
  const n = insns.length / INSN;
  const targets = new Set<number>();
  for (let pc = 0; pc < n; pc++) {
    const i = read(v, pc);
    if (isJump(i)) targets.add(pc + i.off + 1);
    if ((i.code & 0xf0) === CALL && (i.code & 7) === CLASS_JMP && i.src === 1) targets.add(pc + i.imm + 1);
    if (i.code === BPF_LD_IMM64) pc++;
  }
  for (const s of sites) {
    const ld = read(v, s.insn);
    if (ld.code !== BPF_LD_IMM64) throw new FoldError(`instruction ${s.insn} is not the ld_imm64 of ${s.name}`, s.insn);
    const reg = ld.dst;
    let offset = s.offset;
    const what = (p: string) => `${s.name} (instruction ${s.insn}): ${p}`;
    const rewrites: [number, number, number][] = []; // pc, opcode, imm
    let pc = s.insn + 2;
    // where another path joins: from there on the register may hold something else
    let joined: number | undefined;
    for (;;) {
      if (pc >= n) throw new FoldError(what("the pointer is live at the program's end"), pc);
      if (targets.has(pc)) joined ??= pc;
      const i = read(v, pc);
      const c = i.code & 7;
      const u = regUse(i);
      if (c === CLASS_LDX && (i.code & 0xe0) === MODE_MEM && i.src === reg) {
        if (joined !== undefined) throw new FoldError(what(`a branch lands at instruction ${joined}, before the read at instruction ${pc}`), pc);
        const [op, imm] = movFor(s.data, offset + i.off, SIZE_OF[i.code & 0x18]!, i.dst, pc, s.name);
        rewrites.push([pc, op, imm]);
        if (i.dst === reg) break;
      } else if (c === CLASS_ALU64 && (i.code & 0xf0) === OP_ADD && !(i.code & SRC_X) && i.dst === reg) {
        offset += i.imm; // the pointer moves by a constant; the register keeps a harmless scalar
      } else if (u.reads.includes(reg)) {
        const use = (i.code & 0xf0) === CALL && c === CLASS_JMP ? "passed to a call" : c === CLASS_STX || c === CLASS_ST ? "stored or written through" : isJump(i) ? "compared" : "used in arithmetic or copied";
        throw new FoldError(what(`the pointer is ${use} at instruction ${pc}, not only read at constant offsets`), pc);
      } else if (u.writes.includes(reg)) {
        break;
      } else if (isJump(i)) {
        if (liveAt(v, n, reg, pc + i.off + 1)) throw new FoldError(what(`the pointer is used after the branch at instruction ${pc}`), pc);
        if ((i.code & 0xf0) === JA) break;
      } else if ((i.code & 0xf0) === EXIT && c === CLASS_JMP) {
        break;
      }
      pc += i.code === BPF_LD_IMM64 ? 2 : 1;
    }
    for (const [at, op, imm] of rewrites) {
      const dst = read(v, at).dst;
      v.setUint8(at * INSN, op);
      v.setUint8(at * INSN + 1, dst);
      v.setInt16(at * INSN + 2, 0, true);
      v.setInt32(at * INSN + 4, imm, true);
    }
    // the ld_imm64 loads 0 now: no map reference left for the kernel to refuse
    v.setUint8(s.insn * INSN + 1, reg);
    v.setInt32(s.insn * INSN + 4, 0, true);
    v.setInt32(s.insn * INSN + 12, 0, true);
  }
}

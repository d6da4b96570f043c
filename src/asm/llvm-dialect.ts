// The llvm dialect: one instruction as `llvm-objdump -d` prints it. LLVM 14's spelling (Debian 12),
// including `<unknown>` (null here) for what LLVM 14 cannot decode; with `modern`, the spelling of
// current LLVM for ISA v4 and the other instructions LLVM 14 lacks. Which opcode bytes each of the
// two knows comes from the opcode table (table.ts).
//
// The LLVM 14 validity rules below were learned by feeding every opcode with varied field values
// to llvm-objdump 14 and are checked against it by test/asm (fixtures and a live random test).
//
// Hot path: instructions are read straight from the bytes (no Instruction objects) and the text is
// built from precomputed tables; size and jump go to a result object the caller owns.

import { BPF_ALU, BPF_ALU64, BPF_DIV, BPF_DW, BPF_JMP32, BPF_MOD, BPF_MOV } from "./opcodes.ts";
import {
  ALU_TEXT,
  ATOMIC_IMM,
  ATOMIC_NAME,
  ATOMIC_TEXT,
  CALL_SRC,
  formsByCode,
  JMP_TEXT,
  MAX_REG,
  MNEMONIC as M,
  OFF_ADDR_SPACE_CAST,
  OFF_SIGNED,
  SIZE_NAMES as SZ,
  SSIZE_NAMES as SSZ,
  type Form,
} from "./table.ts";

/** What one formatted instruction covers; the caller passes one and reads it after each call. */
export interface InsnResult {
  /** Size in bytes (8, 16, or 1 for a lone byte llvm cannot use). */
  size: number;
  /** Jump displacement in instructions when the instruction is a branch llvm annotates, else NaN. */
  jump: number;
}

export const newInsnResult = (): InsnResult => ({ size: 8, jump: Number.NaN });

export const HEX2: readonly string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));
const R: readonly string[] = Array.from({ length: 16 }, (_, i) => `r${i}`);
const W: readonly string[] = Array.from({ length: 16 }, (_, i) => `w${i}`);

/** The formatter for each form (numbers, so the switch below stays a jump table). */
const enum K {
  Unknown,
  AluK,
  AluX,
  Neg,
  End,
  Bswap,
  Ja,
  JcondK,
  JcondX,
  Call,
  Callx,
  Exit,
  Gotol,
  MayGoto,
  LdImm64,
  LdAbs,
  LdInd,
  Ldx,
  Ldsx,
  Stx,
  St,
  Atomic,
}

const KIND_OF_FORM: Record<Form, K> = {
  "alu-k": K.AluK, "alu-x": K.AluX, neg: K.Neg, end: K.End, bswap: K.Bswap,
  ja: K.Ja, gotol: K.Gotol, may_goto: K.MayGoto, "jcond-k": K.JcondK, "jcond-x": K.JcondX,
  call: K.Call, callx: K.Callx, exit: K.Exit,
  ld_imm64: K.LdImm64, ld_abs: K.LdAbs, ld_ind: K.LdInd, ldx: K.Ldx, ldsx: K.Ldsx, st: K.St, stx: K.Stx, atomic: K.Atomic,
};

function kinds(modern: boolean): Uint8Array {
  const t = new Uint8Array(256);
  formsByCode(modern).forEach((f, code) => (t[code] = f === undefined ? K.Unknown : KIND_OF_FORM[f]));
  return t;
}
const KIND14 = kinds(false);
const KINDV4 = kinds(true);

// Field values named once, as the switch compares them (op >> 4, class bits).
const OP_DIV = BPF_DIV >> 4;
const OP_MOD = BPF_MOD >> 4;
const OP_MOV = BPF_MOV >> 4;
const CLS_ALU = BPF_ALU;
const CLS_ALU64 = BPF_ALU64;
const CLS_JMP32 = BPF_JMP32;
const SZ_DW = BPF_DW >> 3;

const memOff = (off: number): string => (off < 0 ? ` - ${-off}` : ` + ${off}`);
const jmpOff = (off: number): string => (off < 0 ? `${off}` : `+${off}`);

/**
 * Format the instruction at `p` in llvm syntax; `avail` bytes are readable from `p`.
 * Returns null when llvm prints `<unknown>` (res.size tells how many bytes that covers).
 */
export function llvmInsn(b: Uint8Array, p: number, avail: number, modern: boolean, alu32: boolean, res: InsnResult): string | null {
  res.jump = Number.NaN;
  if (avail < 8) {
    res.size = 1;
    return null;
  }
  res.size = 8;
  const code = b[p]!;
  const regs = b[p + 1]!;
  const dst = regs & 15;
  const src = regs >> 4;
  const kind = (modern ? KINDV4 : KIND14)[code]!;
  switch (kind) {
    case K.AluK: {
      if (dst > MAX_REG) return null;
      const imm = b[p + 4]! | (b[p + 5]! << 8) | (b[p + 6]! << 16) | (b[p + 7]! << 24);
      const rn = (code & 7) === CLS_ALU ? W : R;
      const op = code >> 4;
      if (modern && (op === OP_DIV || op === OP_MOD)) {
        const off = b[p + 2]! | (b[p + 3]! << 8);
        if (off === OFF_SIGNED) return `${rn[dst]} s${ALU_TEXT[op]} ${imm}`;
      }
      return `${rn[dst]} ${ALU_TEXT[op]} ${imm}`;
    }
    case K.AluX: {
      if (dst > MAX_REG || src > MAX_REG) return null;
      const rn = (code & 7) === CLS_ALU ? W : R;
      const op = code >> 4;
      if (modern) {
        const off = b[p + 2]! | (b[p + 3]! << 8);
        if (off !== 0) {
          if ((op === OP_DIV || op === OP_MOD) && off === OFF_SIGNED) return `${rn[dst]} s${ALU_TEXT[op]} ${rn[src]}`;
          if (op === OP_MOV) {
            if (off === 8 || off === 16 || off === 32) return `${rn[dst]} = (s${off})${rn[src]}`;
            if (off === OFF_ADDR_SPACE_CAST && (code & 7) === CLS_ALU64) {
              const imm = (b[p + 4]! | (b[p + 5]! << 8) | (b[p + 6]! << 16) | (b[p + 7]! << 24)) >>> 0;
              return `${R[dst]} = ${M.ADDR_SPACE_CAST}(${R[src]}, ${imm >>> 16}, ${imm & 0xffff})`;
            }
          }
        }
      }
      return `${rn[dst]} ${ALU_TEXT[op]} ${rn[src]}`;
    }
    case K.Neg: {
      if (dst > MAX_REG) return null;
      const rn = (code & 7) === CLS_ALU ? W : R;
      return `${rn[dst]} = -${rn[dst]}`;
    }
    case K.End:
    case K.Bswap: {
      if (dst > MAX_REG) return null;
      const imm = b[p + 4]! | (b[p + 5]! << 8) | (b[p + 6]! << 16) | (b[p + 7]! << 24);
      if (imm !== 16 && imm !== 32 && imm !== 64) return null;
      const name = kind === K.Bswap ? M.BSWAP : code & 8 ? M.BE : M.LE;
      return `${R[dst]} = ${name}${imm} ${R[dst]}`;
    }
    case K.Ja: {
      const off = ((b[p + 2]! | (b[p + 3]! << 8)) << 16) >> 16;
      res.jump = off;
      return `${M.JA} ${jmpOff(off)}`;
    }
    case K.Gotol: {
      const imm = b[p + 4]! | (b[p + 5]! << 8) | (b[p + 6]! << 16) | (b[p + 7]! << 24);
      res.jump = imm;
      return `${M.GOTOL} ${jmpOff(imm)}`;
    }
    case K.MayGoto: {
      if (src !== 0) return null;
      const off = ((b[p + 2]! | (b[p + 3]! << 8)) << 16) >> 16;
      res.jump = off;
      return `${M.MAY_GOTO} ${jmpOff(off)}`;
    }
    case K.JcondK: {
      if (dst > MAX_REG) return null;
      const off = ((b[p + 2]! | (b[p + 3]! << 8)) << 16) >> 16;
      const imm = b[p + 4]! | (b[p + 5]! << 8) | (b[p + 6]! << 16) | (b[p + 7]! << 24);
      res.jump = off;
      return `if ${((code & 7) === CLS_JMP32 ? W : R)[dst]} ${JMP_TEXT[code >> 4]} ${imm} goto ${jmpOff(off)}`;
    }
    case K.JcondX: {
      if (dst > MAX_REG || src > MAX_REG) return null;
      const off = ((b[p + 2]! | (b[p + 3]! << 8)) << 16) >> 16;
      res.jump = off;
      const rn = (code & 7) === CLS_JMP32 ? W : R;
      return `if ${rn[dst]} ${JMP_TEXT[code >> 4]} ${rn[src]} goto ${jmpOff(off)}`;
    }
    case K.Call: {
      const imm = b[p + 4]! | (b[p + 5]! << 8) | (b[p + 6]! << 16) | (b[p + 7]! << 24);
      if (modern && src !== 0) {
        if (src === CALL_SRC.PC) return `${M.CALL} pc${jmpOff(imm)}`;
        if (src === CALL_SRC.KFUNC) return `${M.CALL} kfunc ${imm}`;
      }
      return `${M.CALL} ${imm}`;
    }
    case K.Callx: {
      const imm = b[p + 4]! | (b[p + 5]! << 8) | (b[p + 6]! << 16) | (b[p + 7]! << 24);
      if (imm < 0 || imm > MAX_REG) return null;
      return `${M.CALLX} ${R[imm]}`;
    }
    case K.Exit: {
      if ((b[p + 4]! | b[p + 5]! | b[p + 6]! | b[p + 7]!) !== 0) return null;
      return M.EXIT;
    }
    case K.LdImm64: {
      if (avail < 16) {
        res.size = 1;
        return null;
      }
      if (dst > MAX_REG || (b[p + 2]! | b[p + 3]!) !== 0) return null;
      res.size = 16;
      const lo = (b[p + 4]! | (b[p + 5]! << 8) | (b[p + 6]! << 16) | (b[p + 7]! << 24)) >>> 0;
      const hi = b[p + 12]! | (b[p + 13]! << 8) | (b[p + 14]! << 16) | (b[p + 15]! << 24);
      if (src !== 0) {
        if (modern && hi !== 0) return `${M.LD_PSEUDO}\t${R[dst]}, ${src}, ${imm64Text(hi >>> 0, lo, false)}`;
        return `${M.LD_PSEUDO}\t${R[dst]}, ${src}, ${lo}`;
      }
      return `${R[dst]} = ${imm64Text(hi, lo, true)} ll`;
    }
    case K.LdAbs: {
      const imm = b[p + 4]! | (b[p + 5]! << 8) | (b[p + 6]! << 16) | (b[p + 7]! << 24);
      return `r0 = *(${SZ[(code >> 3) & 3]} *)skb[${imm}]`;
    }
    case K.LdInd: {
      if (src > MAX_REG) return null;
      if (modern) {
        const imm = b[p + 4]! | (b[p + 5]! << 8) | (b[p + 6]! << 16) | (b[p + 7]! << 24);
        if (imm !== 0) return `r0 = *(${SZ[(code >> 3) & 3]} *)skb[${R[src]}${memOff(imm)}]`;
      }
      return `r0 = *(${SZ[(code >> 3) & 3]} *)skb[${R[src]}]`;
    }
    case K.Ldx:
    case K.Ldsx: {
      if (dst > MAX_REG || src > MAX_REG) return null;
      const off = ((b[p + 2]! | (b[p + 3]! << 8)) << 16) >> 16;
      const sz = (code >> 3) & 3;
      const rn = alu32 && sz !== SZ_DW && kind === K.Ldx ? W : R;
      return `${rn[dst]} = *(${(kind === K.Ldsx ? SSZ : SZ)[sz]} *)(${R[src]}${memOff(off)})`;
    }
    case K.Stx: {
      if (dst > MAX_REG || src > MAX_REG) return null;
      const off = ((b[p + 2]! | (b[p + 3]! << 8)) << 16) >> 16;
      const sz = (code >> 3) & 3;
      return `*(${SZ[sz]} *)(${R[dst]}${memOff(off)}) = ${(alu32 && sz !== SZ_DW ? W : R)[src]}`;
    }
    case K.St: {
      if (dst > MAX_REG) return null;
      const off = ((b[p + 2]! | (b[p + 3]! << 8)) << 16) >> 16;
      const imm = b[p + 4]! | (b[p + 5]! << 8) | (b[p + 6]! << 16) | (b[p + 7]! << 24);
      return `*(${SZ[(code >> 3) & 3]} *)(${R[dst]}${memOff(off)}) = ${imm}`;
    }
    case K.Atomic:
      return atomicText(b, p, code, dst, src, modern, alu32);
    default:
      return null;
  }
}

function atomicText(b: Uint8Array, p: number, code: number, dst: number, src: number, modern: boolean, alu32: boolean): string | null {
  if (dst > MAX_REG || src > MAX_REG) return null;
  const off = ((b[p + 2]! | (b[p + 3]! << 8)) << 16) >> 16;
  const imm = b[p + 4]! | (b[p + 5]! << 8) | (b[p + 6]! << 16) | (b[p + 7]! << 24);
  const sz = (code >> 3) & 3;
  const dw = sz === SZ_DW;
  const addr = `${R[dst]}${memOff(off)}`;
  if (modern && (imm === ATOMIC_IMM.LOAD_ACQ || imm === ATOMIC_IMM.STORE_REL)) {
    const rn = dw ? R : W;
    if (imm === ATOMIC_IMM.LOAD_ACQ) return `${rn[dst]} = ${M.LOAD_ACQ}((${SZ[sz]} *)(${R[src]}${memOff(off)}))`;
    return `${M.STORE_REL}((${SZ[sz]} *)(${addr}), ${rn[src]})`;
  }
  if (!dw && sz !== 0) return null; // 8/16-bit atomics exist only as load-acquire/store-release
  const op = imm & 0xf0;
  const low = imm & 0xff;
  // 32-bit atomics: LLVM 14 without +alu32 knows only `lock ... += r`, whatever the low nibble says.
  const full = dw || alu32 || modern;
  if (!full) return op === 0 ? `${M.LOCK} *(u32 *)(${addr}) += ${R[src]}` : null;
  const rn = dw ? R : W;
  const ty = dw ? "u64" : "u32";
  const name = ATOMIC_NAME[op];
  if (name !== undefined) {
    if (low === (op | ATOMIC_IMM.FETCH)) return `${rn[src]} = ${M.FETCH}${name}((${ty} *)(${addr}), ${rn[src]})`;
    if (modern && (low & 0x0f) !== 0) return null; // not canonical: let the raw bytes speak
    // LLVM prints plain `lock ... += r` for the 32-bit add even with alu32 when not modern.
    return `${M.LOCK} *(${ty} *)(${addr}) ${ATOMIC_TEXT[op]} ${dw || (!alu32 && op === 0) ? R[src] : rn[src]}`;
  }
  if (low === ATOMIC_IMM.XCHG) return dw ? `${R[src]} = ${M.XCHG64}(${addr}, ${R[src]})` : `${W[src]} = ${M.XCHG32}(${addr}, ${W[src]})`;
  if (low === ATOMIC_IMM.CMPXCHG) return dw ? `r0 = ${M.CMPXCHG64}(${addr}, r0, ${R[src]})` : `w0 = ${M.CMPXCHG32}(${addr}, w0, ${W[src]})`;
  return null;
}

/** Decimal text of a 64-bit value given as two 32-bit halves (signed when `signed`). */
function imm64Text(hi: number, lo: number, signed: boolean): string {
  if (signed) {
    // Fast path: values that fit a double exactly.
    if (hi === 0) return `${lo}`;
    if (hi === -1 && lo >= 0x80000000) return `${lo - 0x100000000}`;
    if (hi >= -0x200000 && hi < 0x200000) return `${hi * 0x100000000 + lo}`;
    return BigInt.asIntN(64, (BigInt(hi) << 32n) | BigInt(lo)).toString();
  }
  const uh = hi >>> 0;
  if (uh < 0x200000) return `${uh * 0x100000000 + lo}`;
  return ((BigInt(uh) << 32n) | BigInt(lo)).toString();
}

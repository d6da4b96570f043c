// The one opcode table: every instruction the toolchain spells, as (form, opcode byte, the field
// values that pick a variant), with the dialects that print it so that it reads back. The
// disassembler builds its byte → form lookups from it; the assembler takes its opcodes, operator
// texts, size names and atomic operations from the same names; test/asm/table.test.ts walks every
// entry through both (disassemble, assemble, compare the bytes).

import {
  ALU_OP_TEXT,
  ATOMIC_OPS,
  BPF_ABS,
  BPF_ADD,
  BPF_ALU,
  BPF_ALU64,
  BPF_AND,
  BPF_ARSH,
  BPF_ATOMIC,
  BPF_B,
  BPF_CALL,
  BPF_CMPXCHG,
  BPF_DIV,
  BPF_DW,
  BPF_END,
  BPF_EXIT,
  BPF_FETCH,
  BPF_H,
  BPF_IND,
  BPF_JA,
  BPF_JCOND,
  BPF_JEQ,
  BPF_JGE,
  BPF_JGT,
  BPF_JLE,
  BPF_JLT,
  BPF_JMP,
  BPF_JMP32,
  BPF_JNE,
  BPF_JSET,
  BPF_JSGE,
  BPF_JSGT,
  BPF_JSLE,
  BPF_JSLT,
  BPF_K,
  BPF_LD,
  BPF_LDX,
  BPF_LOAD_ACQ,
  BPF_LSH,
  BPF_MEM,
  BPF_MEMSX,
  BPF_MOD,
  BPF_MOV,
  BPF_MUL,
  BPF_NEG,
  BPF_OR,
  BPF_RSH,
  BPF_ST,
  BPF_STORE_REL,
  BPF_STX,
  BPF_SUB,
  BPF_TO_BE,
  BPF_TO_LE,
  BPF_W,
  BPF_X,
  BPF_XCHG,
  BPF_XOR,
  JMP_OP_TEXT,
  R_BPF_64_32,
  R_BPF_64_64,
  R_BPF_64_ABS64,
  SIZE_STYPE,
  SIZE_TYPE,
} from "./opcodes.ts";
import { LD_IMM64 } from "./insn.ts";

/** How an instruction is spelled; each dialect has one formatter per form. */
export type Form =
  | "alu-k" | "alu-x" | "neg" | "end" | "bswap"
  | "ja" | "gotol" | "may_goto" | "jcond-k" | "jcond-x" | "call" | "callx" | "exit"
  | "ld_imm64" | "ld_abs" | "ld_ind" | "ldx" | "ldsx" | "st" | "stx" | "atomic";

export interface OpEntry {
  form: Form;
  /** The opcode byte. */
  code: number;
  /** Field values that select this variant when the opcode byte alone does not. */
  src?: number;
  off?: number;
  imm?: number;
  /**
   * llvm-objdump 14's spelling (without or with --mattr=+alu32) reads back to the same bytes. The
   * disassembler's LLVM 14 mode decodes an opcode byte when any of its variants says so.
   */
  llvm14: boolean;
  /** The verifier log's spelling reads back to the same bytes. */
  kernel: boolean;
  /** Short description (test names, listings). */
  name: string;
}

// ---------------------------------------------------------------------------------------------
// Fixed opcodes and field values: the assembler emits these, the disassembler recognises them.

export const CODE = {
  JA: BPF_JMP | BPF_JA | BPF_K, // 0x05
  GOTOL: BPF_JMP32 | BPF_JA | BPF_K, // 0x06
  MAY_GOTO: BPF_JMP | BPF_JCOND | BPF_K, // 0xe5
  CALL: BPF_JMP | BPF_CALL | BPF_K, // 0x85
  CALLX: BPF_JMP | BPF_CALL | BPF_X, // 0x8d
  EXIT: BPF_JMP | BPF_EXIT | BPF_K, // 0x95
  LD_IMM64, // 0x18, defined with the codec (insn.ts)
  LE: BPF_ALU | BPF_END | BPF_TO_LE, // 0xd4
  BE: BPF_ALU | BPF_END | BPF_TO_BE, // 0xdc
  BSWAP: BPF_ALU64 | BPF_END | BPF_TO_LE, // 0xd7
  MOV64_X: BPF_ALU64 | BPF_MOV | BPF_X, // 0xbf
} as const;

/** The `off` of a signed division/modulo (sdiv, smod). */
export const OFF_SIGNED = 1;
/** The `off` of ALU64 MOV X meaning addr_space_cast. */
export const OFF_ADDR_SPACE_CAST = 1;
/** The `off` values of a sign-extending move (movsx): the source width in bits. */
export const MOVSX_BITS = [8, 16, 32] as const;
/** Byte-swap widths (imm of le/be/bswap). */
export const SWAP_BITS = [16, 32, 64] as const;
/** The highest register number the llvm syntax names (r0-r10, and r11, which llvm-objdump prints too). */
export const MAX_REG = 11;

/** Atomic imm values besides the read-modify-write ops of ATOMIC_OPS. */
export const ATOMIC_IMM = {
  FETCH: BPF_FETCH,
  XCHG: BPF_XCHG, // 0xe1
  CMPXCHG: BPF_CMPXCHG, // 0xf1
  LOAD_ACQ: BPF_LOAD_ACQ, // 0x100
  STORE_REL: BPF_STORE_REL, // 0x110
} as const;

/** Instruction words of the llvm syntax, read by the assembler and written by the llvm dialect. */
export const MNEMONIC = {
  JA: "goto",
  GOTOL: "gotol",
  MAY_GOTO: "may_goto",
  CALL: "call",
  CALLX: "callx",
  EXIT: "exit",
  LOCK: "lock",
  LD_PSEUDO: "ld_pseudo",
  LE: "le",
  BE: "be",
  BSWAP: "bswap",
  FETCH: "atomic_fetch_",
  XCHG64: "xchg_64",
  XCHG32: "xchg32_32",
  CMPXCHG64: "cmpxchg_64",
  CMPXCHG32: "cmpxchg32_32",
  LOAD_ACQ: "load_acquire",
  STORE_REL: "store_release",
  ADDR_SPACE_CAST: "addr_space_cast",
} as const;

/** Call src values: helper (0), BPF-to-BPF call (1), kfunc (2). */
export const CALL_SRC = { HELPER: 0, PC: 1, KFUNC: 2 } as const;

// ---------------------------------------------------------------------------------------------
// Spellings shared by both directions, indexed like the opcode fields they name.

/** ALU operator text by op >> 4 ("" where the op has no operator: neg, end). */
export const ALU_TEXT: readonly string[] = ALU_OP_TEXT.map((t) => t ?? "");
/** Comparison text by op >> 4 ("" for ja, call, exit, jcond). */
export const JMP_TEXT: readonly string[] = JMP_OP_TEXT.map((t) => t ?? "");
/** Access type by size >> 3: u32, u16, u8, u64. */
export const SIZE_NAMES: readonly string[] = SIZE_TYPE;
/** Sign-extending access type by size >> 3 (DW has none). */
export const SSIZE_NAMES: readonly string[] = SIZE_STYPE;
/** Atomic read-modify-write names and operators by op (imm & 0xf0). */
export const ATOMIC_NAME: Readonly<Record<number, string>> = Object.fromEntries(Object.entries(ATOMIC_OPS).map(([k, v]) => [k, v.name]));
export const ATOMIC_TEXT: Readonly<Record<number, string>> = Object.fromEntries(Object.entries(ATOMIC_OPS).map(([k, v]) => [k, v.text]));

/**
 * A name → value lookup without a prototype: the assembler looks source words up in these, and a
 * word like `constructor` must find nothing (not Object.prototype.constructor).
 */
function lookup(entries: Iterable<readonly [string, number]>): Readonly<Record<string, number>> {
  const m: Record<string, number> = Object.create(null);
  for (const [k, v] of entries) m[k] = v;
  return m;
}
/** Names indexed by field value / step, reversed ("" and skipped indices left out). */
const reverse = (names: readonly string[], step: number, skip: (i: number) => boolean = () => false) =>
  names.flatMap((n, i) => (n !== "" && !skip(i) ? [[n, i * step] as const] : []));
const ATOMIC_ENTRIES = Object.entries(ATOMIC_OPS).map(([k, v]) => [Number(k), v] as const);

/** Operator text → ALU op; `s/=` and `s%=` are div/mod with off = OFF_SIGNED. */
export const ALU_BY_TEXT = lookup([...reverse(ALU_TEXT, 0x10), [`s${ALU_TEXT[BPF_DIV >> 4]}`, BPF_DIV], [`s${ALU_TEXT[BPF_MOD >> 4]}`, BPF_MOD]]);
export const JMP_BY_TEXT = lookup(reverse(JMP_TEXT, 0x10));
export const SIZE_BY_NAME = lookup(reverse(SIZE_NAMES, 0x08));
export const SSIZE_BY_NAME = lookup(reverse(SSIZE_NAMES, 0x08, (i) => i << 3 === BPF_DW));
export const ATOMIC_BY_TEXT = lookup(ATOMIC_ENTRIES.map(([op, v]) => [v.text, op] as const));
export const ATOMIC_BY_NAME = lookup(ATOMIC_ENTRIES.map(([op, v]) => [v.name, op] as const));

// ---------------------------------------------------------------------------------------------
// The table

const ALU_CLASSES = [BPF_ALU, BPF_ALU64];
const JMP_CLASSES = [BPF_JMP, BPF_JMP32];
const SIZES = [BPF_W, BPF_H, BPF_B, BPF_DW];
/** Binary ALU ops; mod is ISA v4 as far as llvm-objdump 14 is concerned. */
const BINARY_OPS = [BPF_ADD, BPF_SUB, BPF_MUL, BPF_DIV, BPF_OR, BPF_AND, BPF_LSH, BPF_RSH, BPF_MOD, BPF_XOR, BPF_MOV, BPF_ARSH];
/** Conditional jumps; jset is unknown to llvm-objdump 14. */
const COND_OPS = [BPF_JEQ, BPF_JGT, BPF_JGE, BPF_JSET, BPF_JNE, BPF_JSGT, BPF_JSGE, BPF_JLT, BPF_JLE, BPF_JSLT, BPF_JSLE];
const hex2 = (n: number) => n.toString(16).padStart(2, "0");

function buildTable(): OpEntry[] {
  const t: OpEntry[] = [];
  const add = (e: Omit<OpEntry, "kernel"> & { kernel?: boolean }) => t.push({ kernel: true, ...e });
  for (const cls of ALU_CLASSES) {
    const w = cls === BPF_ALU ? "32" : "64";
    for (const op of BINARY_OPS) {
      const llvm14 = op !== BPF_MOD;
      const text = ALU_TEXT[op >> 4];
      add({ form: "alu-k", code: cls | op | BPF_K, llvm14, name: `alu${w} ${text} imm` });
      add({ form: "alu-x", code: cls | op | BPF_X, llvm14, name: `alu${w} ${text} reg` });
      if (op === BPF_DIV || op === BPF_MOD) {
        add({ form: "alu-k", code: cls | op | BPF_K, off: OFF_SIGNED, llvm14: false, name: `alu${w} s${text} imm` });
        add({ form: "alu-x", code: cls | op | BPF_X, off: OFF_SIGNED, llvm14: false, name: `alu${w} s${text} reg` });
      }
      if (op === BPF_MOV) {
        for (const bits of MOVSX_BITS) add({ form: "alu-x", code: cls | op | BPF_X, off: bits, llvm14: false, name: `alu${w} movsx s${bits}` });
        if (cls === BPF_ALU64) add({ form: "alu-x", code: cls | op | BPF_X, off: OFF_ADDR_SPACE_CAST, llvm14: false, name: "addr_space_cast" });
      }
    }
    add({ form: "neg", code: cls | BPF_NEG | BPF_K, llvm14: true, name: `alu${w} neg` });
  }
  for (const bits of SWAP_BITS) {
    add({ form: "end", code: CODE.LE, imm: bits, llvm14: true, name: `le${bits}` });
    add({ form: "end", code: CODE.BE, imm: bits, llvm14: true, name: `be${bits}` });
    add({ form: "bswap", code: CODE.BSWAP, imm: bits, llvm14: false, name: `bswap${bits}` });
  }
  add({ form: "ja", code: CODE.JA, llvm14: true, name: "goto" });
  add({ form: "gotol", code: CODE.GOTOL, llvm14: false, name: "gotol" });
  add({ form: "may_goto", code: CODE.MAY_GOTO, llvm14: false, name: "may_goto" });
  for (const cls of JMP_CLASSES) {
    const w = cls === BPF_JMP ? "64" : "32";
    for (const op of COND_OPS) {
      const llvm14 = op !== BPF_JSET;
      add({ form: "jcond-k", code: cls | op | BPF_K, llvm14, name: `jmp${w} ${JMP_TEXT[op >> 4]} imm` });
      add({ form: "jcond-x", code: cls | op | BPF_X, llvm14, name: `jmp${w} ${JMP_TEXT[op >> 4]} reg` });
    }
  }
  add({ form: "call", code: CODE.CALL, src: CALL_SRC.HELPER, llvm14: true, name: "call helper" });
  add({ form: "call", code: CODE.CALL, src: CALL_SRC.PC, llvm14: false, name: "call pc" });
  add({ form: "call", code: CODE.CALL, src: CALL_SRC.KFUNC, llvm14: false, name: "call kfunc" });
  // The verifier log prints callx as a helper call (its disassembler looks at the op, not the X bit).
  add({ form: "callx", code: CODE.CALLX, llvm14: true, kernel: false, name: "callx" });
  add({ form: "exit", code: CODE.EXIT, llvm14: true, name: "exit" });
  // The verifier prints every ld_imm64 as `rD = 0xVALUE`, whatever its src: only src 0 reads back.
  for (let src = 0; src <= 6; src++) {
    add({ form: "ld_imm64", code: CODE.LD_IMM64, src, llvm14: true, kernel: src === 0, name: src === 0 ? "ld_imm64" : `ld_pseudo src ${src}` });
  }
  for (const size of SIZES) {
    const ty = SIZE_NAMES[size >> 3];
    if (size !== BPF_DW) {
      add({ form: "ld_abs", code: BPF_LD | BPF_ABS | size, llvm14: true, name: `ld_abs ${ty}` });
      add({ form: "ld_ind", code: BPF_LD | BPF_IND | size, imm: 0, llvm14: true, name: `ld_ind ${ty}` });
      add({ form: "ld_ind", code: BPF_LD | BPF_IND | size, llvm14: false, name: `ld_ind ${ty} + imm` });
      add({ form: "ldsx", code: BPF_LDX | BPF_MEMSX | size, llvm14: false, name: `ldsx ${SSIZE_NAMES[size >> 3]}` });
    }
    add({ form: "ldx", code: BPF_LDX | BPF_MEM | size, llvm14: true, name: `ldx ${ty}` });
    add({ form: "st", code: BPF_ST | BPF_MEM | size, llvm14: false, name: `st ${ty}` });
    add({ form: "stx", code: BPF_STX | BPF_MEM | size, llvm14: true, name: `stx ${ty}` });
    const atomic = BPF_STX | BPF_ATOMIC | size;
    if (size === BPF_W || size === BPF_DW) {
      for (const [op, { name }] of Object.entries(ATOMIC_OPS)) {
        add({ form: "atomic", code: atomic, imm: Number(op), llvm14: true, name: `atomic ${ty} ${name}` });
        add({ form: "atomic", code: atomic, imm: Number(op) | ATOMIC_IMM.FETCH, llvm14: true, name: `atomic ${ty} fetch_${name}` });
      }
      add({ form: "atomic", code: atomic, imm: ATOMIC_IMM.XCHG, llvm14: true, name: `atomic ${ty} xchg` });
      add({ form: "atomic", code: atomic, imm: ATOMIC_IMM.CMPXCHG, llvm14: true, name: `atomic ${ty} cmpxchg` });
    }
    add({ form: "atomic", code: atomic, imm: ATOMIC_IMM.LOAD_ACQ, llvm14: false, name: `load_acquire ${ty}` });
    add({ form: "atomic", code: atomic, imm: ATOMIC_IMM.STORE_REL, llvm14: false, name: `store_release ${ty}` });
  }
  for (const e of t) e.name = `${e.name} (${hex2(e.code)})`;
  return t;
}

/** Every instruction variant, in ISA order. */
export const OPCODE_TABLE: readonly OpEntry[] = buildTable();

/**
 * Opcode byte → form, for the disassembler: `modern` includes every entry, otherwise only those
 * llvm-objdump 14 decodes (an opcode counts when any of its variants does).
 */
export function formsByCode(modern: boolean): (Form | undefined)[] {
  const out: (Form | undefined)[] = new Array(256).fill(undefined);
  for (const e of OPCODE_TABLE) if (modern || e.llvm14) out[e.code] = e.form;
  return out;
}

/**
 * The relocation an instruction takes when a listing does not name the type: ld_imm64 of a symbol
 * R_BPF_64_64, a call R_BPF_64_32, anything else (data) R_BPF_64_ABS64.
 */
export function relocTypeFor(code: number | undefined): number {
  if (code === CODE.LD_IMM64) return R_BPF_64_64;
  if (code === CODE.CALL) return R_BPF_64_32;
  return R_BPF_64_ABS64;
}

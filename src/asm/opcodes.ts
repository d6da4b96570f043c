// eBPF opcode constants and tables, spelled as in include/uapi/linux/bpf.h and bpf_common.h.
// Pure data plus tiny accessors; no imports.
//
// An opcode byte is laid out as:
//   ALU/ALU64/JMP/JMP32:  op (bits 7-4) | source (bit 3) | class (bits 2-0)
//   LD/LDX/ST/STX:        mode (bits 7-5) | size (bits 4-3) | class (bits 2-0)

/* Instruction classes (code & 0x07). */
export const BPF_LD = 0x00;
export const BPF_LDX = 0x01;
export const BPF_ST = 0x02;
export const BPF_STX = 0x03;
export const BPF_ALU = 0x04;
export const BPF_JMP = 0x05;
export const BPF_JMP32 = 0x06;
export const BPF_ALU64 = 0x07;

/* Load/store sizes (code & 0x18). */
export const BPF_W = 0x00;
export const BPF_H = 0x08;
export const BPF_B = 0x10;
export const BPF_DW = 0x18;

/* Load/store modes (code & 0xe0). */
export const BPF_IMM = 0x00;
export const BPF_ABS = 0x20;
export const BPF_IND = 0x40;
export const BPF_MEM = 0x60;
export const BPF_MEMSX = 0x80;
export const BPF_ATOMIC = 0xc0;

/* ALU operations (code & 0xf0). */
export const BPF_ADD = 0x00;
export const BPF_SUB = 0x10;
export const BPF_MUL = 0x20;
export const BPF_DIV = 0x30;
export const BPF_OR = 0x40;
export const BPF_AND = 0x50;
export const BPF_LSH = 0x60;
export const BPF_RSH = 0x70;
export const BPF_NEG = 0x80;
export const BPF_MOD = 0x90;
export const BPF_XOR = 0xa0;
export const BPF_MOV = 0xb0;
export const BPF_ARSH = 0xc0;
export const BPF_END = 0xd0;

/* Jump operations (code & 0xf0). */
export const BPF_JA = 0x00;
export const BPF_JEQ = 0x10;
export const BPF_JGT = 0x20;
export const BPF_JGE = 0x30;
export const BPF_JSET = 0x40;
export const BPF_JNE = 0x50;
export const BPF_JSGT = 0x60;
export const BPF_JSGE = 0x70;
export const BPF_CALL = 0x80;
export const BPF_EXIT = 0x90;
export const BPF_JLT = 0xa0;
export const BPF_JLE = 0xb0;
export const BPF_JSLT = 0xc0;
export const BPF_JSLE = 0xd0;
export const BPF_JCOND = 0xe0;

/* Source operand (code & 0x08). */
export const BPF_K = 0x00;
export const BPF_X = 0x08;
/* Byte-order conversion direction for BPF_END, shares the source bit. */
export const BPF_TO_LE = 0x00;
export const BPF_TO_BE = 0x08;

/* Atomic operations (imm of a BPF_STX | BPF_ATOMIC instruction). */
export const BPF_FETCH = 0x01;
export const BPF_XCHG = 0xe0 | BPF_FETCH;
export const BPF_CMPXCHG = 0xf0 | BPF_FETCH;
export const BPF_LOAD_ACQ = 0x100;
export const BPF_STORE_REL = 0x110;

/* src_reg values with a special meaning. */
export const BPF_PSEUDO_MAP_FD = 1;
export const BPF_PSEUDO_MAP_VALUE = 2;
export const BPF_PSEUDO_BTF_ID = 3;
export const BPF_PSEUDO_FUNC = 4;
export const BPF_PSEUDO_MAP_IDX = 5;
export const BPF_PSEUDO_MAP_IDX_VALUE = 6;
export const BPF_PSEUDO_CALL = 1;
export const BPF_PSEUDO_KFUNC_CALL = 2;
export const BPF_MAY_GOTO = 0;
/* off of ALU64 MOV X meaning addr_space_cast. */
export const BPF_ADDR_SPACE_CAST = 1;

/* Relocation types of EM_BPF objects: shared with the ELF reader, defined in uapi.ts. */
export { RELOC_NAMES, R_BPF_NONE, R_BPF_64_64, R_BPF_64_ABS64, R_BPF_64_ABS32, R_BPF_64_NODYLD32, R_BPF_64_32 } from "../uapi.ts";

/** Bit fields of the opcode byte, as {mask, shift} so they can be read and written from one table. */
export const OPCODE_FIELDS = {
  class: { mask: 0x07, shift: 0 },
  size: { mask: 0x18, shift: 3 },
  mode: { mask: 0xe0, shift: 5 },
  op: { mask: 0xf0, shift: 4 },
  source: { mask: 0x08, shift: 3 },
} as const;

export const bpfClass = (code: number): number => code & 0x07;
export const bpfSize = (code: number): number => code & 0x18;
export const bpfMode = (code: number): number => code & 0xe0;
export const bpfOp = (code: number): number => code & 0xf0;
export const bpfSrc = (code: number): number => code & 0x08;

/** UAPI names by value, for printing an opcode as `BPF_ALU64 | BPF_ADD | BPF_K`. */
export const CLASS_NAMES = ["BPF_LD", "BPF_LDX", "BPF_ST", "BPF_STX", "BPF_ALU", "BPF_JMP", "BPF_JMP32", "BPF_ALU64"] as const;
export const SIZE_NAMES = ["BPF_W", "BPF_H", "BPF_B", "BPF_DW"] as const;
export const MODE_NAMES = ["BPF_IMM", "BPF_ABS", "BPF_IND", "BPF_MEM", "BPF_MEMSX", "0xa0", "BPF_ATOMIC", "0xe0"] as const;
export const ALU_OP_NAMES = [
  "BPF_ADD", "BPF_SUB", "BPF_MUL", "BPF_DIV", "BPF_OR", "BPF_AND", "BPF_LSH", "BPF_RSH",
  "BPF_NEG", "BPF_MOD", "BPF_XOR", "BPF_MOV", "BPF_ARSH", "BPF_END", "0xe0", "0xf0",
] as const;
export const JMP_OP_NAMES = [
  "BPF_JA", "BPF_JEQ", "BPF_JGT", "BPF_JGE", "BPF_JSET", "BPF_JNE", "BPF_JSGT", "BPF_JSGE",
  "BPF_CALL", "BPF_EXIT", "BPF_JLT", "BPF_JLE", "BPF_JSLT", "BPF_JSLE", "BPF_JCOND", "0xf0",
] as const;

/** `BPF_ALU64 | BPF_ADD | BPF_X`-style name of an opcode byte. */
export function opcodeName(code: number): string {
  const cls = bpfClass(code);
  const parts: string[] = [CLASS_NAMES[cls]!];
  if (cls === BPF_ALU || cls === BPF_ALU64 || cls === BPF_JMP || cls === BPF_JMP32) {
    const isAlu = cls === BPF_ALU || cls === BPF_ALU64;
    parts.push((isAlu ? ALU_OP_NAMES : JMP_OP_NAMES)[code >> 4]!);
    if (isAlu && bpfOp(code) === BPF_END) parts.push(bpfSrc(code) ? "BPF_TO_BE" : "BPF_TO_LE");
    else parts.push(bpfSrc(code) ? "BPF_X" : "BPF_K");
  } else {
    parts.push(SIZE_NAMES[bpfSize(code) >> 3]!, MODE_NAMES[code >> 5]!);
  }
  return parts.join(" | ");
}

/** Operator text of each ALU operation in the LLVM/verifier pseudo-C syntax (index = op >> 4). */
export const ALU_OP_TEXT: readonly (string | undefined)[] = [
  "+=", "-=", "*=", "/=", "|=", "&=", "<<=", ">>=", undefined, "%=", "^=", "=", "s>>=", undefined, undefined, undefined,
];

/** Comparison text of each conditional jump (index = op >> 4); JA/CALL/EXIT/JCOND are not comparisons. */
export const JMP_OP_TEXT: readonly (string | undefined)[] = [
  undefined, "==", ">", ">=", "&", "!=", "s>", "s>=", undefined, undefined, "<", "<=", "s<", "s<=", undefined, undefined,
];

/** `u32`/`u16`/`u8`/`u64` by size >> 3. */
export const SIZE_TYPE = ["u32", "u16", "u8", "u64"] as const;
/** Sign-extending load types by size >> 3 (BPF_MEMSX; DW has none). */
export const SIZE_STYPE = ["s32", "s16", "s8", "s64"] as const;
/** Width in bytes by size >> 3. */
export const SIZE_BYTES = [4, 2, 1, 8] as const;

/** Atomic read-modify-write operations (imm & 0xf0) and their names. */
export const ATOMIC_OPS: Readonly<Record<number, { text: string; name: string }>> = {
  [BPF_ADD]: { text: "+=", name: "add" },
  [BPF_OR]: { text: "|=", name: "or" },
  [BPF_AND]: { text: "&=", name: "and" },
  [BPF_XOR]: { text: "^=", name: "xor" },
};

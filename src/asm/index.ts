// Public API of the pure eBPF instruction toolchain: codec, disassembler, assembler.
export {
  decode,
  encode,
  insn,
  insnClass,
  insnOp,
  insnSource,
  insnSize,
  insnMode,
  insnSlots,
  isLdImm64,
  DecodeError,
  LD_IMM64,
  INSN_SIZE,
  type Instruction,
} from "./insn.ts";
export {
  disassemble,
  disassembleObject,
  formatInstruction,
  llvmInsnSize,
  type DisasmOptions,
  type DisasmObject,
  type DisasmSection,
  type DisasmSymbol,
  type DisasmRelocation,
  type Syntax,
} from "./disasm.ts";
export { assemble, assembleObject, sectionBytes, AsmError, type AsmObject, type AsmSection, type AsmRelocation } from "./asm.ts";
export * as opcodes from "./opcodes.ts";

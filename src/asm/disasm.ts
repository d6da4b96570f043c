// eBPF disassembler with three spellings of each instruction:
//   - "llvm" (default): exactly what Debian 12's `llvm-objdump -d` (LLVM 14) prints, including
//     `<unknown>` for encodings LLVM 14 cannot decode, the zero-block skipping (`...`), jump target
//     annotations (`goto +2 <LBB0_2>`) and, for objects, section/symbol headings and `-r` relocations.
//   - "llvm" with `modern: true`: the same layout, but ISA v4 and other instructions that LLVM 14 does
//     not know get the spelling of current LLVM (`r1 = (s8)r2`, `r1 s/= r2`, `gotol +5`,
//     `r1 = bswap16 r1`, `*(u32 *)(r1 + 0) = 5`, `r1 %= r2`, `if r1 & r2 goto`, `may_goto`, ...).
//     This is lossless for every canonical instruction, and the assembler reads it back.
//   - "kernel": what the verifier log and `bpftool prog dump xlated` print (`0: (b7) r1 = 10`).
// This file holds the public API and its types; the work is in llvm-dialect.ts, kernel-dialect.ts
// (one instruction each) and layout.ts (sections, symbols, relocations around them).

import { kernelInsn } from "./kernel-dialect.ts";
import { kernelRange, llvmRange, Out, hex16, sortSymbols, type SourceCursor } from "./layout.ts";
import { llvmInsn, newInsnResult } from "./llvm-dialect.ts";

export type Syntax = "llvm" | "kernel";

export interface DisasmOptions {
  /** "llvm" (llvm-objdump 14 layout, default) or "kernel" (verifier log style). */
  syntax?: Syntax;
  /** llvm syntax only: spell instructions LLVM 14 cannot print the way current LLVM does. */
  modern?: boolean;
  /** llvm syntax only: like `llvm-objdump --mattr=+alu32` (w registers for 8/16/32-bit loads, stores, atomics). */
  alu32?: boolean;
  /** llvm syntax only: print the raw bytes column (default true, as llvm-objdump does). */
  rawBytes?: boolean;
  /** llvm syntax only: print the instruction index column (default true). */
  index?: boolean;
  /** llvm syntax only: decode blocks of zero bytes instead of printing `...` (llvm-objdump -z). */
  zeroes?: boolean;
  /** Print relocation lines as `llvm-objdump -dr` does when relocations are given (default true). */
  showRelocations?: boolean;
}

export interface DisasmSymbol {
  name: string;
  /** Byte offset inside the section. */
  offset: number;
}

export interface DisasmRelocation {
  /** Byte offset inside the section. */
  offset: number;
  /** Name of the symbol the relocation refers to (a section name for section symbols). */
  symbol: string;
  /** ELF relocation type (number or name); inferred from the instruction when absent. */
  type?: number | string;
}

/** A generic description of one executable section, as the ELF reader produces it. */
export interface DisasmSection {
  name: string;
  bytes: Uint8Array;
  /** Symbols to show as headings (functions, labels); not STT_SECTION symbols. */
  symbols?: readonly DisasmSymbol[];
  relocations?: readonly DisasmRelocation[];
  /** Source line of the instruction at a byte offset, for `llvm-objdump -S` interleaving. */
  source?: (offset: number) => DisasmSourceLine | undefined;
}

/** Where an instruction comes from: a line is printed only when file or line change, as llvm-objdump does. */
export interface DisasmSourceLine {
  file: string;
  /** 0: no line (compiler-generated code); prints nothing, but the next real line prints again. */
  line: number;
  /** The line's text; undefined when it is not known (the line is then skipped). */
  text?: string;
}

export interface DisasmObject {
  /** File name for the `FILE:\tfile format elf64-bpf` header (omitted when absent). */
  file?: string;
  sections: readonly DisasmSection[];
}

function resolve(opts: DisasmOptions) {
  return {
    syntax: opts.syntax ?? "llvm",
    modern: opts.modern ?? false,
    alu32: opts.alu32 ?? false,
    rawBytes: opts.rawBytes ?? true,
    index: opts.index ?? true,
    zeroes: opts.zeroes ?? false,
    showRelocations: opts.showRelocations ?? true,
  };
}

function sortedRelocs(section: DisasmSection, show: boolean): DisasmRelocation[] {
  if (!show || !section.relocations) return [];
  return [...section.relocations].sort((a, b) => a.offset - b.offset);
}

/**
 * The instruction lines of one section, as llvm-objdump prints them between the headings
 * (or as the verifier log prints them with `syntax: "kernel"`). Symbols only serve jump annotations
 * here; use disassembleObject for headings. Every line ends with "\n".
 */
export function disassemble(
  bytes: Uint8Array,
  opts: DisasmOptions & { section?: string; symbols?: readonly DisasmSymbol[]; relocations?: readonly DisasmRelocation[] } = {},
): string {
  const o = resolve(opts);
  if (o.syntax === "kernel") {
    const out: string[] = [];
    kernelRange(out, bytes, 0, bytes.length);
    return out.join("");
  }
  const section: DisasmSection = { name: opts.section ?? ".text", bytes, symbols: opts.symbols, relocations: opts.relocations };
  const out = new Out();
  llvmRange(out, bytes, 0, bytes.length, sortSymbols(section), sortedRelocs(section, o.showRelocations), { i: 0 }, o);
  return out.take();
}

/**
 * A whole object as `llvm-objdump -d` (or `-dr` when relocations are given) prints it: the file
 * header (when `obj.file` is set), then for each non-empty section `Disassembly of section NAME:`
 * and the symbols' blocks. With `syntax: "kernel"` the same headings frame verifier-style lines.
 */
export function disassembleObject(obj: DisasmObject, opts: DisasmOptions = {}): string {
  const o = resolve(opts);
  const out = new Out();
  const kout: string[] = [];
  if (obj.file !== undefined) out.str(`\n${obj.file}:\tfile format elf64-bpf\n`);
  const src: SourceCursor = { file: "", line: 0 };
  const anySource = obj.sections.some((s) => s.source);
  for (const section of obj.sections) {
    const b = section.bytes;
    if (b.length === 0) continue;
    out.str(`\nDisassembly of section ${section.name}:\n`);
    const syms = sortSymbols(section);
    const relocs = sortedRelocs(section, o.showRelocations);
    const rel = { i: 0 };
    src.lookup = section.source;
    for (let si = 0; si < syms.length; si++) {
      const start = syms[si]!.offset;
      const end = si + 1 < syms.length ? Math.min(b.length, syms[si + 1]!.offset) : b.length;
      if (start >= end) continue;
      out.str(`\n${hex16(start)} <${syms[si]!.name}>:\n`);
      if (o.syntax === "kernel") {
        kernelRange(kout, b, start, end);
        for (const part of kout) out.str(part);
        kout.length = 0;
      } else {
        llvmRange(out, b, start, end, syms, relocs, rel, o, anySource ? src : undefined);
      }
    }
  }
  return out.take();
}

/** Text of one instruction (no index, bytes or annotation); null where llvm prints `<unknown>`. */
export function formatInstruction(bytes: Uint8Array, opts: DisasmOptions = {}): string | null {
  const o = resolve(opts);
  if (o.syntax === "kernel") return kernelInsn(bytes, 0, bytes.length);
  return llvmInsn(bytes, 0, bytes.length, o.modern, o.alu32, newInsnResult());
}

/** Size in bytes llvm consumes for the instruction at `pos` (8, 16, or 1 for stray bytes). */
export function llvmInsnSize(bytes: Uint8Array, pos: number, opts: DisasmOptions = {}): number {
  const res = newInsnResult();
  llvmInsn(bytes, pos, bytes.length - pos, opts.modern ?? false, opts.alu32 ?? false, res);
  return res.size;
}

// The listing recogniser: lines of `llvm-objdump -d[r]` output and of the verifier log pasted into
// assembler source. It names what a line is (file header, section or symbol heading, relocation,
// skipped zero block) and splits the index / raw-bytes / `(op)` columns from the instruction text;
// with a raw-bytes column it checks that the text is what the disassembler prints for those bytes.

import { quote } from "../errors.ts";
import { formatInstruction } from "./disasm.ts";
import { stripComment, type Line } from "./lexer.ts";
import { RELOC_NAMES } from "./opcodes.ts";

const HEADER_RE = /^\S.*:\s+file format \S+\s*$/;
const SECTION_RE = /^Disassembly of section (.+):\s*$/;
const SYMBOL_RE = /^([0-9a-fA-F]{8,16}) <(.+)>:\s*$/;
const RELOC_RE = /^\s+([0-9a-fA-F]{8,16}):\s+(R_BPF_\w+|Unknown \(\d+\))\s+(.*?)\s*$/;
const COLUMNS_RE = /^(\s*)(\d+):(\s+)((?:[0-9a-f]{2} )*[0-9a-f]{2})(\t|\s{2,}|$)/;
const KERNEL_RE = /^(\s*)(\d+):\s+\(([0-9a-f]{2})\)\s/;

/** An object-level line of a listing (`text` is the line with comments stripped). */
export type ListingLine =
  | { kind: "section"; name: string }
  | { kind: "header" }
  | { kind: "symbol"; offset: number; name: string }
  | { kind: "relocation"; offset: number; symbol: string; type: number }
  | { kind: "zeros" };

/**
 * A source line without its comment, and what it is when it is an object-level listing line
 * (undefined: an ordinary statement). A section heading is matched before comments are stripped,
 * as section names may hold "//" (libbpf's "uprobe//bin/bash:readline").
 */
export function listingLine(raw: string): { text: string; listing?: ListingLine } {
  let m = SECTION_RE.exec(raw);
  if (m) return { text: raw, listing: { kind: "section", name: m[1]! } };
  const text = stripComment(raw);
  return { text, listing: objectLine(text) };
}

function objectLine(text: string): ListingLine | undefined {
  let m: RegExpExecArray | null;
  if (HEADER_RE.test(text) && !/^\s/.test(text) && !/^\s*\d+:/.test(text) && !text.includes("(")) return { kind: "header" };
  m = SYMBOL_RE.exec(text);
  if (m) return { kind: "symbol", offset: parseInt(m[1]!, 16), name: m[2]! };
  m = RELOC_RE.exec(text);
  if (m) {
    const name = m[2]!;
    const type = Number(Object.entries(RELOC_NAMES).find(([, n]) => n === name)?.[0] ?? /\d+/.exec(name)?.[0] ?? 0);
    return { kind: "relocation", offset: parseInt(m[1]!, 16), symbol: m[3]!, type };
  }
  if (text.trim() === "...") return { kind: "zeros" };
  return undefined;
}

/** Columns before an instruction's text: llvm's index and raw bytes, or the verifier's index and `(op)`. */
export type Columns =
  | { kind: "llvm"; index: number; raw: number[]; col: number }
  | { kind: "kernel"; index: number; code: number; col: number };

export function columns(text: string): Columns | undefined {
  const cm = COLUMNS_RE.exec(text);
  if (cm) return { kind: "llvm", index: Number(cm[2]), raw: cm[4]!.split(" ").map((h) => parseInt(h, 16)), col: cm[0].length };
  const km = KERNEL_RE.exec(text);
  if (km) return { kind: "kernel", index: Number(km[2]), code: parseInt(km[3]!, 16), col: km[0].length };
  return undefined;
}

/** Whitespace-insensitive form of an instruction's text, without llvm's branch annotation. */
function normalize(s: string): string {
  return s.replace(/\s+<[^<>]*>\s*$/, "").replace(/\s+/g, " ").trim();
}

/** With a raw-bytes column, the text must be what the disassembler prints for those bytes. */
export function checkRaw(line: Line, raw: number[]): void {
  const given = normalize(line.text.slice(line.toks[0]!.col));
  if (given === "<unknown>") return;
  const bytes = new Uint8Array(raw);
  const variants = [
    formatInstruction(bytes),
    formatInstruction(bytes, { alu32: true }),
    formatInstruction(bytes, { modern: true }),
    formatInstruction(bytes, { modern: true, alu32: true }),
  ];
  if (variants.some((v) => v !== null && normalize(v) === given)) return;
  const want = variants[0] ?? variants[2] ?? "<unknown>";
  line.fail(line.toks[0]!.col, `the text does not match the raw bytes (which read ${quote(want, 80)}): fix one, or drop the bytes column`);
}

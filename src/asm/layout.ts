// The object layout of a listing: section and symbol headings, jump-target annotations, relocation
// lines, llvm's skipped zero blocks and `-S` source lines, around the lines of either dialect.
// All state lives in the call (the output buffer, the relocation and source cursors).

import type { DisasmOptions, DisasmRelocation, DisasmSection, DisasmSourceLine } from "./disasm.ts";
import { kernelInsn } from "./kernel-dialect.ts";
import { llvmInsn, newInsnResult } from "./llvm-dialect.ts";
import { RELOC_NAMES } from "./opcodes.ts";
import { CODE, relocTypeFor } from "./table.ts";

export interface SortedSym {
  name: string;
  offset: number;
}

/** Symbols sorted as llvm-objdump 14 sorts them: by address, then name (byte order). */
export function sortSymbols(section: DisasmSection): SortedSym[] {
  const syms = (section.symbols ?? []).map((s) => ({ name: s.name, offset: s.offset }));
  syms.sort((a, b) => a.offset - b.offset || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  if (syms.length === 0 || syms[0]!.offset !== 0) syms.unshift({ name: section.name, offset: 0 });
  return syms;
}

/** `<sym+0x10>` annotation for a branch target (byte address, may be negative = wrapped). */
function targetAnnotation(syms: SortedSym[], target: number): string {
  if (target < 0) {
    // llvm computes in uint64: a negative target wraps to a huge address past every symbol.
    const s = syms[syms.length - 1]!;
    const disp = BigInt.asUintN(64, BigInt(target) - BigInt(s.offset));
    return disp === 0n ? ` <${s.name}>` : ` <${s.name}+0x${disp.toString(16)}>`;
  }
  let lo = 0;
  let hi = syms.length; // first index with offset > target
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (syms[mid]!.offset <= target) lo = mid + 1;
    else hi = mid;
  }
  if (lo === 0) return "";
  const s = syms[lo - 1]!;
  const disp = target - s.offset;
  return disp === 0 ? ` <${s.name}>` : ` <${s.name}+0x${disp.toString(16)}>`;
}

function relocTypeName(r: DisasmRelocation, b: Uint8Array): string {
  if (typeof r.type === "string") return r.type;
  if (typeof r.type === "number") return RELOC_NAMES[r.type] ?? `Unknown (${r.type})`;
  return RELOC_NAMES[relocTypeFor(r.offset < b.length ? b[r.offset] : undefined)]!;
}

export const hex16 = (n: number): string => n.toString(16).padStart(16, "0");

/** Growable output buffer of UTF-8 bytes: the llvm hot path writes ASCII straight into it. */
export class Out {
  buf = new Uint8Array(1 << 16);
  p = 0;
  private static enc = new TextEncoder();
  private static dec = new TextDecoder();
  ensure(n: number): void {
    if (this.p + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.p + n) size *= 2;
    const b = new Uint8Array(size);
    b.set(this.buf.subarray(0, this.p));
    this.buf = b;
  }
  /** ASCII-only text (instruction text, fixed strings). Caller ensured room for s.length. */
  ascii(s: string): void {
    const b = this.buf;
    let p = this.p;
    for (let i = 0; i < s.length; i++) b[p++] = s.charCodeAt(i);
    this.p = p;
  }
  /** Any text (names may be non-ASCII). */
  str(s: string): void {
    this.ensure(s.length * 3);
    this.p += Out.enc.encodeInto(s, this.buf.subarray(this.p)).written;
  }
  take(): string {
    const s = Out.dec.decode(this.buf.subarray(0, this.p));
    this.p = 0;
    return s;
  }
}

const HEXC = new Uint8Array(Array.from("0123456789abcdef", (c) => c.charCodeAt(0)));

/**
 * Disassemble the byte range [start, end) of a section in llvm syntax into `out`.
 * `rel` is the state of the relocation cursor shared across the symbols of one section.
 */
export function llvmRange(
  out: Out,
  b: Uint8Array,
  start: number,
  end: number,
  syms: SortedSym[],
  relocs: readonly DisasmRelocation[],
  rel: { i: number },
  o: Required<Pick<DisasmOptions, "modern" | "alu32" | "rawBytes" | "index" | "zeroes">>,
  src?: SourceCursor,
): void {
  const { modern, alu32, rawBytes, index, zeroes } = o;
  const len = b.length;
  const res = newInsnResult();
  const digits = new Uint8Array(16); // scratch for the index column
  let pos = start;
  while (pos < end) {
    // Blocks of 8 or more zero bytes are skipped (in steps of 4), but never past a pending relocation.
    if (!zeroes && b[pos] === 0) {
      let max = end - pos;
      if (rel.i < relocs.length) max = Math.min(max, relocs[rel.i]!.offset - pos);
      let n = 0;
      while (n < max && b[pos + n] === 0) n++;
      if (n >= 8) {
        out.ensure(8);
        out.ascii("\t\t...\n");
        pos += n & ~3;
        continue;
      }
    }
    if (src) sourceLine(out, src, pos);
    const text = llvmInsn(b, pos, len - pos, modern, alu32, res);
    const size = res.size;
    out.ensure(64 + size * 3 + (text === null ? 0 : text.length));
    const ob = out.buf;
    let p = out.p;
    if (index) {
      // right-aligned decimal instruction index, width 8, then ":\t"
      let v = Math.floor(pos / 8);
      let nd = 0;
      do {
        digits[nd++] = 48 + (v % 10);
        v = Math.floor(v / 10);
      } while (v > 0);
      for (let i = nd; i < 8; i++) ob[p++] = 32;
      while (nd > 0) ob[p++] = digits[--nd]!;
      ob[p++] = 58;
      ob[p++] = 9;
    }
    if (rawBytes) {
      for (let i = 0; i < size; i++) {
        const x = b[pos + i]!;
        ob[p++] = HEXC[x >> 4]!;
        ob[p++] = HEXC[x & 15]!;
        ob[p++] = 32;
      }
      ob[p - 1] = 9;
    }
    out.p = p;
    if (text === null) {
      out.ascii("<unknown>\n");
    } else {
      out.ascii(text);
      if (res.jump === res.jump) out.str(targetAnnotation(syms, pos + 8 + res.jump * 8));
      out.buf[out.p++] = 10;
    }
    pos += size;
    while (rel.i < relocs.length) {
      const r = relocs[rel.i]!;
      if (r.offset >= pos) break;
      out.str(`\t\t${hex16(r.offset)}:  ${relocTypeName(r, b)}\t${r.symbol}\n`);
      rel.i++;
    }
  }
}

/** The section's source lookup and the last line seen (llvm-objdump keeps it across sections). */
export interface SourceCursor {
  lookup?: (offset: number) => DisasmSourceLine | undefined;
  file: string;
  line: number;
}

/** `; TEXT` before the instruction at `pos` when its line differs from the last one seen (llvm-objdump -S). */
function sourceLine(out: Out, src: SourceCursor, pos: number): void {
  const l = src.lookup?.(pos);
  if (!l) return;
  const same = l.line === src.line && l.file === src.file;
  src.file = l.file;
  src.line = l.line;
  if (same || l.line === 0 || l.text === undefined) return;
  out.str(`; ${l.text}\n`);
}

export function kernelRange(out: string[], b: Uint8Array, start: number, end: number): void {
  let buf = "";
  for (let pos = start; pos < end; ) {
    const avail = b.length - pos;
    buf += `${Math.floor(pos / 8)}: ${kernelInsn(b, pos, avail)}\n`;
    pos += b[pos] === CODE.LD_IMM64 && avail >= 16 ? 16 : 8;
    if (buf.length > 1 << 16) {
      out.push(buf);
      buf = "";
    }
  }
  if (buf) out.push(buf);
}


// Assembler for the LLVM pseudo-C eBPF syntax (what llvm-objdump prints and llvm-mc reads), plus the
// spellings current LLVM uses for ISA v4 (see disasm.ts, `modern`) and a few conveniences:
//   - the disassembler's output can be fed back as is: index and raw-bytes columns, `<sym+0x8>`
//     annotations, `Disassembly of section X:` and `0000000000000000 <sym>:` headings, relocation
//     lines and `...` zero blocks. When a line carries raw bytes, those bytes are emitted (they are
//     lossless, and the only thing an `<unknown>` line has), after checking that the text is what
//     the disassembler prints for them, so an edit to the text alone is caught rather than ignored;
//   - labels (`name:`, numeric `1:` with `goto 1f`/`1b`), `goto name` / `goto +3`, `call name`
//     (BPF-to-BPF call, or a helper by name: `call bpf_trace_printk` / `call trace_printk`);
//   - comments with `;`, `#` and `//`; directives `.section NAME`, `.text`, `SEC("NAME")`, `.byte`,
//     `.short`, `.long`, `.quad`; other directives (`.globl`, `.type`, `.size`, `.p2align`, ...) are ignored;
//   - verifier-log lines (`3: (63) *(u32 *)(r10 -8) = r1`, `goto pc+2`, `if r1 == 0x0 goto pc+1`).
// Errors are AsmError with `file:line:column: message`.
// Limits: a `...` line (llvm's skipped zero block) is rebuilt from the next line's index or symbol
// address; an instruction that starts mid-slot after it (a 12-byte block) or a zero block at the very
// end of a section cannot be sized exactly from the text (valid programs never contain either).
//
// This file is the driver: sections, zero blocks and directives, and the public API. The work is in
// lexer.ts (tokens), listing.ts (llvm-objdump / verifier listing lines), grammar.ts (instructions)
// and labels.ts (labels, fixups, helper names).

import { quote } from "../errors.ts";
import type { DisasmObject, DisasmRelocation, DisasmSection, DisasmSymbol } from "./disasm.ts";
import { Grammar, type Emitter } from "./grammar.ts";
import { Labels, type Fixup } from "./labels.ts";
import { AsmError, Line, T } from "./lexer.ts";
import { checkRaw, columns, listingLine } from "./listing.ts";
import { CODE } from "./table.ts";

export { AsmError };

export interface AsmRelocation extends DisasmRelocation {
  type: number;
}

export interface AsmSection extends DisasmSection {
  symbols: DisasmSymbol[];
  relocations: AsmRelocation[];
}

export interface AsmObject extends DisasmObject {
  sections: AsmSection[];
}

/** One section as it is assembled. */
interface Sec {
  name: string;
  bytes: number[];
  symbols: DisasmSymbol[];
  relocations: AsmRelocation[];
  labels: Labels;
  /** A `...` zero block waiting for the next line to say where it ends. */
  zeroGap: boolean;
  /** Offsets of relocations already given by relocation lines (so inferred ones are not doubled). */
  relocAt: Set<number>;
}

const DATA_DIRECTIVES: Readonly<Record<string, number>> = {
  ".byte": 1, ".short": 2, ".2byte": 2, ".half": 2, ".long": 4, ".4byte": 4, ".int": 4, ".word": 4, ".quad": 8, ".8byte": 8,
};

/** The state of one assemble call: its sections, the current one, and the grammar writing into it. */
class Assembler implements Emitter {
  sections: Sec[] = [];
  cur!: Sec;
  private readonly grammar = new Grammar(this);
  constructor(readonly file: string) {
    this.section(".text");
  }

  section(name: string): void {
    const found = this.sections.find((s) => s.name === name);
    if (found) {
      this.cur = found;
      return;
    }
    this.cur = { name, bytes: [], symbols: [], relocations: [], labels: new Labels(), zeroGap: false, relocAt: new Set() };
    this.sections.push(this.cur);
  }

  get pos(): number {
    return this.cur.bytes.length;
  }

  fail(line: number, col: number, msg: string): never {
    throw new AsmError(this.file, line, col, msg);
  }

  /** Close a pending `...` so that the next item starts at byte `to` (or a guess from an index). */
  fillZeros(to: number): void {
    const b = this.cur.bytes;
    while (b.length < to) b.push(0);
    this.cur.zeroGap = false;
  }

  fillZerosForIndex(idx: number): void {
    const min = this.pos + 8;
    let to = idx * 8;
    if (to < min) to += 4;
    if (to < min) to = min;
    this.fillZeros(to);
  }

  closeGap(): void {
    if (this.cur.zeroGap) this.fillZeros(this.pos + 8 + ((8 - (this.pos % 8)) % 8));
  }

  run(source: string): void {
    const lines = source.split("\n");
    for (let n = 0; n < lines.length; n++) this.line(lines[n]!, n + 1);
    for (const s of this.sections) {
      this.cur = s;
      this.closeGap();
      s.labels.resolve(s.bytes, s.relocations, s.relocAt, (label) => this.sections.some((o) => o !== s && o.labels.named.has(label)));
    }
  }

  line(raw: string, lineNo: number): void {
    const { text, listing: l } = listingLine(raw);
    if (text.trim() === "") return;
    if (!l) return this.statement(text, lineNo);
    switch (l.kind) {
      case "header":
        return;
      case "section":
        this.closeGap();
        return this.section(l.name);
      case "symbol": {
        const off = l.offset;
        if (this.cur.zeroGap) this.fillZeros(off);
        // An instruction that ran over a symbol's start is decoded again from the symbol: keep one copy.
        if (off < this.pos && this.pos - off < 16) this.cur.bytes.length = off;
        if (off !== this.pos) this.fail(lineNo, 1, `symbol ${quote(`<${l.name}>`)} at 0x${off.toString(16)} but the section is 0x${this.pos.toString(16)} bytes long here`);
        // llvm names a section's start after the section when no symbol is there: not a real symbol.
        if (!(off === 0 && l.name === this.cur.name)) this.defineLabel(l.name, lineNo, 1, true);
        return;
      }
      case "relocation":
        this.cur.relocations.push({ offset: l.offset, symbol: l.symbol, type: l.type });
        this.cur.relocAt.add(l.offset);
        return;
      case "zeros":
        this.cur.zeroGap = true;
        return;
    }
  }

  statement(text: string, lineNo: number): void {
    let col = 0;
    let raw: number[] | undefined;
    let kernelCode: number | undefined;
    const c = columns(text);
    if (c) {
      if (this.cur.zeroGap) this.fillZerosForIndex(c.index);
      if (c.kind === "llvm") raw = c.raw;
      else kernelCode = c.code;
      col = c.col;
    } else {
      // `12:\tr1 = 2` (index without raw bytes) or a label `name:` / `1:` before an instruction.
      const lm = /^\s*([A-Za-z_.$][\w.$]*|\d+):/.exec(text);
      if (lm && !text.slice(lm[0].length).startsWith("=")) {
        const name = lm[1]!;
        const rest = text.slice(lm[0].length);
        const isIndex = /^\d+$/.test(name) && rest.trim() !== "" && Number(name) === Math.floor(this.pos / 8) && /^\t/.test(rest);
        if (this.cur.zeroGap && /^\d+$/.test(name) && rest.trim() !== "") this.fillZerosForIndex(Number(name));
        if (!isIndex) {
          this.closeGap();
          this.defineLabel(name, lineNo, text.indexOf(name) + 1, false);
        }
        col = lm[0].length;
        if (rest.trim() === "") return;
      }
    }
    this.closeGap();
    if (!raw && this.plainDirective(text.slice(col), lineNo, col)) return;
    const line = new Line(this.file, text, lineNo, col);
    if (line.peek().t === T.End) {
      if (raw) this.emitRaw(raw);
      return;
    }
    if (raw) {
      checkRaw(line, raw);
      this.emitRaw(raw);
      return;
    }
    const first = line.peek();
    if (first.t === T.Ident && (first.s.startsWith(".") || first.s === "SEC")) {
      this.directive(line);
      return;
    }
    if (first.t === T.Annot) line.fail(first.col, `cannot assemble ${quote(first.s)} without its raw bytes`);
    this.grammar.instruction(line, kernelCode);
  }

  defineLabel(name: string, lineNo: number, col: number, heading: boolean): void {
    const s = this.cur;
    if (s.labels.define(name, this.pos, heading, (msg) => this.fail(lineNo, col, msg))) s.symbols.push({ name, offset: this.pos });
  }

  emitRaw(raw: number[]): void {
    for (const b of raw) this.cur.bytes.push(b);
  }


  /** Section and bookkeeping directives, read from the raw text (they may hold any characters). */
  plainDirective(text: string, lineNo: number, col: number): boolean {
    const m = /^(\s*)(\.[A-Za-z_][\w.]*|SEC)\b\s*(.*)$/.exec(text);
    if (!m) return false;
    const name = m[2]!;
    const rest = m[3]!.trim();
    const at = col + m[1]!.length + 1;
    if (name === "SEC") {
      const s = /^\(\s*"([^"]*)"\s*\)$/.exec(rest);
      if (!s) this.fail(lineNo, at, 'expected SEC("name")');
      this.section(s[1]!);
      return true;
    }
    if (name === ".section") {
      const s = /^("([^"]*)"|[^\s,]+)/.exec(rest);
      if (!s) this.fail(lineNo, at, "expected a section name");
      this.section(s[2] ?? s[1]!);
      return true;
    }
    if (name === ".text") {
      this.section(".text");
      return true;
    }
    // Data directives go through the tokenizer; anything else (.globl, .type, .size, ...) is ignored.
    return DATA_DIRECTIVES[name] === undefined;
  }

  directive(line: Line): void {
    const t = line.next();
    const name = t.s;
    const w = DATA_DIRECTIVES[name];
    if (w !== undefined) {
      for (;;) {
        const lo = -(1n << BigInt(8 * w - 1));
        const hi = (1n << BigInt(8 * w)) - 1n;
        let v = BigInt.asUintN(8 * w, line.num(lo, hi, `${name} value`));
        for (let i = 0; i < w; i++) {
          this.cur.bytes.push(Number(v & 0xffn));
          v >>= 8n;
        }
        if (!line.eatP(",")) break;
      }
      line.end();
      return;
    }
    // Other assembler directives carry nothing we need.
  }

  // -------------------------------------------------------------------------------------------
  // Emitter: where the grammar's instructions go

  emit(code: number, dst: number, src: number, off: number, imm: number): void {
    const b = this.cur.bytes;
    b.push(code & 0xff, ((src & 15) << 4) | (dst & 15), off & 0xff, (off >> 8) & 0xff, imm & 0xff, (imm >>> 8) & 0xff, (imm >>> 16) & 0xff, (imm >>> 24) & 0xff);
  }

  emitLdImm64(dst: number, src: number, v: bigint): void {
    const u = BigInt.asUintN(64, v);
    this.emit(CODE.LD_IMM64, dst, src, 0, Number(u & 0xffffffffn));
    this.emit(0, 0, 0, 0, Number(u >> 32n));
  }

  fixup(f: Fixup): void {
    this.cur.labels.fixups.push(f);
  }

  relocate(r: AsmRelocation): void {
    this.cur.relocations.push(r);
  }
}

/** Assemble to one section per `.section`/heading; the shape disassembleObject takes. */
export function assembleObject(source: string, file = "<input>"): AsmObject {
  const a = new Assembler(file);
  a.run(source);
  const sections = a.sections
    .filter((s) => s.bytes.length > 0 || s.name !== ".text" || a.sections.length === 1)
    .map((s) => ({
      name: s.name,
      bytes: new Uint8Array(s.bytes),
      symbols: s.symbols,
      relocations: s.relocations.sort((x, y) => x.offset - y.offset),
    }));
  return { sections };
}

/** Assemble source text to instruction bytes (all sections, in order of first appearance). */
export function assemble(source: string, file = "<input>"): Uint8Array {
  return sectionBytes(assembleObject(source, file));
}

/** Every section's bytes, concatenated in order. */
export function sectionBytes(obj: AsmObject): Uint8Array {
  if (obj.sections.length === 1) return obj.sections[0]!.bytes;
  const total = obj.sections.reduce((n, s) => n + s.bytes.length, 0);
  const out = new Uint8Array(total);
  let p = 0;
  for (const s of obj.sections) {
    out.set(s.bytes, p);
    p += s.bytes.length;
  }
  return out;
}

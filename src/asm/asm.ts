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

import { BpfloadError, quote } from "../errors.ts";
import { helperNames } from "../uapi.ts";
import { formatInstruction, type DisasmObject, type DisasmRelocation, type DisasmSection, type DisasmSymbol } from "./disasm.ts";
import { RELOC_NAMES, R_BPF_64_32, R_BPF_64_64 } from "./opcodes.ts";

/** An assembly error; the message reads `file:line:column: problem`. Bad input: exit code 2. */
export class AsmError extends BpfloadError {
  readonly exitCode = 2;
  readonly kind = "asm";
  constructor(
    readonly file: string,
    readonly line: number,
    readonly column: number,
    readonly problem: string,
  ) {
    super(`${file}:${line}:${column}: ${problem}`);
  }
}

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

// ---------------------------------------------------------------------------------------------
// Tokens

const enum T {
  Ident,
  Num,
  Punct,
  LocalRef, // `1f` / `1b`
  Annot, // `<...>`
  End,
}

interface Tok {
  t: T;
  s: string;
  /** 0-based column in the line. */
  col: number;
  /** Numeric value for Num (bigint so 64-bit constants survive). */
  v?: bigint;
}

// Longest first.
const PUNCTS = ["s>>=", "<<=", ">>=", "s/=", "s%=", "s>=", "s<=", "+=", "-=", "*=", "/=", "%=", "|=", "&=", "^=", "==", "!=", ">=", "<=", "s>", "s<", ">", "<", "=", "*", "(", ")", "[", "]", ",", "+", "-", "&", "#"];

class Line {
  toks: Tok[] = [];
  i = 0;
  constructor(
    readonly asm: Assembler,
    readonly text: string,
    readonly lineNo: number,
    startCol: number,
  ) {
    this.tokenize(startCol);
  }

  private tokenize(from: number): void {
    const s = this.text;
    let p = from;
    while (p < s.length) {
      const c = s.charCodeAt(p);
      if (c === 32 || c === 9 || c === 13) {
        p++;
        continue;
      }
      const start = p;
      // `s>=` etc. must win over the identifier `s`.
      if (c === 115 /* s */) {
        const m = PUNCTS.find((q) => q.startsWith("s") && s.startsWith(q, p));
        if (m) {
          this.toks.push({ t: T.Punct, s: m, col: start });
          p += m.length;
          continue;
        }
      }
      if (/[A-Za-z_.$]/.test(s[p]!)) {
        while (p < s.length && /[\w.$]/.test(s[p]!)) p++;
        this.toks.push({ t: T.Ident, s: s.slice(start, p), col: start });
        continue;
      }
      if (c >= 48 && c <= 57) {
        let m = /^0[xX][0-9a-fA-F]+/.exec(s.slice(p));
        if (!m) m = /^0[bB][01]+/.exec(s.slice(p));
        if (!m) m = /^[0-9]+/.exec(s.slice(p));
        let text = m![0];
        p += text.length;
        if ((s[p] === "f" || s[p] === "b") && !/[\w.$]/.test(s[p + 1] ?? " ") && /^[0-9]+$/.test(text)) {
          this.toks.push({ t: T.LocalRef, s: text + s[p], col: start });
          p++;
          continue;
        }
        if (p < s.length && /[\w.$]/.test(s[p]!)) {
          while (p < s.length && /[\w.$]/.test(s[p]!)) p++;
          text = s.slice(start, p);
          this.fail(start, `invalid number ${quote(text)}`);
        }
        this.toks.push({ t: T.Num, s: text, col: start, v: BigInt(text) });
        continue;
      }
      if (c === 60 /* < */ && /^<[^<>=\s][^<>]*>\s*$/.test(s.slice(p))) {
        // llvm's `<sym+0x10>` branch annotation (always last on the line).
        const end = s.indexOf(">", p);
        this.toks.push({ t: T.Annot, s: s.slice(p, end + 1), col: start });
        p = end + 1;
        continue;
      }
      const m = PUNCTS.find((q) => s.startsWith(q, p));
      if (!m) this.fail(start, `unexpected character ${quote(s[p]!)}`);
      this.toks.push({ t: T.Punct, s: m, col: start });
      p += m.length;
    }
    this.toks.push({ t: T.End, s: "end of line", col: s.length });
  }

  fail(col: number, msg: string): never {
    throw new AsmError(this.asm.file, this.lineNo, col + 1, msg);
  }
  peek(k = 0): Tok {
    return this.toks[Math.min(this.i + k, this.toks.length - 1)]!;
  }
  next(): Tok {
    const t = this.peek();
    if (t.t !== T.End) this.i++;
    return t;
  }
  isP(s: string, k = 0): boolean {
    const t = this.peek(k);
    return t.t === T.Punct && t.s === s;
  }
  isId(s: string, k = 0): boolean {
    const t = this.peek(k);
    return t.t === T.Ident && t.s === s;
  }
  eatP(s: string): boolean {
    if (this.isP(s)) {
      this.i++;
      return true;
    }
    return false;
  }
  expectP(s: string): Tok {
    const t = this.peek();
    if (t.t !== T.Punct || t.s !== s) this.fail(t.col, `expected ${quote(s)}, found ${show(t)}`);
    return this.next();
  }
  expectId(s: string): Tok {
    const t = this.peek();
    if (t.t !== T.Ident || t.s !== s) this.fail(t.col, `expected ${quote(s)}, found ${show(t)}`);
    return this.next();
  }
  end(): void {
    const t = this.peek();
    if (t.t === T.Annot) this.i++;
    const e = this.peek();
    if (e.t !== T.End) this.fail(e.col, `unexpected ${show(e)} after the instruction`);
  }

  /** `r3` / `w3`; returns [number, 'r'|'w']. */
  reg(kind?: "r" | "w"): [number, "r" | "w"] {
    const t = this.peek();
    const m = t.t === T.Ident ? /^([rw])(\d+)$/.exec(t.s) : null;
    if (!m) this.fail(t.col, `expected a register, found ${show(t)}`);
    const n = Number(m[2]);
    if (n > 11) this.fail(t.col, `invalid register ${quote(t.s)} (r0-r10, r11 exist)`);
    const k = m[1] as "r" | "w";
    if (kind && k !== kind) this.fail(t.col, `expected a ${kind === "r" ? "64-bit (rN)" : "32-bit (wN)"} register, found ${quote(t.s)}`);
    this.i++;
    return [n, k];
  }
  isReg(k = 0): boolean {
    const t = this.peek(k);
    return t.t === T.Ident && /^[rw]\d+$/.test(t.s);
  }

  /** A signed number with optional leading +/-; range-checked. */
  num(lo: bigint, hi: bigint, what: string): bigint {
    const first = this.peek();
    let neg = false;
    if (this.eatP("-")) neg = true;
    else this.eatP("+");
    const t = this.peek();
    if (t.t !== T.Num) this.fail(t.col, `expected ${what}, found ${show(t)}`);
    this.i++;
    const v = neg ? -t.v! : t.v!;
    if (v < lo || v > hi) this.fail(first.col, `${what} ${quote(String(v))} out of range [${lo}, ${hi}]`);
    return v;
  }
  isNum(): boolean {
    const t = this.peek();
    return t.t === T.Num || ((t.s === "-" || t.s === "+") && t.t === T.Punct && this.peek(1).t === T.Num);
  }
}

function show(t: Tok): string {
  return t.t === T.End ? "end of line" : `${quote(t.s)}`;
}

const S32_LO = -0x80000000n;
const U32_HI = 0xffffffffn;
const S16_LO = -0x8000n;
const S16_HI = 0x7fffn;

const ALU_OPS: Record<string, number> = {
  "+=": 0x00, "-=": 0x10, "*=": 0x20, "/=": 0x30, "|=": 0x40, "&=": 0x50, "<<=": 0x60, ">>=": 0x70,
  "%=": 0x90, "^=": 0xa0, "=": 0xb0, "s>>=": 0xc0, "s/=": 0x30, "s%=": 0x90,
};
const JMP_OPS: Record<string, number> = {
  "==": 0x10, ">": 0x20, ">=": 0x30, "&": 0x40, "!=": 0x50, "s>": 0x60, "s>=": 0x70, "<": 0xa0, "<=": 0xb0, "s<": 0xc0, "s<=": 0xd0,
};
const SIZES: Record<string, number> = { u32: 0x00, u16: 0x08, u8: 0x10, u64: 0x18 };
const SSIZES: Record<string, number> = { s32: 0x00, s16: 0x08, s8: 0x10 };
const ATOMIC_BY_TEXT: Record<string, number> = { "+=": 0x00, "|=": 0x40, "&=": 0x50, "^=": 0xa0 };
const ATOMIC_BY_NAME: Record<string, number> = { add: 0x00, or: 0x40, and: 0x50, xor: 0xa0 };

const HELPER_IDS = new Map<string, number>();
helperNames().forEach((h, i) => {
  HELPER_IDS.set(h, i);
  HELPER_IDS.set(`bpf_${h}`, i);
});

interface Fixup {
  /** Byte offset of the instruction in the section. */
  at: number;
  field: "off" | "imm";
  label: string;
  line: Line;
  col: number;
  /** Call to a name that may be a label, a helper or an external function. */
  call?: boolean;
}

interface Sec {
  name: string;
  bytes: number[];
  symbols: DisasmSymbol[];
  relocations: AsmRelocation[];
  labels: Map<string, number>;
  /** Numeric local labels: number -> ascending offsets. */
  local: Map<string, number[]>;
  fixups: Fixup[];
  /** A `...` zero block waiting for the next line to say where it ends. */
  zeroGap: boolean;
  /** Offsets of relocations already given by relocation lines (so inferred ones are not doubled). */
  relocAt: Set<number>;
}

const DATA_DIRECTIVES = new Set([".byte", ".short", ".2byte", ".half", ".long", ".4byte", ".int", ".word", ".quad", ".8byte"]);
const HEADER_RE = /^\S.*:\s+file format \S+\s*$/;
const SECTION_RE = /^Disassembly of section (.+):\s*$/;
const SYMBOL_RE = /^([0-9a-fA-F]{8,16}) <(.+)>:\s*$/;
const RELOC_RE = /^\s+([0-9a-fA-F]{8,16}):\s+(R_BPF_\w+|Unknown \(\d+\))\s+(.*?)\s*$/;
const COLUMNS_RE = /^(\s*)(\d+):(\s+)((?:[0-9a-f]{2} )*[0-9a-f]{2})(\t|\s{2,}|$)/;
const KERNEL_RE = /^(\s*)(\d+):\s+\(([0-9a-f]{2})\)\s/;

class Assembler {
  sections: Sec[] = [];
  cur!: Sec;
  constructor(readonly file: string) {
    this.section(".text");
  }

  section(name: string): void {
    const found = this.sections.find((s) => s.name === name);
    if (found) {
      this.cur = found;
      return;
    }
    this.cur = {
      name, bytes: [], symbols: [], relocations: [], labels: new Map(), local: new Map(), fixups: [], zeroGap: false, relocAt: new Set(),
    };
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
      this.resolve(s);
    }
  }

  line(raw: string, lineNo: number): void {
    // A section heading is matched before comments are stripped: section names may hold "//"
    // (libbpf's "uprobe//bin/bash:readline").
    let m = SECTION_RE.exec(raw);
    const text = m ? raw : stripComment(raw);
    if (text.trim() === "") return;
    // Object-level lines of llvm-objdump output.
    if (!m && HEADER_RE.test(text) && !/^\s/.test(text) && !/^\s*\d+:/.test(text) && !text.includes("(")) return;
    if (m) {
      this.closeGap();
      this.section(m[1]!);
      return;
    }
    m = SYMBOL_RE.exec(text);
    if (m) {
      const off = parseInt(m[1]!, 16);
      if (this.cur.zeroGap) this.fillZeros(off);
      // An instruction that ran over a symbol's start is decoded again from the symbol: keep one copy.
      if (off < this.pos && this.pos - off < 16) this.cur.bytes.length = off;
      if (off !== this.pos) this.fail(lineNo, 1, `symbol ${quote(`<${m[2]}>`)} at 0x${off.toString(16)} but the section is 0x${this.pos.toString(16)} bytes long here`);
      const name = m[2]!;
      // llvm names a section's start after the section when no symbol is there: not a real symbol.
      if (!(off === 0 && name === this.cur.name)) this.defineLabel(name, lineNo, 1, true);
      return;
    }
    m = RELOC_RE.exec(text);
    if (m) {
      const type = Number(Object.entries(RELOC_NAMES).find(([, n]) => n === m![2])?.[0] ?? /\d+/.exec(m[2]!)?.[0] ?? 0);
      const offset = parseInt(m[1]!, 16);
      this.cur.relocations.push({ offset, symbol: m[3]!, type });
      this.cur.relocAt.add(offset);
      return;
    }
    if (text.trim() === "...") {
      this.cur.zeroGap = true;
      return;
    }
    this.statement(text, lineNo);
  }

  statement(text: string, lineNo: number): void {
    let col = 0;
    let raw: number[] | undefined;
    let kernelCode: number | undefined;
    // Index and raw-bytes columns of llvm-objdump output.
    const cm = COLUMNS_RE.exec(text);
    if (cm) {
      if (this.cur.zeroGap) this.fillZerosForIndex(Number(cm[2]));
      raw = cm[4]!.split(" ").map((h) => parseInt(h, 16));
      col = cm[0].length;
    } else {
      const km = KERNEL_RE.exec(text);
      if (km) {
        if (this.cur.zeroGap) this.fillZerosForIndex(Number(km[2]));
        kernelCode = parseInt(km[3]!, 16);
        col = km[0].length;
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
    }
    this.closeGap();
    if (!raw && this.plainDirective(text.slice(col), lineNo, col)) return;
    const line = new Line(this, text, lineNo, col);
    if (line.peek().t === T.End) {
      if (raw) this.emitRaw(raw);
      return;
    }
    if (raw) {
      this.checkRaw(line, raw);
      this.emitRaw(raw);
      return;
    }
    const first = line.peek();
    if (first.t === T.Ident && (first.s.startsWith(".") || first.s === "SEC")) {
      this.directive(line);
      return;
    }
    if (first.t === T.Annot) line.fail(first.col, `cannot assemble ${quote(first.s)} without its raw bytes`);
    this.instruction(line, kernelCode);
  }

  defineLabel(name: string, lineNo: number, col: number, heading: boolean): void {
    const s = this.cur;
    if (/^\d+$/.test(name)) {
      const list = s.local.get(name) ?? [];
      list.push(this.pos);
      s.local.set(name, list);
      return;
    }
    if (s.labels.has(name)) {
      if (heading && s.labels.get(name) === this.pos) return;
      this.fail(lineNo, col, `label ${quote(name)} is already defined`);
    }
    s.labels.set(name, this.pos);
    if (!name.startsWith(".L")) s.symbols.push({ name, offset: this.pos });
  }

  emitRaw(raw: number[]): void {
    for (const b of raw) this.cur.bytes.push(b);
  }

  /** With a raw-bytes column, the text must be what the disassembler prints for those bytes. */
  checkRaw(line: Line, raw: number[]): void {
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
    return !DATA_DIRECTIVES.has(name);
  }

  directive(line: Line): void {
    const t = line.next();
    const name = t.s;
    const widths: Record<string, number> = { ".byte": 1, ".short": 2, ".2byte": 2, ".half": 2, ".long": 4, ".4byte": 4, ".int": 4, ".word": 4, ".quad": 8, ".8byte": 8 };
    const w = widths[name];
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
  // Instructions

  emit(code: number, dst: number, src: number, off: number, imm: number): void {
    const b = this.cur.bytes;
    b.push(code & 0xff, ((src & 15) << 4) | (dst & 15), off & 0xff, (off >> 8) & 0xff, imm & 0xff, (imm >>> 8) & 0xff, (imm >>> 16) & 0xff, (imm >>> 24) & 0xff);
  }

  emitLdImm64(dst: number, src: number, v: bigint): void {
    const u = BigInt.asUintN(64, v);
    this.emit(0x18, dst, src, 0, Number(u & 0xffffffffn));
    this.emit(0, 0, 0, 0, Number(u >> 32n));
  }

  /** Jump target: `+3`, `-1`, `pc+3`, a label, or `1f`/`1b`. Returns the offset or records a fixup. */
  target(line: Line, at: number, field: "off" | "imm"): number {
    const t = line.peek();
    const wide = field === "imm";
    if (t.t === T.Ident && t.s === "pc") {
      line.next();
      if (!line.isP("+") && !line.isP("-")) line.fail(line.peek().col, "expected pc+N or pc-N");
      return Number(line.num(wide ? S32_LO : S16_LO, wide ? 0x7fffffffn : S16_HI, "jump offset"));
    }
    if (line.isNum()) return Number(line.num(wide ? S32_LO : S16_LO, wide ? 0x7fffffffn : S16_HI, "jump offset"));
    if (t.t === T.Ident || t.t === T.LocalRef) {
      line.next();
      this.cur.fixups.push({ at, field, label: t.s, line, col: t.col });
      return 0;
    }
    return line.fail(t.col, `expected a jump target (+N, -N or a label), found ${show(t)}`);
  }

  instruction(line: Line, kernelCode: number | undefined): void {
    const at = this.pos;
    const t = line.peek();
    if (t.t === T.Ident) {
      switch (t.s) {
        case "exit":
          line.next();
          line.end();
          return this.emit(0x95, 0, 0, 0, 0);
        case "goto": {
          line.next();
          const off = this.target(line, at, "off");
          line.end();
          return this.emit(0x05, 0, 0, off, 0);
        }
        case "gotol": {
          line.next();
          const imm = this.target(line, at, "imm");
          line.end();
          return this.emit(0x06, 0, 0, 0, imm);
        }
        case "may_goto": {
          line.next();
          const off = this.target(line, at, "off");
          line.end();
          return this.emit(0xe5, 0, 0, off, 0);
        }
        case "call":
          return this.call(line, at);
        case "callx": {
          line.next();
          const [r] = line.reg("r");
          line.end();
          return this.emit(0x8d, 0, 0, 0, r);
        }
        case "if":
          return this.cond(line, at);
        case "lock":
          return this.lock(line);
        case "ld_pseudo": {
          line.next();
          const [dst] = line.reg("r");
          line.expectP(",");
          const src = Number(line.num(1n, 15n, "pseudo source"));
          line.expectP(",");
          const v = line.num(-(1n << 63n), (1n << 64n) - 1n, "immediate");
          line.end();
          return this.emitLdImm64(dst, src, v);
        }
        case "store_release": {
          line.next();
          line.expectP("(");
          const { size, base, off } = this.memRef(line, SIZES, false);
          line.expectP(",");
          const [src, k] = line.reg();
          if (k !== (size === 0x18 ? "r" : "w") && size === 0x18) line.fail(line.peek().col, "store_release of u64 takes an rN register");
          line.expectP(")");
          line.end();
          return this.emit(0xc3 | size, base, src, off, 0x110);
        }
      }
      if (line.isReg()) return this.assign(line, at, kernelCode);
    }
    if (t.t === T.Punct && t.s === "*") return this.store(line);
    line.fail(t.col, `unknown instruction starting with ${show(t)}`);
  }

  call(line: Line, at: number): void {
    line.next();
    const t = line.peek();
    if (t.t === T.Ident && t.s === "pc") {
      const imm = this.target(line, at, "imm");
      line.end();
      return this.emit(0x85, 0, 1, 0, imm);
    }
    if (t.t === T.Ident && t.s === "kfunc") {
      line.next();
      const imm = Number(line.num(S32_LO, U32_HI, "kfunc BTF id"));
      line.end();
      return this.emit(0x85, 0, 2, 0, imm);
    }
    if (line.isNum()) {
      const imm = Number(line.num(S32_LO, U32_HI, "helper id"));
      line.end();
      return this.emit(0x85, 0, 0, 0, imm);
    }
    // Verifier spelling: `call bpf_map_lookup_elem#1`, `call unknown#99`, `call kernel-function#42`.
    const kfunc = t.t === T.Ident && t.s === "kernel" && line.isP("-", 1) && line.isId("function", 2) && line.isP("#", 3);
    if (kfunc || (t.t === T.Ident && line.isP("#", 1))) {
      line.i += kfunc ? 4 : 2;
      const imm = Number(line.num(S32_LO, U32_HI, "call id"));
      line.end();
      return this.emit(0x85, 0, kfunc ? 2 : 0, 0, imm);
    }
    if (t.t === T.Ident || t.t === T.LocalRef) {
      line.next();
      line.end();
      this.cur.fixups.push({ at, field: "imm", label: t.s, line, col: t.col, call: true });
      return this.emit(0x85, 0, 1, 0, -1);
    }
    line.fail(t.col, `expected a helper id, pc+N or a function name, found ${show(t)}`);
  }

  cond(line: Line, at: number): void {
    line.next();
    const [dst, k] = line.reg();
    const opTok = line.next();
    const op = opTok.t === T.Punct ? JMP_OPS[opTok.s] : undefined;
    if (op === undefined) line.fail(opTok.col, `expected a comparison (==, !=, >, >=, <, <=, s>, s>=, s<, s<=, &), found ${show(opTok)}`);
    const cls = k === "w" ? 0x06 : 0x05;
    let src = 0;
    let imm = 0;
    let x = 0;
    if (line.isReg()) {
      [src] = line.reg(k);
      x = 0x08;
    } else {
      imm = Number(line.num(S32_LO, U32_HI, "immediate"));
    }
    line.expectId("goto");
    const off = this.target(line, at, "off");
    line.end();
    this.emit(cls | op | x, dst, src, off, imm);
  }

  /** `*(u32 *)(r1 + 4)` after the leading `*`; returns size bits, base register and offset. */
  memRef(line: Line, types: Record<string, number>, star = true): { size: number; base: number; off: number } {
    if (star) line.expectP("*");
    line.expectP("(");
    const ty = line.next();
    const size = ty.t === T.Ident ? types[ty.s] : undefined;
    if (size === undefined) line.fail(ty.col, `expected one of ${Object.keys(types).join(", ")}, found ${show(ty)}`);
    line.expectP("*");
    line.expectP(")");
    line.expectP("(");
    const [base] = line.reg("r");
    const off = this.offset(line);
    line.expectP(")");
    return { size, base, off };
  }

  /** ` + 4` / ` - 4` / nothing. */
  offset(line: Line): number {
    if (line.isP("+") || line.isP("-")) return Number(line.num(S16_LO, S16_HI, "offset"));
    return 0;
  }

  store(line: Line): void {
    const { size, base, off } = this.memRef(line, SIZES);
    line.expectP("=");
    if (line.isReg()) {
      const [src, k] = line.reg();
      if (k === "w" && size === 0x18) line.fail(line.toks[line.i - 1]!.col, "a u64 store takes an rN register");
      line.end();
      return this.emit(0x63 | size, base, src, off, 0);
    }
    const imm = Number(line.num(S32_LO, U32_HI, "immediate"));
    line.end();
    this.emit(0x62 | size, base, 0, off, imm);
  }

  lock(line: Line): void {
    line.next();
    const { size, base, off } = this.memRef(line, SIZES);
    if (size !== 0x00 && size !== 0x18) line.fail(line.toks[2]!.col, "atomic operations are u32 or u64");
    const opTok = line.next();
    const op = opTok.t === T.Punct ? ATOMIC_BY_TEXT[opTok.s] : undefined;
    if (op === undefined) line.fail(opTok.col, `expected +=, |=, &= or ^=, found ${show(opTok)}`);
    const [src] = line.reg(size === 0x18 ? "r" : undefined);
    line.end();
    this.emit(0xc3 | size, base, src, off, op);
  }

  /** Everything that starts with a register: ALU ops, moves, loads, ld_imm64, atomic fetch forms. */
  assign(line: Line, at: number, kernelCode: number | undefined): void {
    const [dst, k] = line.reg();
    const opTok = line.next();
    const cls = k === "w" ? 0x04 : 0x07;
    if (opTok.t !== T.Punct || ALU_OPS[opTok.s] === undefined) {
      line.fail(opTok.col, `expected an assignment operator (=, +=, -=, ...), found ${show(opTok)}`);
    }
    const signed = opTok.s === "s/=" || opTok.s === "s%=" ? 1 : 0;
    if (opTok.s !== "=") {
      const op = ALU_OPS[opTok.s]!;
      if (line.isReg()) {
        const [src] = line.reg(k);
        line.end();
        return this.emit(cls | op | 0x08, dst, src, signed, 0);
      }
      const imm = Number(line.num(S32_LO, U32_HI, "immediate"));
      line.end();
      return this.emit(cls | op, dst, 0, signed, imm);
    }
    // `dst = ...`
    const t = line.peek();
    if (t.t === T.Punct && t.s === "-" && line.isReg(1)) {
      line.next();
      const [r] = line.reg(k);
      if (r !== dst) line.fail(line.toks[line.i - 1]!.col, "negation must use the destination register (rN = -rN)");
      line.end();
      return this.emit(cls | 0x80, dst, 0, 0, 0);
    }
    if (t.t === T.Punct && t.s === "(" && line.peek(1).t === T.Ident && /^s(8|16|32)$/.test(line.peek(1).s)) {
      line.next();
      const bits = Number(line.next().s.slice(1));
      line.expectP(")");
      const [src] = line.reg(k);
      line.end();
      return this.emit(cls | 0xb8, dst, src, bits, 0);
    }
    if (t.t === T.Punct && t.s === "*") return this.load(line, dst, k);
    if (t.t === T.Ident) {
      const m = /^(le|be|bswap)(16|32|64)$/.exec(t.s);
      if (m) {
        if (k !== "r") line.fail(t.col, "byte swaps take an rN register");
        line.next();
        const [r] = line.reg("r");
        if (r !== dst) line.fail(line.toks[line.i - 1]!.col, `${m[1]} must use the destination register (rN = ${m[1]}${m[2]} rN)`);
        line.end();
        const code = m[1] === "bswap" ? 0xd7 : m[1] === "be" ? 0xdc : 0xd4;
        return this.emit(code, dst, 0, 0, Number(m[2]));
      }
      const am = /^atomic(64)?_fetch_(add|or|and|xor)$/.exec(t.s);
      if (am) return this.fetch(line, dst, k, ATOMIC_BY_NAME[am[2]!]! | 1);
      if (t.s === "xchg_64" || t.s === "xchg32_32") return this.xchg(line, dst, k, t.s === "xchg_64");
      if (t.s === "cmpxchg_64" || t.s === "cmpxchg32_32") return this.cmpxchg(line, dst, k, t.s === "cmpxchg_64");
      if (/^atomic(64)?_(xchg|cmpxchg)$/.test(t.s)) return this.kernelXchg(line, dst, k, t.s);
      if (t.s === "load_acquire") {
        line.next();
        line.expectP("(");
        const { size, base, off } = this.memRef(line, SIZES, false);
        line.expectP(")");
        line.end();
        return this.emit(0xc3 | size, dst, base, off, 0x100);
      }
      if (t.s === "addr_space_cast") {
        line.next();
        line.expectP("(");
        const [src] = line.reg("r");
        line.expectP(",");
        const a = Number(line.num(0n, 0xffffn, "address space"));
        line.expectP(",");
        const b = Number(line.num(0n, 0xffffn, "address space"));
        line.expectP(")");
        line.end();
        return this.emit(0xbf, dst, src, 1, (a << 16) | b);
      }
      if (!line.isReg() && line.peek(1).t === T.Ident && line.peek(1).s === "ll") {
        // `r1 = my_map ll`: relocation against a symbol.
        if (k !== "r") line.fail(t.col, "ld_imm64 takes an rN register");
        line.next();
        line.next();
        line.end();
        this.cur.relocations.push({ offset: at, symbol: t.s, type: R_BPF_64_64 });
        return this.emitLdImm64(dst, 0, 0n);
      }
    }
    if (line.isReg()) {
      const [src] = line.reg(k);
      line.end();
      return this.emit(cls | 0xb8, dst, src, 0, 0);
    }
    if (line.isNum()) {
      const numTok = line.peek();
      const v = line.num(-(1n << 63n), (1n << 64n) - 1n, "immediate");
      if (line.isId("ll") || kernelCode === 0x18) {
        if (line.isId("ll")) line.next();
        if (k !== "r") line.fail(t.col, "ld_imm64 takes an rN register");
        line.end();
        return this.emitLdImm64(dst, 0, v);
      }
      if (v < S32_LO || v > U32_HI) line.fail(numTok.col, `immediate ${v} does not fit in 32 bits (write '${v} ll' for a 64-bit constant)`);
      line.end();
      return this.emit(cls | 0xb0, dst, 0, 0, Number(v));
    }
    line.fail(t.col, `cannot parse the right-hand side starting at ${show(t)}`);
  }

  load(line: Line, dst: number, k: "r" | "w"): void {
    // `*(u32 *)(r1 + 4)`, `*(s8 *)(r1 + 4)`, `*(u16 *)skb[4]`, `*(u8 *)skb[r3]`, `*(u8 *)skb[r3 + 4]`
    const save = line.i;
    line.expectP("*");
    line.expectP("(");
    const ty = line.next();
    line.i = save;
    if (ty.t === T.Ident && SSIZES[ty.s] !== undefined) {
      const { size, base, off } = this.memRef(line, SSIZES);
      line.end();
      return this.emit(0x81 | size, dst, base, off, 0);
    }
    if (line.peek(5).t === T.Ident && line.peek(5).s === "skb") {
      line.next();
      line.next();
      const st = line.next();
      const size = st.t === T.Ident ? SIZES[st.s] : undefined;
      if (size === undefined || size === 0x18) line.fail(st.col, `expected u8, u16 or u32, found ${show(st)}`);
      line.expectP("*");
      line.expectP(")");
      line.next(); // skb
      line.expectP("[");
      if (dst !== 0 || k !== "r") line.fail(line.toks[0]!.col, "packet loads (skb[...]) always load into r0");
      if (line.isReg()) {
        const [src] = line.reg("r");
        // The kernel prints this offset with "+ %d": `skb[r0 + -1]` is its spelling of -1.
        const imm = line.eatP("+") || line.isP("-") ? Number(line.num(S32_LO, U32_HI, "offset")) : 0;
        line.expectP("]");
        line.end();
        return this.emit(0x40 | size, 0, src, 0, imm);
      }
      const imm = Number(line.num(S32_LO, U32_HI, "offset"));
      line.expectP("]");
      line.end();
      return this.emit(0x20 | size, 0, 0, 0, imm);
    }
    const { size, base, off } = this.memRef(line, SIZES);
    if (k === "w" && size === 0x18) line.fail(line.toks[0]!.col, "a u64 load takes an rN register");
    line.end();
    this.emit(0x61 | size, dst, base, off, 0);
  }

  /** `((u32 *)(rB +off)` or `((u64 *)(rB +off)`: the memory operand of the atomic call spellings. */
  atomicOperand(line: Line): { size: number; base: number; off: number } {
    line.expectP("(");
    line.expectP("(");
    const ty = line.next();
    const size = ty.t === T.Ident ? SIZES[ty.s] : undefined;
    if (size !== 0x00 && size !== 0x18) line.fail(ty.col, `expected u32 or u64, found ${show(ty)}`);
    line.expectP("*");
    line.expectP(")");
    line.expectP("(");
    const [base] = line.reg("r");
    const off = this.offset(line);
    line.expectP(")");
    return { size: size!, base: base!, off };
  }

  fetch(line: Line, dst: number, k: "r" | "w", imm: number): void {
    line.next();
    const { size, base, off } = this.atomicOperand(line);
    line.expectP(",");
    const [src] = line.reg(k);
    if (src !== dst) line.fail(line.toks[line.i - 1]!.col, "the fetched value goes to the source register (rS = atomic_fetch_op(..., rS))");
    line.expectP(")");
    line.end();
    this.emit(0xc3 | size, base, src, off, imm);
  }

  xchg(line: Line, dst: number, k: "r" | "w", dw: boolean): void {
    line.next();
    line.expectP("(");
    const [base] = line.reg("r");
    const off = this.offset(line);
    line.expectP(",");
    const [src] = line.reg(dw ? "r" : "w");
    if (src !== dst || k !== (dw ? "r" : "w")) line.fail(line.toks[line.i - 1]!.col, "xchg returns into its source register");
    line.expectP(")");
    line.end();
    this.emit(dw ? 0xdb : 0xc3, base, src, off, 0xe1);
  }

  cmpxchg(line: Line, dst: number, k: "r" | "w", dw: boolean): void {
    line.next();
    line.expectP("(");
    const [base] = line.reg("r");
    const off = this.offset(line);
    line.expectP(",");
    const [r0] = line.reg(dw ? "r" : "w");
    line.expectP(",");
    const [src] = line.reg(dw ? "r" : "w");
    if (dst !== 0 || r0 !== 0 || k !== (dw ? "r" : "w")) line.fail(line.toks[0]!.col, "cmpxchg compares with and returns into r0");
    line.expectP(")");
    line.end();
    this.emit(dw ? 0xdb : 0xc3, base, src, off, 0xf1);
  }

  /** Verifier spelling: `r1 = atomic64_xchg((u64 *)(r2 +0), r1)`, `r0 = atomic_cmpxchg((u32 *)(r2 +0), r0, r1)`. */
  kernelXchg(line: Line, dst: number, _k: "r" | "w", name: string): void {
    line.next();
    const { size, base, off } = this.atomicOperand(line);
    line.expectP(",");
    const cmp = name.endsWith("cmpxchg");
    if (cmp) {
      line.reg();
      line.expectP(",");
    }
    const [src] = line.reg();
    line.expectP(")");
    line.end();
    if (!cmp && src !== dst) line.fail(line.toks[0]!.col, "xchg returns into its source register");
    this.emit(0xc3 | size, base, src, off, cmp ? 0xf1 : 0xe1);
  }

  // -------------------------------------------------------------------------------------------

  resolve(s: Sec): void {
    const dv = new DataView(new ArrayBuffer(8));
    for (const f of s.fixups) {
      let target: number | undefined;
      const lm = /^(\d+)([fb])$/.exec(f.label);
      if (lm) {
        const list = s.local.get(lm[1]!) ?? [];
        target = lm[2] === "f" ? list.find((o) => o > f.at) : [...list].reverse().find((o) => o <= f.at);
      } else {
        target = s.labels.get(f.label);
      }
      if (target === undefined) {
        if (f.call) {
          const helper = HELPER_IDS.get(f.label);
          if (helper !== undefined) {
            s.bytes[f.at + 1] = 0; // src 0: helper call
            setImm(s.bytes, f.at, helper, dv);
            continue;
          }
          if (!s.relocAt.has(f.at)) s.relocations.push({ offset: f.at, symbol: f.label, type: R_BPF_64_32 });
          continue;
        }
        if (this.sections.some((o) => o !== s && o.labels.has(f.label))) {
          f.line.fail(f.col, `label ${quote(f.label)} is in another section`);
        }
        f.line.fail(f.col, `undefined label ${quote(f.label)}`);
      }
      if ((target - f.at) % 8 !== 0) f.line.fail(f.col, `label ${quote(f.label)} is not on an instruction boundary`);
      const rel = (target - f.at) / 8 - 1;
      if (f.field === "off") {
        if (rel < -0x8000 || rel > 0x7fff) f.line.fail(f.col, `jump to ${quote(f.label)} (${rel} instructions) does not fit in 16 bits; use gotol`);
        s.bytes[f.at + 2] = rel & 0xff;
        s.bytes[f.at + 3] = (rel >> 8) & 0xff;
      } else {
        setImm(s.bytes, f.at, rel, dv);
      }
    }
  }
}

function setImm(bytes: number[], at: number, v: number, dv: DataView): void {
  dv.setInt32(0, v, true);
  for (let i = 0; i < 4; i++) bytes[at + 4 + i] = dv.getUint8(i);
}

/**
 * Drop `;`, `//` and `#` comments. A `#` right after a name is not a comment: the verifier writes
 * `call bpf_trace_printk#6`.
 */
function stripComment(s: string): string {
  let cut = s.length;
  for (const m of [";", "//"]) {
    const i = s.indexOf(m);
    if (i >= 0 && i < cut) cut = i;
  }
  const h = /(^|\s)#/.exec(s);
  if (h && h.index + h[1]!.length < cut) cut = h.index + h[1]!.length;
  return s.slice(0, cut);
}

/** Whitespace-insensitive form of an instruction's text, without llvm's branch annotation. */
function normalize(s: string): string {
  return s.replace(/\s+<[^<>]*>\s*$/, "").replace(/\s+/g, " ").trim();
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

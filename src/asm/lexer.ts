// The assembler's lexer: one source line as tokens, and the cursor the grammar reads them with
// (expect/peek, registers, range-checked numbers). Also where an AsmError gets its position.

import { BpfloadError, quote } from "../errors.ts";
import { ALU_BY_TEXT, JMP_BY_TEXT, MAX_REG } from "./table.ts";

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

// ---------------------------------------------------------------------------------------------
// Tokens

export const enum T {
  Ident,
  Num,
  Punct,
  LocalRef, // `1f` / `1b`
  Annot, // `<...>`
  End,
}

export interface Tok {
  t: T;
  s: string;
  /** 0-based column in the line. */
  col: number;
  /** Numeric value for Num (bigint so 64-bit constants survive). */
  v?: bigint;
}

/** The opcode table's operators and the syntax's own punctuation, longest first (`s>>=` before `s>`). */
const PUNCTS = [...new Set([...Object.keys(ALU_BY_TEXT), ...Object.keys(JMP_BY_TEXT), "*", "(", ")", "[", "]", ",", "+", "-", "&", "#"])].sort(
  (x, y) => y.length - x.length,
);

export class Line {
  toks: Tok[] = [];
  i = 0;
  constructor(
    readonly file: string,
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
    throw new AsmError(this.file, this.lineNo, col + 1, msg);
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
    if (n > MAX_REG) this.fail(t.col, `invalid register ${quote(t.s)} (r0-r10, r11 exist)`);
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

export function show(t: Tok): string {
  return t.t === T.End ? "end of line" : `${quote(t.s)}`;
}


export const S32_LO = -0x80000000n;
export const U32_HI = 0xffffffffn;
export const S16_LO = -0x8000n;
export const S16_HI = 0x7fffn;


/**
 * Drop `;`, `//` and `#` comments. A `#` right after a name is not a comment: the verifier writes
 * `call bpf_trace_printk#6`.
 */
export function stripComment(s: string): string {
  let cut = s.length;
  for (const m of [";", "//"]) {
    const i = s.indexOf(m);
    if (i >= 0 && i < cut) cut = i;
  }
  const h = /(^|\s)#/.exec(s);
  if (h && h.index + h[1]!.length < cut) cut = h.index + h[1]!.length;
  return s.slice(0, cut);
}


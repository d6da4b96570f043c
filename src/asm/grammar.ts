// The assembler's grammar: one instruction statement (after the listing columns, labels and
// directives are gone) to its encoding. Opcodes, operators, size names and atomic operations come
// from the opcode table; bytes, fixups and relocations go to the Emitter (the current section).

import { Line, S16_HI, S16_LO, S32_LO, show, T, U32_HI } from "./lexer.ts";
import type { Fixup } from "./labels.ts";
import { BPF_ABS, BPF_ALU, BPF_ALU64, BPF_ATOMIC, BPF_DW, BPF_IND, BPF_JMP, BPF_JMP32, BPF_LD, BPF_LDX, BPF_MEM, BPF_MEMSX, BPF_MOV, BPF_NEG, BPF_ST, BPF_STX, BPF_W, BPF_X } from "./opcodes.ts";
import {
  ALU_BY_TEXT,
  ATOMIC_BY_NAME,
  ATOMIC_BY_TEXT,
  ATOMIC_IMM,
  CALL_SRC,
  CODE,
  JMP_BY_TEXT,
  MNEMONIC as M,
  OFF_ADDR_SPACE_CAST,
  OFF_SIGNED,
  relocTypeFor,
  SIZE_BY_NAME,
  SSIZE_BY_NAME,
  SWAP_BITS,
} from "./table.ts";

/** Where the grammar puts what it assembles. */
export interface Emitter {
  /** Byte offset of the next instruction in the current section. */
  readonly pos: number;
  emit(code: number, dst: number, src: number, off: number, imm: number): void;
  emitLdImm64(dst: number, src: number, v: bigint): void;
  fixup(f: Fixup): void;
  relocate(r: { offset: number; symbol: string; type: number }): void;
}

// Opcode bytes without their size bits (`| size` completes them).
const STX_MEM = BPF_STX | BPF_MEM;
const ST_MEM = BPF_ST | BPF_MEM;
const LDX_MEM = BPF_LDX | BPF_MEM;
const LDX_MEMSX = BPF_LDX | BPF_MEMSX;
const LD_ABS = BPF_LD | BPF_ABS;
const LD_IND = BPF_LD | BPF_IND;
const STX_ATOMIC = BPF_STX | BPF_ATOMIC;

/** `le16`, `be32`, `bswap64`, ... */
const SWAP_RE = new RegExp(`^(${M.LE}|${M.BE}|${M.BSWAP})(${SWAP_BITS.join("|")})$`);
/** `atomic_fetch_add` (llvm), `atomic64_fetch_add` (verifier), ... */
const FETCH_RE = new RegExp(`^atomic(64)?_fetch_(${Object.keys(ATOMIC_BY_NAME).join("|")})$`);

export class Grammar {
  constructor(private readonly out: Emitter) {}

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
      this.out.fixup({ at, field, label: t.s, line, col: t.col });
      return 0;
    }
    return line.fail(t.col, `expected a jump target (+N, -N or a label), found ${show(t)}`);
  }

  instruction(line: Line, kernelCode: number | undefined): void {
    const at = this.out.pos;
    const t = line.peek();
    if (t.t === T.Ident) {
      switch (t.s) {
        case M.EXIT:
          line.next();
          line.end();
          return this.out.emit(CODE.EXIT, 0, 0, 0, 0);
        case M.JA: {
          line.next();
          const off = this.target(line, at, "off");
          line.end();
          return this.out.emit(CODE.JA, 0, 0, off, 0);
        }
        case M.GOTOL: {
          line.next();
          const imm = this.target(line, at, "imm");
          line.end();
          return this.out.emit(CODE.GOTOL, 0, 0, 0, imm);
        }
        case M.MAY_GOTO: {
          line.next();
          const off = this.target(line, at, "off");
          line.end();
          return this.out.emit(CODE.MAY_GOTO, 0, 0, off, 0);
        }
        case M.CALL:
          return this.call(line, at);
        case M.CALLX: {
          line.next();
          const [r] = line.reg("r");
          line.end();
          return this.out.emit(CODE.CALLX, 0, 0, 0, r);
        }
        case "if":
          return this.cond(line, at);
        case M.LOCK:
          return this.lock(line);
        case M.LD_PSEUDO: {
          line.next();
          const [dst] = line.reg("r");
          line.expectP(",");
          const src = Number(line.num(1n, 15n, "pseudo source"));
          line.expectP(",");
          const v = line.num(-(1n << 63n), (1n << 64n) - 1n, "immediate");
          line.end();
          return this.out.emitLdImm64(dst, src, v);
        }
        case M.STORE_REL: {
          line.next();
          line.expectP("(");
          const { size, base, off } = this.memRef(line, SIZE_BY_NAME, false);
          line.expectP(",");
          const [src, k] = line.reg();
          if (k !== (size === BPF_DW ? "r" : "w") && size === BPF_DW) line.fail(line.peek().col, "store_release of u64 takes an rN register");
          line.expectP(")");
          line.end();
          return this.out.emit(STX_ATOMIC | size, base, src, off, ATOMIC_IMM.STORE_REL);
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
      return this.out.emit(CODE.CALL, 0, CALL_SRC.PC, 0, imm);
    }
    if (t.t === T.Ident && t.s === "kfunc") {
      line.next();
      const imm = Number(line.num(S32_LO, U32_HI, "kfunc BTF id"));
      line.end();
      return this.out.emit(CODE.CALL, 0, CALL_SRC.KFUNC, 0, imm);
    }
    if (line.isNum()) {
      const imm = Number(line.num(S32_LO, U32_HI, "helper id"));
      line.end();
      return this.out.emit(CODE.CALL, 0, CALL_SRC.HELPER, 0, imm);
    }
    // Verifier spelling: `call bpf_map_lookup_elem#1`, `call unknown#99`, `call kernel-function#42`.
    const kfunc = t.t === T.Ident && t.s === "kernel" && line.isP("-", 1) && line.isId("function", 2) && line.isP("#", 3);
    if (kfunc || (t.t === T.Ident && line.isP("#", 1))) {
      line.i += kfunc ? 4 : 2;
      const imm = Number(line.num(S32_LO, U32_HI, "call id"));
      line.end();
      return this.out.emit(CODE.CALL, 0, kfunc ? CALL_SRC.KFUNC : CALL_SRC.HELPER, 0, imm);
    }
    if (t.t === T.Ident || t.t === T.LocalRef) {
      line.next();
      line.end();
      this.out.fixup({ at, field: "imm", label: t.s, line, col: t.col, call: true });
      return this.out.emit(CODE.CALL, 0, CALL_SRC.PC, 0, -1);
    }
    line.fail(t.col, `expected a helper id, pc+N or a function name, found ${show(t)}`);
  }

  cond(line: Line, at: number): void {
    line.next();
    const [dst, k] = line.reg();
    const opTok = line.next();
    const op = opTok.t === T.Punct ? JMP_BY_TEXT[opTok.s] : undefined;
    if (op === undefined) line.fail(opTok.col, `expected a comparison (==, !=, >, >=, <, <=, s>, s>=, s<, s<=, &), found ${show(opTok)}`);
    const cls = k === "w" ? BPF_JMP32 : BPF_JMP;
    let src = 0;
    let imm = 0;
    let x = 0;
    if (line.isReg()) {
      [src] = line.reg(k);
      x = BPF_X;
    } else {
      imm = Number(line.num(S32_LO, U32_HI, "immediate"));
    }
    line.expectId(M.JA);
    const off = this.target(line, at, "off");
    line.end();
    this.out.emit(cls | op | x, dst, src, off, imm);
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
    const { base, off } = this.baseOffset(line);
    line.expectP(")");
    return { size, base, off };
  }

  /** ` + 4` / ` - 4` / nothing. */
  offset(line: Line): number {
    if (line.isP("+") || line.isP("-")) return Number(line.num(S16_LO, S16_HI, "offset"));
    return 0;
  }

  store(line: Line): void {
    const { size, base, off } = this.memRef(line, SIZE_BY_NAME);
    line.expectP("=");
    if (line.isReg()) {
      const [src, k] = line.reg();
      if (k === "w" && size === BPF_DW) line.fail(line.toks[line.i - 1]!.col, "a u64 store takes an rN register");
      line.end();
      return this.out.emit(STX_MEM | size, base, src, off, 0);
    }
    const imm = Number(line.num(S32_LO, U32_HI, "immediate"));
    line.end();
    this.out.emit(ST_MEM | size, base, 0, off, imm);
  }

  lock(line: Line): void {
    line.next();
    const { size, base, off } = this.memRef(line, SIZE_BY_NAME);
    if (size !== BPF_W && size !== BPF_DW) line.fail(line.toks[2]!.col, "atomic operations are u32 or u64");
    const opTok = line.next();
    const op = opTok.t === T.Punct ? ATOMIC_BY_TEXT[opTok.s] : undefined;
    if (op === undefined) line.fail(opTok.col, `expected +=, |=, &= or ^=, found ${show(opTok)}`);
    const [src] = line.reg(size === BPF_DW ? "r" : undefined);
    line.end();
    this.out.emit(STX_ATOMIC | size, base, src, off, op);
  }

  /** Everything that starts with a register: ALU ops, moves, loads, ld_imm64, atomic fetch forms. */
  assign(line: Line, at: number, kernelCode: number | undefined): void {
    const [dst, k] = line.reg();
    const opTok = line.next();
    const cls = k === "w" ? BPF_ALU : BPF_ALU64;
    if (opTok.t !== T.Punct || ALU_BY_TEXT[opTok.s] === undefined) {
      line.fail(opTok.col, `expected an assignment operator (=, +=, -=, ...), found ${show(opTok)}`);
    }
    const signed = opTok.s === "s/=" || opTok.s === "s%=" ? OFF_SIGNED : 0;
    if (opTok.s !== "=") {
      const op = ALU_BY_TEXT[opTok.s]!;
      if (line.isReg()) {
        const [src] = line.reg(k);
        line.end();
        return this.out.emit(cls | op | BPF_X, dst, src, signed, 0);
      }
      const imm = Number(line.num(S32_LO, U32_HI, "immediate"));
      line.end();
      return this.out.emit(cls | op, dst, 0, signed, imm);
    }
    // `dst = ...`
    const t = line.peek();
    if (t.t === T.Punct && t.s === "-" && line.isReg(1)) {
      line.next();
      const [r] = line.reg(k);
      if (r !== dst) line.fail(line.toks[line.i - 1]!.col, "negation must use the destination register (rN = -rN)");
      line.end();
      return this.out.emit(cls | BPF_NEG, dst, 0, 0, 0);
    }
    if (t.t === T.Punct && t.s === "(" && line.peek(1).t === T.Ident && /^s(8|16|32)$/.test(line.peek(1).s)) {
      line.next();
      const bits = Number(line.next().s.slice(1));
      line.expectP(")");
      const [src] = line.reg(k);
      line.end();
      return this.out.emit(cls | BPF_MOV | BPF_X, dst, src, bits, 0);
    }
    if (t.t === T.Punct && t.s === "*") return this.load(line, dst, k);
    if (t.t === T.Ident) {
      const m = SWAP_RE.exec(t.s);
      if (m) {
        if (k !== "r") line.fail(t.col, "byte swaps take an rN register");
        line.next();
        const [r] = line.reg("r");
        if (r !== dst) line.fail(line.toks[line.i - 1]!.col, `${m[1]} must use the destination register (rN = ${m[1]}${m[2]} rN)`);
        line.end();
        const code = m[1] === M.BSWAP ? CODE.BSWAP : m[1] === M.BE ? CODE.BE : CODE.LE;
        return this.out.emit(code, dst, 0, 0, Number(m[2]));
      }
      const am = FETCH_RE.exec(t.s);
      if (am) return this.fetch(line, dst, k, ATOMIC_BY_NAME[am[2]!]! | ATOMIC_IMM.FETCH);
      if (t.s === M.XCHG64 || t.s === M.XCHG32) return this.xchg(line, dst, k, t.s === M.XCHG64);
      if (t.s === M.CMPXCHG64 || t.s === M.CMPXCHG32) return this.cmpxchg(line, dst, k, t.s === M.CMPXCHG64);
      if (/^atomic(64)?_(xchg|cmpxchg)$/.test(t.s)) return this.kernelXchg(line, dst, k, t.s);
      if (t.s === M.LOAD_ACQ) {
        line.next();
        line.expectP("(");
        const { size, base, off } = this.memRef(line, SIZE_BY_NAME, false);
        line.expectP(")");
        line.end();
        return this.out.emit(STX_ATOMIC | size, dst, base, off, ATOMIC_IMM.LOAD_ACQ);
      }
      if (t.s === M.ADDR_SPACE_CAST) {
        line.next();
        line.expectP("(");
        const [src] = line.reg("r");
        line.expectP(",");
        const a = Number(line.num(0n, 0xffffn, "address space"));
        line.expectP(",");
        const b = Number(line.num(0n, 0xffffn, "address space"));
        line.expectP(")");
        line.end();
        return this.out.emit(CODE.MOV64_X, dst, src, OFF_ADDR_SPACE_CAST, (a << 16) | b);
      }
      if (!line.isReg() && line.peek(1).t === T.Ident && line.peek(1).s === "ll") {
        // `r1 = my_map ll`: relocation against a symbol.
        if (k !== "r") line.fail(t.col, "ld_imm64 takes an rN register");
        line.next();
        line.next();
        line.end();
        this.out.relocate({ offset: at, symbol: t.s, type: relocTypeFor(CODE.LD_IMM64) });
        return this.out.emitLdImm64(dst, 0, 0n);
      }
    }
    if (line.isReg()) {
      const [src] = line.reg(k);
      line.end();
      return this.out.emit(cls | BPF_MOV | BPF_X, dst, src, 0, 0);
    }
    if (line.isNum()) {
      const numTok = line.peek();
      const v = line.num(-(1n << 63n), (1n << 64n) - 1n, "immediate");
      if (line.isId("ll") || kernelCode === CODE.LD_IMM64) {
        if (line.isId("ll")) line.next();
        if (k !== "r") line.fail(t.col, "ld_imm64 takes an rN register");
        line.end();
        return this.out.emitLdImm64(dst, 0, v);
      }
      if (v < S32_LO || v > U32_HI) line.fail(numTok.col, `immediate ${v} does not fit in 32 bits (write '${v} ll' for a 64-bit constant)`);
      line.end();
      return this.out.emit(cls | BPF_MOV, dst, 0, 0, Number(v));
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
    if (ty.t === T.Ident && SSIZE_BY_NAME[ty.s] !== undefined) {
      const { size, base, off } = this.memRef(line, SSIZE_BY_NAME);
      line.end();
      return this.out.emit(LDX_MEMSX | size, dst, base, off, 0);
    }
    if (line.peek(5).t === T.Ident && line.peek(5).s === "skb") {
      line.next();
      line.next();
      const st = line.next();
      const size = st.t === T.Ident ? SIZE_BY_NAME[st.s] : undefined;
      if (size === undefined || size === BPF_DW) line.fail(st.col, `expected u8, u16 or u32, found ${show(st)}`);
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
        return this.out.emit(LD_IND | size, 0, src, 0, imm);
      }
      const imm = Number(line.num(S32_LO, U32_HI, "offset"));
      line.expectP("]");
      line.end();
      return this.out.emit(LD_ABS | size, 0, 0, 0, imm);
    }
    const { size, base, off } = this.memRef(line, SIZE_BY_NAME);
    if (k === "w" && size === BPF_DW) line.fail(line.toks[0]!.col, "a u64 load takes an rN register");
    line.end();
    this.out.emit(LDX_MEM | size, dst, base, off, 0);
  }

  /** `(rB +off` (the closing parenthesis or the next operand is the caller's). */
  baseOffset(line: Line): { base: number; off: number } {
    line.expectP("(");
    const [base] = line.reg("r");
    return { base: base!, off: this.offset(line) };
  }

  /** `((u32 *)(rB +off)` or `((u64 *)(rB +off)`: the memory operand of the atomic call spellings. */
  atomicOperand(line: Line): { size: number; base: number; off: number } {
    line.expectP("(");
    line.expectP("(");
    const ty = line.next();
    const size = ty.t === T.Ident ? SIZE_BY_NAME[ty.s] : undefined;
    if (size !== BPF_W && size !== BPF_DW) line.fail(ty.col, `expected u32 or u64, found ${show(ty)}`);
    line.expectP("*");
    line.expectP(")");
    const { base, off } = this.baseOffset(line);
    line.expectP(")");
    return { size: size!, base, off };
  }

  fetch(line: Line, dst: number, k: "r" | "w", imm: number): void {
    line.next();
    const { size, base, off } = this.atomicOperand(line);
    line.expectP(",");
    const [src] = line.reg(k);
    if (src !== dst) line.fail(line.toks[line.i - 1]!.col, "the fetched value goes to the source register (rS = atomic_fetch_op(..., rS))");
    line.expectP(")");
    line.end();
    this.out.emit(STX_ATOMIC | size, base, src, off, imm);
  }

  xchg(line: Line, dst: number, k: "r" | "w", dw: boolean): void {
    line.next();
    const { base, off } = this.baseOffset(line);
    line.expectP(",");
    const [src] = line.reg(dw ? "r" : "w");
    if (src !== dst || k !== (dw ? "r" : "w")) line.fail(line.toks[line.i - 1]!.col, "xchg returns into its source register");
    line.expectP(")");
    line.end();
    this.out.emit(STX_ATOMIC | (dw ? BPF_DW : BPF_W), base, src, off, ATOMIC_IMM.XCHG);
  }

  cmpxchg(line: Line, dst: number, k: "r" | "w", dw: boolean): void {
    line.next();
    const { base, off } = this.baseOffset(line);
    line.expectP(",");
    const [r0] = line.reg(dw ? "r" : "w");
    line.expectP(",");
    const [src] = line.reg(dw ? "r" : "w");
    if (dst !== 0 || r0 !== 0 || k !== (dw ? "r" : "w")) line.fail(line.toks[0]!.col, "cmpxchg compares with and returns into r0");
    line.expectP(")");
    line.end();
    this.out.emit(STX_ATOMIC | (dw ? BPF_DW : BPF_W), base, src, off, ATOMIC_IMM.CMPXCHG);
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
    this.out.emit(STX_ATOMIC | size, base, src, off, cmp ? ATOMIC_IMM.CMPXCHG : ATOMIC_IMM.XCHG);
  }
}

// Properties of the instruction codec, the disassembler and the assembler.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { assemble, AsmError, decode, DecodeError, disassemble, encode, formatInstruction, llvmInsnSize, type DisasmOptions } from "../../src/asm/index.ts";
import { bytesToAsm, insnLines, objdumpOf } from "../asm/llvm.ts";
import { nearValidInsn, randomInsn } from "../asm/random.ts";
import { hexOf, type Property, quote, type Rng, shrinkBytes, shrinkString, shrinkUnits, Violation } from "./lib.ts";

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const fromRng = (r: Rng) => () => r.float();

const LAYOUTS: DisasmOptions[] = [{}, { modern: true }, { alu32: true }, { zeroes: true }, { rawBytes: false, index: false }, { syntax: "kernel" }];

/** Random bytes, mostly 8·n, with opcode bytes biased toward real opcodes so deeper paths run. */
function noise(r: Rng, slots: number, aligned = true): Uint8Array {
  const b = r.bytes(slots * 8 + (aligned ? 0 : r.range(1, 7)));
  for (let i = 0; i + 8 <= b.length; i += 8) {
    if (r.bool(0.5)) b[i] = randomInsn(fromRng(r))[0]!;
    if (r.bool(0.2)) b.fill(0, i + 1, i + 8);
  }
  return b;
}

export const decoderNoise: Property<Uint8Array> = {
  name: "decoder and disassembler: any bytes decode (or DecodeError) and print in every layout without throwing",
  kind: "instruction bytes (random)",
  gen: (r) => noise(r, r.range(0, 40), r.bool(0.85)),
  check(b) {
    let outcome = "decoded";
    try {
      const insns = decode(b);
      const back = encode(insns);
      if (hex(back) !== hex(b)) throw new Violation(`encode(decode(x)) !== x: ${hex(back)}`);
    } catch (e) {
      if (!(e instanceof DecodeError)) throw e;
      const truncatedLd = b.length % 8 === 0;
      if (b.length % 8 !== 0 ? !/not a multiple of 8/.test(e.message) : !/truncated ld_imm64/.test(e.message)) throw new Violation(`unexpected DecodeError: ${e.message}`);
      outcome = truncatedLd ? "truncated ld_imm64" : "odd length";
    }
    for (const opts of LAYOUTS) {
      const text = disassemble(b, opts);
      if (typeof text !== "string" || (b.length > 0 && text.length === 0)) throw new Violation(`empty disassembly with ${JSON.stringify(opts)}`);
    }
    for (let pos = 0; pos + 8 <= b.length; pos += 8) {
      formatInstruction(b.subarray(pos), {});
      formatInstruction(b.subarray(pos), { syntax: "kernel" });
      const n = llvmInsnSize(b, pos);
      if (![1, 8, 16].includes(n)) throw new Violation(`llvmInsnSize ${n} at ${pos}`);
    }
    return outcome;
  },
  shrink: (b) => shrinkBytes(b),
  show: (b) => hexOf(b),
};

/** What the disassembler prints, assembled back, gives the same bytes. */
function roundTrip(b: Uint8Array, opts: DisasmOptions): void {
  const text = disassemble(b, opts);
  let back: Uint8Array;
  try {
    back = assemble(text);
  } catch (e) {
    throw new Violation(`asm(disasm(x, ${JSON.stringify(opts)})) threw ${(e as Error).message}`);
  }
  if (hex(back) !== hex(b)) {
    const i = [...back].findIndex((v, k) => v !== b[k]);
    const at = Math.max(0, i) & ~7;
    throw new Violation(`asm(disasm(x, ${JSON.stringify(opts)})) differs at byte ${i}: ${hex(b.subarray(at, at + 16))} printed as ${JSON.stringify(disassemble(b.subarray(at, at + 16), opts))}`);
  }
}

function canonicalStream(r: Rng, n: number): Uint8Array {
  const out: number[] = [];
  const f = fromRng(r);
  for (let i = 0; i < n; i++) out.push(...randomInsn(f));
  return new Uint8Array(out);
}

/** Shrinks an instruction stream by whole instructions (ld_imm64 counts as two slots, so shrink by slots and keep 8·n). */
function shrinkSlots(b: Uint8Array): Iterable<Uint8Array> {
  return shrinkUnits(b, 8);
}

/**
 * The verifier's spelling of ld_imm64 is `rD = 0xVALUE` whatever its src_reg (the kernel shows map
 * references only after it resolved them), so that one field cannot survive kernel syntax: clear it.
 */
function kernelSpellable(b: Uint8Array): Uint8Array {
  const c = b.slice();
  for (let i = 0; i + 16 <= c.length; i += 8) {
    if (c[i] === 0x18) {
      c[i + 1] = c[i + 1]! & 0x0f;
      i += 8;
    }
  }
  return c;
}

export const roundTripCanonical: Property<Uint8Array> = {
  name: "asm(disasm(x)) === x for canonical instruction streams (raw-bytes llvm, alu32, text-only modern llvm)",
  kind: "instruction streams (canonical, round trip)",
  gen: (r) => canonicalStream(r, r.range(1, 30)),
  check(b) {
    roundTrip(b, {});
    roundTrip(b, { alu32: true });
    roundTrip(b, { modern: true, rawBytes: false, index: false });
    return "round trip";
  },
  shrink: shrinkSlots,
  show: (b) => hexOf(b),
};

/** The verifier's spelling: `skb[rS + -N]` (ld_ind with a negative imm) included. */
export const kernelRoundTrip: Property<Uint8Array> = {
  name: "asm(disasm(x, kernel syntax)) === x for canonical instruction streams",
  kind: "instruction streams (canonical, kernel-syntax round trip)",
  gen: (r) => kernelSpellable(canonicalStream(r, r.range(1, 30))),
  check(b) {
    roundTrip(b, { syntax: "kernel" });
    return "round trip";
  },
  shrink: shrinkSlots,
  show: (b) => hexOf(b),
};

export const roundTripNoise: Property<Uint8Array> = {
  name: "asm(disasm(x)) === x for any 8·n bytes when the raw-bytes column is printed",
  kind: "instruction bytes (random, round trip)",
  gen: (r) => {
    const b = noise(r, r.range(1, 30));
    // llvm-objdump 14's own segfault input is irrelevant here, but a trailing partial ld_imm64 is not 8·n-decodable by llvm either
    return b;
  },
  check(b) {
    roundTrip(b, {});
    roundTrip(b, { alu32: true });
    return "round trip";
  },
  shrink: shrinkSlots,
  show: (b) => hexOf(b),
};

/** Live oracle: llvm-objdump 14 prints the same lines as our disassembler for canonical and near-valid streams. */
export const liveObjdump: Property<Uint8Array> = {
  name: "disassembly === live llvm-objdump -d (LLVM 14) on canonical and near-valid instruction streams",
  kind: "instruction streams (vs live llvm-objdump)",
  gen(r) {
    const f = fromRng(r);
    const out: number[] = [];
    for (let i = 0, n = r.range(50, 300); i < n; i++) out.push(...(r.bool(0.5) ? randomInsn(f) : nearValidInsn(f)));
    // llvm-objdump 14 segfaults on `18 20 00 00 00 00 00 00` wherever it decodes a slot: never feed it that
    for (let i = 0; i + 8 <= out.length; i += 8) if (out[i] === 0x18 && out[i + 1] === 0x20 && !out[i + 4] && !out[i + 5] && !out[i + 6] && !out[i + 7]) out[i + 4] = 1;
    return new Uint8Array(out);
  },
  check(b) {
    for (const alu32 of [false, true]) {
      const { text } = objdumpOf(bytesToAsm([{ name: ".text", bytes: b, labels: [{ name: "prog", offset: 0 }] }]), alu32 ? ["-d", "--mattr=+alu32"] : ["-d"]);
      const want = insnLines(text);
      const got = insnLines(disassemble(b, { symbols: [{ name: "prog", offset: 0 }], alu32 }));
      const bad = want.findIndex((l, i) => l !== got[i]);
      if (bad >= 0 || want.length !== got.length) {
        const k = bad >= 0 ? bad : Math.min(want.length, got.length);
        throw new Violation(`alu32=${alu32} line ${k}: ours ${JSON.stringify(got[k])}, llvm-objdump ${JSON.stringify(want[k])}`);
      }
    }
    return "identical";
  },
  shrink: shrinkSlots,
  show: (b) => hexOf(b),
};

// ------------------------------------------------------------------ assembler

const FIXTURE_DIR = join(import.meta.dir, "..", "asm", "fixtures");
let sourceLines: string[] | undefined;
function fixtureLines(): string[] {
  sourceLines ??= ["isa.s", "odd.s", "encodings.s"].flatMap((f) => readFileSync(join(FIXTURE_DIR, f), "utf8").split("\n"));
  return sourceLines;
}

const WORDS = [
  "r0", "r1", "r10", "r11", "w3", "w15", "=", "+=", "-=", "s>>=", "s/=", "==", "!=", "s<", "&", "*", "(", ")", "[", "]", ",",
  "+", "-", "u8", "u16", "u32", "u64", "s8", "s32", "ll", "goto", "gotol", "if", "call", "callx", "exit", "lock", "bswap16",
  "be32", "le64", "skb", "may_goto", "0", "1", "-1", "0x7fffffff", "0x80000000", "0xffffffffffffffff", "18446744073709551616",
  "99999999999999999999999", "1f", "1b", "label:", "1:", "<prog+0x8>", ".section", ".text", ".byte", ".short", ".long",
  ".quad", "SEC(\"xdp\")", "Disassembly", "of", "section", "0000000000000000", "<prog>:", "...", ";", "#", "//", "\t",
  "  ", "\n", "R_BPF_64_64", "map", "0:", "(b7)", "pc+2", "bpf_trace_printk", "atomic_fetch_add", "cmpxchg_64", "\"", "'",
  "\\", "\u0000", "\u0007", "\u001b[31m", "\r", "\u2028", "é", "🙂",
];

/** A random bare token: long identifiers and numbers too, so messages must stay bounded. */
function token(r: Rng): string {
  switch (r.int(8)) {
    case 0: return "x".repeat(r.pick([1, 50, 400, 5000]));
    case 1: return String(r.edgy(64)) + (r.bool(0.2) ? "0".repeat(r.int(40)) : "");
    case 2: return String.fromCharCode(r.int(0x80));
    default: return r.pick(WORDS);
  }
}

export function tokenSoup(r: Rng): string {
  const lines: string[] = [];
  for (let l = 0, n = r.range(1, 6); l < n; l++) {
    const toks: string[] = [];
    for (let i = 0, k = r.range(0, 9); i < k; i++) toks.push(token(r));
    lines.push(toks.join(r.bool(0.8) ? " " : ""));
  }
  return lines.join("\n");
}

export function mutatedSource(r: Rng): string {
  const all = fixtureLines();
  const start = r.int(all.length);
  const lines = all.slice(start, start + r.range(1, 12));
  for (let k = 0, n = r.range(1, 4); k < n; k++) {
    const i = r.int(lines.length);
    const line = lines[i] ?? "";
    const p = r.int(line.length + 1);
    switch (r.int(6)) {
      case 0: lines[i] = line.slice(0, p) + line.slice(p + r.range(1, 4)); break; // delete characters
      case 1: lines[i] = line.slice(0, p) + token(r) + line.slice(p); break; // insert a token
      case 2: lines[i] = line.split(/\s+/).reverse().join(" "); break; // reorder tokens
      case 3: lines.splice(i, 0, line); break; // duplicate (labels twice)
      case 4: lines[i] = line.replace(/-?\d+/, String(r.edgy(64))); break; // smash a number
      default: lines[i] = line.replace(/r\d+|w\d+/, r.pick(["r11", "r16", "w99", "rr1", "r"])); break;
    }
  }
  return lines.join("\n");
}

/** bytes, or an AsmError; anything else (a RangeError, a TypeError) fails. */
function asmOutcome(src: string): { outcome: string; error?: AsmError } {
  try {
    const b = assemble(src, "prop.s");
    disassemble(b); // whatever it assembled prints
    return { outcome: "assembled" };
  } catch (e) {
    if (e instanceof AsmError) {
      if (e.exitCode !== 2 || !e.message.startsWith("prop.s:")) throw new Violation(`AsmError without file:line: ${e.message.slice(0, 200)}`);
      return { outcome: "rejected", error: e };
    }
    throw e;
  }
}

export const asmSoup: Property<string> = {
  name: "assembler: token soup assembles or gives an AsmError",
  kind: "assembler sources (token soup)",
  gen: tokenSoup,
  check: (s) => asmOutcome(s).outcome,
  shrink: shrinkString,
  show: (s) => quote(s),
};

export const asmMutated: Property<string> = {
  name: "assembler: mutated fixture sources assemble or give an AsmError",
  kind: "assembler sources (mutated fixtures)",
  gen: mutatedSource,
  check: (s) => asmOutcome(s).outcome,
  shrink: shrinkString,
  show: asmSoup.show,
};

/** The one-line rule for messages: no control characters (a terminal escape, a newline) and bounded length. */
export function badMessage(message: string): string | undefined {
  if (/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/.test(message)) return `message contains a control character: ${JSON.stringify(message.slice(0, 300))}`;
  if (message.length >= 300) return `message is ${message.length} characters long (limit 300): ${JSON.stringify(message.slice(0, 200))}...`;
  return undefined;
}

export const asmMessages: Property<string> = {
  name: "assembler: error messages are one line, without control characters, under 300 characters",
  kind: "assembler sources (message shape)",
  gen: (r) => (r.bool(0.5) ? tokenSoup(r) : mutatedSource(r)),
  check(s) {
    const { outcome, error } = asmOutcome(s);
    if (error) {
      const bad = badMessage(error.message);
      if (bad) throw new Violation(bad);
    }
    return outcome;
  },
  shrink: shrinkString,
  show: asmSoup.show,
};

export const ASM_PROPERTIES = [decoderNoise, roundTripCanonical, kernelRoundTrip, roundTripNoise, asmSoup, asmMutated, asmMessages] as const;

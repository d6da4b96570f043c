// The kernel dialect: one instruction as the verifier log and `bpftool prog dump xlated` print it
// (`(b7) r1 = 10`, `goto pc+2`, `call bpf_map_lookup_elem#1`), for every opcode byte: what the kernel
// does not know prints as its `BUG_...` line.

import { helperNames } from "../uapi.ts";
import { HEX2 } from "./llvm-dialect.ts";
import { BPF_CALL, BPF_END, BPF_EXIT, BPF_JA, BPF_NEG } from "./opcodes.ts";
import { ALU_TEXT, ATOMIC_IMM, ATOMIC_NAME, CALL_SRC, CODE, JMP_TEXT, OFF_ADDR_SPACE_CAST, SIZE_NAMES, SSIZE_NAMES } from "./table.ts";

// The kernel's names (kernel/bpf/disasm.c): the same operators, its own words where there is none.
const KSZ = SIZE_NAMES;
const KSSZ = [...SSIZE_NAMES.slice(0, 3), SIZE_NAMES[3]!];
const KALU_WORDS: Record<number, string> = { [BPF_NEG >> 4]: "neg", [BPF_END >> 4]: "endian" };
const KJMP_WORDS: Record<number, string> = { [BPF_JA >> 4]: "jmp", [BPF_CALL >> 4]: "call", [BPF_EXIT >> 4]: "exit" };
const KALU = ALU_TEXT.map((t, i) => t || KALU_WORDS[i] || "(null)");
const KJMP = JMP_TEXT.map((t, i) => t || KJMP_WORDS[i] || "(null)");
const pm = (n: number): string => (n < 0 ? `${n}` : `+${n}`);

function helperName(id: number): string | undefined {
  const names = helperNames();
  const h = id >= 0 && id < names.length ? names[id] : undefined;
  return h === undefined ? undefined : `bpf_${h}`;
}

/**
 * Format the instruction at `p` the way the kernel's verifier log does (without the `N: ` index).
 * `avail` bytes are readable; an ld_imm64 needs 16.
 */
export function kernelInsn(b: Uint8Array, p: number, avail: number): string {
  const code = b[p]!;
  if (avail < 8) return `(${HEX2[code]}) <truncated>`;
  const regs = b[p + 1]!;
  const dst = regs & 15;
  const src = regs >> 4;
  const off = ((b[p + 2]! | (b[p + 3]! << 8)) << 16) >> 16;
  const imm = b[p + 4]! | (b[p + 5]! << 8) | (b[p + 6]! << 16) | (b[p + 7]! << 24);
  const cls = code & 7;
  const op = code >> 4;
  const c = `(${HEX2[code]})`;
  const sz = (code >> 3) & 3;
  const mode = code & 0xe0;
  if (cls === 4 || cls === 7) {
    const r = cls === 4 ? "w" : "r";
    if (op === 0xd) {
      return cls === 7 ? `${c} r${dst} = bswap${imm} r${dst}` : `${c} r${dst} = ${code & 8 ? "be" : "le"}${imm} r${dst}`;
    }
    if (op === 0x8) return `${c} ${r}${dst} = -${r}${dst}`;
    if (code === CODE.MOV64_X && off === OFF_ADDR_SPACE_CAST) return `${c} r${dst} = addr_space_cast(r${src}, ${(imm >>> 16) & 0xffff}, ${imm & 0xffff})`;
    if (code === CODE.MOV64_X && off === -1) return `${c} r${dst} = &(void __percpu *)(r${src})`;
    const opText = (op === 3 || op === 9) && off === 1 ? `s${KALU[op]}` : KALU[op];
    if (code & 8) {
      const sx = op === 0xb && (off === 8 || off === 16 || off === 32) ? `(s${off})` : "";
      return `${c} ${r}${dst} ${opText} ${sx}${r}${src}`;
    }
    return `${c} ${r}${dst} ${opText} ${imm}`;
  }
  if (cls === 3) {
    if (mode === 0x60) return `${c} *(${KSZ[sz]} *)(r${dst} ${pm(off)}) = r${src}`;
    if (mode === 0xc0) {
      const a64 = sz === 3 ? "64" : "";
      const name = ATOMIC_NAME[imm & 0xf0];
      if (name !== undefined && (imm & ~0xf0) === 0) return `${c} lock *(${KSZ[sz]} *)(r${dst} ${pm(off)}) ${KALU[imm >> 4]} r${src}`;
      if (name !== undefined && (imm & ~0xf0) === ATOMIC_IMM.FETCH) {
        return `${c} r${src} = atomic${a64}_fetch_${name}((${KSZ[sz]} *)(r${dst} ${pm(off)}), r${src})`;
      }
      if (imm === ATOMIC_IMM.CMPXCHG) return `${c} r0 = atomic${a64}_cmpxchg((${KSZ[sz]} *)(r${dst} ${pm(off)}), r0, r${src})`;
      if (imm === ATOMIC_IMM.XCHG) return `${c} r${src} = atomic${a64}_xchg((${KSZ[sz]} *)(r${dst} ${pm(off)}), r${src})`;
      if (imm === ATOMIC_IMM.LOAD_ACQ) return `${c} r${dst} = load_acquire((${KSZ[sz]} *)(r${src} ${pm(off)}))`;
      if (imm === ATOMIC_IMM.STORE_REL) return `${c} store_release((${KSZ[sz]} *)(r${dst} ${pm(off)}), r${src})`;
    }
    return `BUG_${HEX2[code]}`;
  }
  if (cls === 2) {
    if (mode === 0x60) return `${c} *(${KSZ[sz]} *)(r${dst} ${pm(off)}) = ${imm}`;
    if (mode === 0xc0) return `${c} nospec`;
    return `BUG_st_${HEX2[code]}`;
  }
  if (cls === 1) {
    if (mode !== 0x60 && mode !== 0x80) return `BUG_ldx_${HEX2[code]}`;
    return `${c} r${dst} = *(${(mode === 0x60 ? KSZ : KSSZ)[sz]} *)(r${src} ${pm(off)})`;
  }
  if (cls === 0) {
    if (mode === 0x20) return `${c} r0 = *(${KSZ[sz]} *)skb[${imm}]`;
    if (mode === 0x40) return `${c} r0 = *(${KSZ[sz]} *)skb[r${src} + ${imm}]`;
    if (code === CODE.LD_IMM64) {
      if (avail < 16) return `${c} <truncated ld_imm64>`;
      const lo = imm >>> 0;
      const hi = (b[p + 12]! | (b[p + 13]! << 8) | (b[p + 14]! << 16) | (b[p + 15]! << 24)) >>> 0;
      const v = hi < 0x200000 ? (hi * 0x100000000 + lo).toString(16) : ((BigInt(hi) << 32n) | BigInt(lo)).toString(16);
      return `${c} r${dst} = 0x${v}`;
    }
    return `BUG_ld_${HEX2[code]}`;
  }
  // JMP / JMP32
  const j32 = cls === 6;
  if (op === 0x8) {
    if (src === CALL_SRC.PC) return `${c} call pc${pm(imm)}`;
    const name = src === CALL_SRC.HELPER ? helperName(imm) : undefined;
    return `${c} call ${name ?? (src === CALL_SRC.KFUNC ? "kernel-function" : "unknown")}#${imm}`;
  }
  if (code === CODE.JA) return `${c} goto pc${pm(off)}`;
  if (code === 0x0d) return `${c} gotox r${dst}`;
  if (code === CODE.MAY_GOTO && src === 0) return `${c} may_goto pc${pm(off)}`;
  if (code === CODE.GOTOL) return `${c} gotol pc${pm(imm)}`;
  if (code === CODE.EXIT) return `${c} exit`;
  const r = j32 ? "w" : "r";
  if (code & 8) return `${c} if ${r}${dst} ${KJMP[op]} ${r}${src} goto pc${pm(off)}`;
  return `${c} if ${r}${dst} ${KJMP[op]} 0x${(imm >>> 0).toString(16)} goto pc${pm(off)}`;
}

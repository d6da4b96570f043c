// linkProgram(): the final instructions of one program, with map fds, global-data references and
// BPF-to-BPF callees filled in (what libbpf does in bpf_object__relocate). Pure.

import { ObjectError, quote } from "../errors.ts";
import { BPF_PSEUDO_MAP_FD, BPF_PSEUDO_MAP_VALUE } from "../uapi.ts";
import type { ExternPatch } from "./externs.ts";
import { functionAt } from "./reader.ts";
import type { CodeTarget, FunctionSpec, ObjectSpec, ProgramSpec } from "./types.ts";

const INSN = 8;
const BPF_LD_IMM64 = 0x18;
const BPF_CALL = 0x85;
const BPF_PSEUDO_CALL = 1;
const BPF_PSEUDO_BTF_ID = 3;
const BPF_PSEUDO_KFUNC_CALL = 2;
/** ld_imm64 src_reg of a function address (callback), 5.13+. */
export const BPF_PSEUDO_FUNC = 4;

export interface LinkResolver {
  /** File descriptor of the created map with this MapSpec name (throws if it could not be created). */
  mapFd(name: string): number;
  /** What an extern (ObjectSpec.externs) reference becomes; `call`: on a call instruction (a kfunc call). */
  extern?(name: string, call: boolean): ExternPatch;
}

/** Where each function ended up in a linked program (for disassembly and verifier-log mapping). */
export interface LinkedPiece {
  fn: FunctionSpec;
  /** First instruction slot of the function in the linked program. */
  start: number;
}

/**
 * Returns the program's instructions ready for BPF_PROG_LOAD:
 * - ld_imm64 of a map: src_reg = BPF_PSEUDO_MAP_FD, imm = fd;
 * - ld_imm64 into .data/.rodata/.bss: src_reg = BPF_PSEUDO_MAP_VALUE, imm = fd, second imm = offset;
 * - calls into other functions (relocated, or pc-relative to another function of the same
 *   section): each callee is appended once, after the program, and the call's imm made relative to it;
 * - ld_imm64 of a function address: src_reg = BPF_PSEUDO_FUNC, imm relative like a call.
 * The ObjectSpec is not modified.
 */
export function linkProgram(obj: ObjectSpec, prog: ProgramSpec, resolve: LinkResolver): Uint8Array {
  return linkProgramPieces(obj, prog, resolve).insns;
}

/** linkProgram() that also says where each appended function starts. */
export function linkProgramPieces(obj: ObjectSpec, prog: ProgramSpec, resolve: LinkResolver): { insns: Uint8Array; pieces: LinkedPiece[] } {
  const bySection = new Map<number, FunctionSpec[]>();
  for (const f of obj.functions) {
    let l = bySection.get(f.sectionIndex);
    if (!l) bySection.set(f.sectionIndex, (l = []));
    l.push(f);
  }
  for (const l of bySection.values()) l.sort((a, b) => a.sectionOffset - b.sectionOffset);

  const key = (f: FunctionSpec) => `${f.sectionIndex}:${f.sectionOffset}`;
  const pieces: LinkedPiece[] = [{ fn: prog, start: 0 }];
  const placed = new Map<string, number>([[key(prog), 0]]);
  let total = prog.insns.length / INSN;
  const place = (f: FunctionSpec): number => {
    const k = key(f);
    let start = placed.get(k);
    if (start === undefined) {
      start = total;
      placed.set(k, start);
      pieces.push({ fn: f, start });
      total += f.insns.length / INSN;
    }
    return start;
  };
  const fail = (f: FunctionSpec, j: number, problem: string): never => {
    throw new ObjectError(obj.file, `link program ${quote(prog.name)}: ${problem}`, { section: f.section, offset: f.fileOffset + j * INSN });
  };
  /** Slot in the linked program of a section-relative code target (appending its function if needed). */
  const resolveTarget = (f: FunctionSpec, j: number, t: CodeTarget, what: string): number => {
    const callee = functionAt(bySection.get(t.sectionIndex) ?? [], t.insnIndex);
    if (!callee) fail(f, j, `${what} instruction ${t.insnIndex} of section ${t.sectionIndex}, which is not inside any function`);
    return place(callee!) + (t.insnIndex - callee!.sectionOffset / INSN);
  };

  const chunks: Uint8Array[] = [];
  for (let p = 0; p < pieces.length; p++) {
    const { fn, start } = pieces[p]!;
    const insns = fn.insns.slice();
    const view = new DataView(insns.buffer, insns.byteOffset, insns.byteLength);
    const n = insns.length / INSN;
    const rels = new Map(fn.relocations.map((r) => [r.insnIndex, r]));
    for (let j = 0; j < n; j++) {
      const pos = j * INSN;
      const code = insns[pos]!;
      const rel = rels.get(j);
      if (rel) {
        switch (rel.kind) {
          case "map":
          case "data": {
            if (code !== BPF_LD_IMM64 || j + 1 >= n) fail(fn, j, `relocation to ${quote(rel.symbol)} is not on an ld_imm64 instruction`);
            const fd = resolve.mapFd(rel.map!);
            insns[pos + 1] = (insns[pos + 1]! & 0x0f) | ((rel.kind === "map" ? BPF_PSEUDO_MAP_FD : BPF_PSEUDO_MAP_VALUE) << 4);
            view.setInt32(pos + 4, fd, true);
            view.setUint32(pos + INSN + 4, rel.kind === "data" ? rel.offset! : 0, true);
            break;
          }
          case "call": {
            if (code !== BPF_CALL) fail(fn, j, `call relocation to ${quote(rel.symbol)} is not on a call instruction`);
            const slot = resolveTarget(fn, j, rel.target!, `call to ${quote(rel.symbol)}:`);
            view.setInt32(pos + 4, slot - (start + j + 1), true);
            break;
          }
          case "extern": {
            if (!resolve.extern) fail(fn, j, `${quote(rel.symbol)} is an extern, which this loader does not resolve`);
            const patch = resolve.extern!(rel.symbol, !!rel.call);
            if (rel.call) {
              if (code !== BPF_CALL) fail(fn, j, `kfunc relocation to ${quote(rel.symbol)} is not on a call instruction`);
              if (patch.kind === "kfunc") {
                insns[pos + 1] = (insns[pos + 1]! & 0x0f) | (BPF_PSEUDO_KFUNC_CALL << 4);
                view.setInt16(pos + 2, patch.fdIndex, true);
                view.setInt32(pos + 4, patch.btfId, true);
              } else if (patch.kind === "poison-call") {
                // libbpf's poison: a plain helper call of an id no kernel has; only dead code may hold it
                insns[pos + 1] = 0;
                view.setInt16(pos + 2, 0, true);
                view.setInt32(pos + 4, patch.imm, true);
              } else fail(fn, j, `kfunc ${quote(rel.symbol)} resolved to a ${patch.kind}`);
              break;
            }
            if (code !== BPF_LD_IMM64 || j + 1 >= n) fail(fn, j, `relocation to ${quote(rel.symbol)} is not on an ld_imm64 instruction`);
            if (patch.kind === "map-value") {
              insns[pos + 1] = (insns[pos + 1]! & 0x0f) | (BPF_PSEUDO_MAP_VALUE << 4);
              view.setInt32(pos + 4, patch.fd, true);
              view.setUint32(pos + INSN + 4, patch.offset, true);
            } else if (patch.kind === "btf-id") {
              insns[pos + 1] = (insns[pos + 1]! & 0x0f) | (BPF_PSEUDO_BTF_ID << 4);
              view.setInt32(pos + 4, patch.btfId, true);
              view.setInt32(pos + INSN + 4, patch.btfObjFd, true);
            } else if (patch.kind === "imm64") {
              insns[pos + 1] = insns[pos + 1]! & 0x0f;
              view.setUint32(pos + 4, Number(BigInt.asUintN(32, patch.value)), true);
              view.setUint32(pos + INSN + 4, Number(BigInt.asUintN(32, patch.value >> 32n)), true);
            } else fail(fn, j, `extern ${quote(rel.symbol)} resolved to a ${patch.kind} on an ld_imm64`);
            break;
          }
          case "func": {
            if (code !== BPF_LD_IMM64 || j + 1 >= n) fail(fn, j, `function reference ${quote(rel.symbol)} is not on an ld_imm64 instruction`);
            const slot = resolveTarget(fn, j, rel.target!, `reference to ${quote(rel.symbol)}:`);
            insns[pos + 1] = (insns[pos + 1]! & 0x0f) | (BPF_PSEUDO_FUNC << 4);
            view.setInt32(pos + 4, slot - (start + j + 1), true);
            view.setUint32(pos + INSN + 4, 0, true);
            break;
          }
        }
      } else if (code === BPF_CALL && insns[pos + 1]! >> 4 === BPF_PSEUDO_CALL) {
        // pc-relative call inside the same section
        const t = fn.sectionOffset / INSN + j + view.getInt32(pos + 4, true) + 1;
        const slot = resolveTarget(fn, j, { sectionIndex: fn.sectionIndex, insnIndex: t }, "call to");
        view.setInt32(pos + 4, slot - (start + j + 1), true);
      }
      if (code === BPF_LD_IMM64) j++;
    }
    chunks.push(insns);
  }
  const out = new Uint8Array(total * INSN);
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.length;
  }
  return { insns: out, pieces };
}

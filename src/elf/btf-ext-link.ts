// The .BTF.ext records of one linked program: func_info and line_info of the program and of every
// function linkProgramPieces appended, with their instruction offsets moved to where each function
// landed (libbpf does the same per appended subprogram), encoded as BPF_PROG_LOAD wants them. Pure.

import type { BtfExt, BtfFuncInfo, BtfLineInfo } from "./btf.ts";
import type { LinkedPiece } from "./link.ts";

const INSN = 8;
export const FUNC_INFO_REC_SIZE = 8;
export const LINE_INFO_REC_SIZE = 16;

export interface ProgramExtInfo {
  /** One record per function, insnOff in instructions of the linked program; undefined when a function has none (or several). */
  funcInfo?: BtfFuncInfo[];
  /** Sorted by insnOff (instructions), strictly increasing. */
  lineInfo: BtfLineInfo[];
  /** Why func_info could not be built, for messages. */
  funcInfoProblem?: string;
}

/** Records of `section` whose byte offset lies inside the function, moved to its linked position. */
function moved<T extends { insnOff: number }>(sections: { section: string; records: T[] }[], p: LinkedPiece): T[] {
  const from = p.fn.sectionOffset;
  const to = from + p.fn.insns.length;
  const out: T[] = [];
  for (const s of sections) {
    if (s.section !== p.fn.section) continue;
    for (const r of s.records) {
      if (r.insnOff >= from && r.insnOff < to && r.insnOff % INSN === 0) out.push({ ...r, insnOff: p.start + (r.insnOff - from) / INSN });
    }
  }
  return out;
}

export function programExtInfo(ext: BtfExt, pieces: readonly LinkedPiece[]): ProgramExtInfo {
  const funcInfo: BtfFuncInfo[] = [];
  let funcInfoProblem: string | undefined;
  const lineInfo: BtfLineInfo[] = [];
  for (const p of pieces) {
    const f = moved(ext.funcInfo, p);
    // the kernel wants exactly one record per function, at its first instruction
    if (f.length !== 1 || f[0]!.insnOff !== p.start) funcInfoProblem ??= `function '${p.fn.name}' has ${f.length} func_info records in .BTF.ext`;
    else funcInfo.push(f[0]!);
    lineInfo.push(...moved(ext.lineInfo, p));
  }
  funcInfo.sort((a, b) => a.insnOff - b.insnOff);
  lineInfo.sort((a, b) => a.insnOff - b.insnOff);
  // strictly increasing offsets: of records at the same instruction the kernel takes only one
  const lines = lineInfo.filter((l, i) => i === 0 || l.insnOff !== lineInfo[i - 1]!.insnOff);
  return funcInfoProblem ? { lineInfo: lines, funcInfoProblem } : { funcInfo, lineInfo: lines };
}

/** struct bpf_func_info records. */
export function encodeFuncInfo(records: readonly BtfFuncInfo[]): Uint8Array {
  const out = new Uint8Array(records.length * FUNC_INFO_REC_SIZE);
  const v = new DataView(out.buffer);
  records.forEach((r, i) => {
    v.setUint32(i * FUNC_INFO_REC_SIZE, r.insnOff, true);
    v.setUint32(i * FUNC_INFO_REC_SIZE + 4, r.typeId, true);
  });
  return out;
}

/** struct bpf_line_info records; names are offsets into the string section of the BTF sent (`stringOffset`). */
export function encodeLineInfo(records: readonly BtfLineInfo[], stringOffset: (s: string) => number): Uint8Array {
  const out = new Uint8Array(records.length * LINE_INFO_REC_SIZE);
  const v = new DataView(out.buffer);
  records.forEach((r, i) => {
    const o = i * LINE_INFO_REC_SIZE;
    v.setUint32(o, r.insnOff, true);
    v.setUint32(o + 4, stringOffset(r.fileName), true);
    v.setUint32(o + 8, stringOffset(r.line), true);
    v.setUint32(o + 12, ((r.lineNum << 10) | (r.col & 0x3ff)) >>> 0, true);
  });
  return out;
}

/**
 * Adds strings to a BTF blob's string section (the last part of the blobs writeBtf makes), each
 * once: line_info names source files and lines, which the rewritten BTF no longer holds.
 */
export function appendBtfStrings(blob: Uint8Array, strings: Iterable<string>): { blob: Uint8Array; offsetOf: (s: string) => number } {
  const v = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
  const hdrLen = v.getUint32(4, true);
  const strOff = v.getUint32(16, true);
  const strLen = v.getUint32(20, true);
  const start = hdrLen + strOff;
  const offsets = new Map<string, number>();
  // what is there already
  const dec = new TextDecoder();
  for (let i = 0; i < strLen; ) {
    let e = i;
    while (e < strLen && blob[start + e] !== 0) e++;
    const s = dec.decode(blob.subarray(start + i, start + e));
    if (!offsets.has(s)) offsets.set(s, i);
    i = e + 1;
  }
  const enc = new TextEncoder();
  const extra: number[] = [];
  for (const s of strings) {
    if (offsets.has(s)) continue;
    offsets.set(s, strLen + extra.length);
    for (const b of enc.encode(s)) extra.push(b);
    extra.push(0);
  }
  if (start + strLen !== blob.length) throw new Error("BTF blob: the string section is not its last part");
  const out = new Uint8Array(blob.length + extra.length);
  out.set(blob);
  out.set(extra, blob.length);
  new DataView(out.buffer).setUint32(20, strLen + extra.length, true);
  return { blob: out, offsetOf: (s) => offsets.get(s) ?? 0 };
}

// Source lines of an object's instructions, for `disasm -S`: positions from the DWARF line table
// (.debug_line, clang -g) exactly as llvm-objdump -S takes them, text from the source file when
// it can be read (as llvm-objdump does) and otherwise from .BTF.ext line_info, which carries the
// text of every line it names. Without DWARF, line_info alone gives both. Pure: the caller passes
// how to read a source file.

import { ObjectError } from "../errors.ts";
import { Btf, BtfError, readBtfExt } from "./btf.ts";
import { lineAt, readLineTable, type LineSequence } from "./dwarf-line.ts";
import type { ObjectSpec } from "./types.ts";

export interface SourceRef {
  file: string;
  line: number;
  text?: string;
}

/** The line_info records of .BTF.ext by section: offset → file, line, text. */
function btfLines(bytes: Uint8Array, obj: ObjectSpec): Map<string, Map<number, SourceRef>> {
  const out = new Map<string, Map<number, SourceRef>>();
  const ext = obj.sections.find((s) => s.name === ".BTF.ext");
  const btfSec = obj.sections.find((s) => s.name === ".BTF");
  if (!ext || !btfSec) return out;
  let at = ext;
  try {
    const info = readBtfExt(bytes.subarray(ext.offset, ext.offset + ext.size), () => {
      at = btfSec;
      const b = new Btf(bytes.subarray(btfSec.offset, btfSec.offset + btfSec.size));
      at = ext;
      return b;
    }).lineInfo;
    for (const s of info) {
      const m = new Map<number, SourceRef>();
      for (const r of s.records) m.set(r.insnOff, { file: r.fileName, line: r.lineNum, text: r.line });
      out.set(s.section, m);
    }
  } catch (e) {
    if (e instanceof BtfError) throw new ObjectError(obj.file, e.message, { section: at.name, offset: at.offset + e.offset });
    throw e;
  }
  return out;
}

/**
 * For each code section name, the lookup `disasm -S` uses: byte offset → the source line of the
 * instruction there (undefined where nothing is known). `readSource` returns a file's text or undefined.
 */
export function sourceLines(
  bytes: Uint8Array, obj: ObjectSpec, readSource: (path: string) => string | undefined = () => undefined,
): (section: string) => ((offset: number) => SourceRef | undefined) | undefined {
  const btf = btfLines(bytes, obj);
  const dwarf = readLineTable(bytes, obj.file);
  const texts = new Map<string, string>(); // "file\0line" → text, from line_info
  for (const m of btf.values()) for (const r of m.values()) if (r.text !== undefined) texts.set(`${r.file}\0${r.line}`, r.text);
  const files = new Map<string, string[] | undefined>();
  const textOf = (file: string, line: number): string | undefined => {
    if (!files.has(file)) files.set(file, readSource(file)?.split("\n").map((l) => l.replace(/\r$/, "")));
    return files.get(file)?.[line - 1] ?? texts.get(`${file}\0${line}`);
  };
  const bySection = new Map<string, LineSequence[]>();
  for (const s of dwarf) bySection.set(s.section, [...(bySection.get(s.section) ?? []), s]);
  return (section) => {
    const seqs = bySection.get(section);
    if (seqs) {
      return (offset) => {
        const r = lineAt(seqs, offset);
        return r && { file: r.file, line: r.line, text: r.line ? textOf(r.file, r.line) : undefined };
      };
    }
    const records = btf.get(section);
    if (!records) return undefined;
    return (offset) => {
      const r = records.get(offset);
      return r && { ...r, text: textOf(r.file, r.line) };
    };
  };
}

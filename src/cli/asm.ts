// `bpfload asm FILE.s -o FILE`: assembler source (llvm syntax, labels, comments) to raw
// instructions, for a test VM without clang.
import { assembleObject, InputError, readUserFile, sectionBytes, UsageError } from "../index.ts";
import { inputFileError, writeOutput } from "./input.ts";
import type { Output } from "./output.ts";

/** Assembles for loading: one program's bytes; symbol references cannot be resolved from a .s alone. */
export function assembleProgram(text: string, file: string): Uint8Array {
  const obj = assembleObject(text, file);
  const relocs = obj.sections.flatMap((s) => s.relocations.map((r) => `${r.symbol} (section ${s.name}, offset ${r.offset})`));
  if (relocs.length) {
    throw new InputError(file, `refers to symbols that only an object file can define: ${relocs.join(", ")}; use map fds by number (ld_pseudo) or compile with clang`);
  }
  const out = sectionBytes(obj);
  if (!out.length) throw new InputError(file, "no instructions");
  return out;
}

export function runAsm(out: Output, file: string, o: { output?: string }): number {
  if (!o.output) throw new UsageError("give the output file with -o FILE");
  let text: string;
  try {
    text = new TextDecoder().decode(readUserFile(file));
  } catch (e) {
    throw inputFileError(file, e);
  }
  const bytes = assembleProgram(text, file);
  writeOutput(o.output, bytes);
  out.event("assembled", { file, output: o.output, insns: bytes.length / 8, size: bytes.length }, `wrote ${bytes.length / 8} instruction slots (${bytes.length} bytes) to ${o.output}`);
  return 0;
}

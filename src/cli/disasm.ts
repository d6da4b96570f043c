// `bpfload disasm FILE|OBJ`: instructions as llvm-objdump -dr prints them (LLVM 14), or in the
// verifier's syntax (--syntax kernel) to match a verifier log line by line.
import { assemble, disassemble, disassembleObject, parseObject, UsageError, type DisasmObject, type DisasmOptions, type ObjectSpec } from "../index.ts";
import { quote } from "../errors.ts";
import { readInput } from "./input.ts";
import type { Output } from "./output.ts";

const SHF_EXECINSTR = 0x4;
const STT_SECTION = 3;
const STT_FILE = 4;

/** The executable sections of an object with their symbols and pending relocations. */
export function disasmView(obj: ObjectSpec, file: string): DisasmObject {
  const sections = obj.sections
    .filter((s) => (s.flags & SHF_EXECINSTR) !== 0 && s.size > 0)
    .map((s) => {
      const functions = obj.functions.filter((f) => f.sectionIndex === s.index);
      const bytes = new Uint8Array(s.size);
      for (const f of functions) bytes.set(f.insns, f.sectionOffset);
      return {
        name: s.name,
        bytes,
        symbols: obj.symbols.filter((y) => y.shndx === s.index && y.type !== STT_SECTION && y.type !== STT_FILE).map((y) => ({ name: y.name, offset: y.value })),
        relocations: functions.flatMap((f) => f.relocations.map((r) => ({ offset: f.sectionOffset + r.insnIndex * 8, symbol: r.symbol, type: r.type }))),
      };
    });
  return { file, sections };
}

export interface DisasmCliOptions {
  syntax?: string;
  modern?: boolean;
  relocs?: boolean;
  section?: string;
  /** -S: source lines from .BTF.ext line_info interleaved, as llvm-objdump -S prints them */
  source?: boolean;
}

export async function runDisasm(out: Output, file: string, o: DisasmCliOptions): Promise<number> {
  const syntax = o.syntax ?? "llvm";
  if (syntax !== "llvm" && syntax !== "kernel") throw new UsageError(`bad --syntax ${quote(syntax)}: llvm (llvm-objdump's) or kernel (the verifier's)`);
  if (o.source && syntax !== "llvm") throw new UsageError("-S interleaves source as llvm-objdump -S does: it goes with --syntax llvm");
  const opts: DisasmOptions = { syntax, modern: !!o.modern, showRelocations: o.relocs !== false };
  const input = readInput(file);
  let text: string;
  if (input.kind === "elf") {
    const obj = await parseObject(input.bytes, file);
    const view = disasmView(obj, file);
    if (o.source) {
      // as llvm-objdump: the source files the line table names, read relative to the current directory
      // (a file that is not there: the line_info text stands in)
      const { tryReadText } = await import("../sys/files.ts");
      const lookup = (await import("../elf/lines.ts")).sourceLines(input.bytes, obj, tryReadText);
      view.sections = view.sections.map((s) => ({ ...s, source: lookup(s.name) }));
    }
    if (o.section !== undefined) {
      view.sections = view.sections.filter((s) => s.name === o.section);
      if (!view.sections.length) throw new UsageError(`${file} has no executable section ${quote(o.section)}`);
    }
    text = disassembleObject(view, opts);
  } else {
    if (o.section !== undefined) throw new UsageError(`${file} is not an ELF object: --section does not apply`);
    if (o.source) throw new UsageError(`${file} is not an ELF object: -S needs an object's line info (clang -g)`);
    const bytes = input.kind === "raw" ? input.insns : assemble(input.text, file);
    text = disassemble(bytes, opts);
  }
  if (out.json) {
    out.result("", { type: "disasm", file, syntax, text });
  } else {
    out.raw(text); // one complete write: listings of a million instructions are tens of MB
  }
  return 0;
}

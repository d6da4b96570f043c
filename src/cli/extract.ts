// `bpfload extract OBJ -o FILE`: what the seed article did with llvm-objdump and dd — the raw
// instructions of one program, with where they came from.
import { InputError, parseObject, UsageError, type RawProgramSpec as ProgramSpec } from "../index.ts";
import { quote } from "../errors.ts";
import { readInput, writeOutput } from "./input.ts";
import type { Output } from "./output.ts";

export function pickProgram(file: string, programs: ProgramSpec[], section?: string, program?: string): ProgramSpec {
  const matches = programs.filter((p) => (section === undefined || p.section === section) && (program === undefined || p.name === program));
  const list = programs.map((p) => `${p.name} (section ${p.section})`).join(", ");
  if (matches.length === 1) return matches[0]!;
  if (!matches.length) throw new UsageError(`${file} has no ${[section && `section ${quote(section)}`, program && `program ${quote(program)}`].filter(Boolean).join(" and ") || "program"}: it has ${list}`);
  throw new UsageError(`${file} has ${matches.length} programs${section ? ` in section ${quote(section)}` : ""}: pick one with --program (${matches.map((p) => p.name).join(", ")})`);
}

export async function runExtract(out: Output, file: string, o: { section?: string; program?: string; output?: string }): Promise<number> {
  if (!o.output) throw new UsageError("give the output file with -o FILE");
  const input = readInput(file);
  if (input.kind !== "elf") throw new InputError(file, "not an ELF object: extract takes the programs out of a clang-compiled object");
  const obj = await parseObject(input.bytes, file);
  const prog = pickProgram(file, obj.programs, o.section, o.program);
  writeOutput(o.output, prog.insns);
  const pending = prog.relocations;
  const calls = pending.filter((r) => r.kind === "call" || r.kind === "func").length;
  const maps = pending.length - calls;
  out.event(
    "extracted",
    { file, program: prog.name, section: prog.section, fileOffset: prog.fileOffset, size: prog.insns.length, insns: prog.insns.length / 8, output: o.output, pendingRelocations: pending.length },
    `wrote ${prog.insns.length / 8} instructions (${prog.insns.length} bytes) of '${prog.name}' from section '${prog.section}' at file offset ${prog.fileOffset} (0x${prog.fileOffset.toString(16)}) to ${o.output}` +
      `\n  (the same bytes as: dd if=${file} of=${o.output} bs=1 count=${prog.insns.length} skip=${prog.fileOffset})`,
  );
  if (pending.length) {
    out.info(
      `note: ${pending.length} relocation(s) pending (${[maps && `${maps} map/data reference(s)`, calls && `${calls} call(s) to other functions`].filter(Boolean).join(", ")}): the raw bytes alone will not load; load the object instead (bpfload load ${file}${prog.section ? ` --section ${prog.section}` : ""})`,
    );
  }
  return 0;
}

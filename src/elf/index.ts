// The ELF object reader: pure (no fs, no ffi), the only user of elfinfo.
export { isElf } from "./raw.ts";
export { readObject, isTextSection } from "./reader.ts";
export { linkProgram, linkProgramPieces, BPF_PSEUDO_FUNC, type LinkResolver, type LinkedPiece } from "./link.ts";
export { sectionToProgram, KNOWN_SECTION_NAMES, type SectionProgram } from "./sections.ts";
export { Btf, BtfError, readCoreRelocations, type CoreRelocations } from "./btf.ts";
export type {
  CodeTarget, FunctionSpec, MapKind, MapSpec, ObjectSpec, ProgramSpec, RelocationKind, RelocationSpec, SectionSpec,
  SymbolSpec,
} from "./types.ts";

// The pure description of an eBPF object file that readObject() produces. Nothing here owns a
// file descriptor; the loader creates maps from MapSpec and programs from ProgramSpec + linkProgram().

import type { ProgTypeName } from "../uapi.ts";
import type { ExternSpec } from "./externs.ts";
import type { StructOpsSpec } from "./struct-ops.ts";

/** What a pending relocation inside a function refers to. */
export type RelocationKind =
  /** ld_imm64 of a map definition (legacy "maps" or BTF ".maps"): becomes BPF_PSEUDO_MAP_FD + fd. */
  | "map"
  /** ld_imm64 of an address inside .data/.rodata*\/.bss*: becomes BPF_PSEUDO_MAP_VALUE + fd + offset. */
  | "data"
  /** BPF-to-BPF call (call with src_reg=BPF_PSEUDO_CALL): the callee is appended, imm made pc-relative. */
  | "call"
  /** ld_imm64 of a function address (callbacks, e.g. bpf_loop): becomes BPF_PSEUDO_FUNC, imm pc-relative. */
  | "func"
  /** ld_imm64 or call of an undefined symbol: a __kconfig/__ksym extern or a kfunc (ObjectSpec.externs). */
  | "extern";

/** A code location: instruction index inside an ELF section (not inside a function). */
export interface CodeTarget {
  sectionIndex: number;
  insnIndex: number;
}

/** One relocation that applies to an instruction of a function or program. */
export interface RelocationSpec {
  /** Index (in 8-byte slots) of the relocated instruction, relative to the start of its function. */
  insnIndex: number;
  kind: RelocationKind;
  /** ELF relocation type (R_BPF_64_64 = 1, R_BPF_64_32 = 10). */
  type: number;
  /** Symbol named by the relocation; for section symbols the section name (".data", ".text"). */
  symbol: string;
  /** kind "map"/"data": name of the MapSpec the instruction refers to (the key for `resolve.mapFd`). */
  map?: string;
  /** kind "data": byte offset inside the data map's value; kind "map": offset of the definition in its section. */
  offset?: number;
  /** kind "call"/"func": the instruction called/referenced (resolved and checked when reading). */
  target?: CodeTarget;
  /** File offset of the relocated instruction (for messages). */
  fileOffset: number;
  /** kind "extern": on a call instruction (a kfunc call), not an ld_imm64. */
  call?: boolean;
}

/** A function in an executable section: a program or a subprogram reachable by BPF-to-BPF calls. */
export interface FunctionSpec {
  /** Function symbol name (the section name when the section has no function symbols). */
  name: string;
  /** ELF section name, e.g. "kprobe/sys_clone" or ".text". */
  section: string;
  sectionIndex: number;
  /** Byte offset of the function inside its section (a multiple of 8). */
  sectionOffset: number;
  /** Byte offset of its first instruction in the file (what the seed's `dd skip=` used). */
  fileOffset: number;
  /** Raw little-endian 8-byte instructions (a copy; length % 8 === 0). */
  insns: Uint8Array;
  /** Pending relocations inside this function, by ascending insnIndex. */
  relocations: RelocationSpec[];
  /** STB_GLOBAL/STB_WEAK symbol (false for static functions). */
  global: boolean;
  /**
   * Number of CO-RE relocations (.BTF.ext core_relo records) inside this function: a program with
   * any (or calling a function with any) is relocated against the target BTF when loaded (src/btf/core).
   */
  coreRelocations?: number;
}

/** A program: a function in a program section (or a global function of .text in an object without program sections). */
export interface ProgramSpec extends FunctionSpec {
  /** From the section-name table; absent for ".text" or unknown names (the caller must say --type). */
  progType?: ProgTypeName;
  /** Attach point in CLI syntax derived from the section name: "kprobe:FUNC", "tracepoint:CAT:NAME", … */
  attach?: string;
  /** "socket/3", "kprobe/9": 4.9-samples tail-call target for index N of the object's PROG_ARRAY map. */
  tailCallIndex?: number;
  /** From the section-name table: BPF_PROG_LOAD's expected_attach_type (enum bpf_attach_type value). */
  expectedAttachType?: number;
  /** The expected attach type may be dropped on kernels before 4.17 (libbpf's SEC_ATTACHABLE_OPT). */
  expectedAttachTypeOptional?: boolean;
  /** BPF_F_SLEEPABLE / BPF_F_XDP_HAS_FRAGS from the section name. */
  progFlags?: number;
  /** Loaded against a BTF type (attach_btf_id); `btfTarget` is its name when the section gives it. */
  needsBtfTarget?: boolean;
  btfTarget?: string;
  /** "?name" sections: not loaded unless selected by --program/--section (libbpf's autoload off). */
  autoload?: false;
}

/** How a map definition was written. */
export type MapKind =
  /** struct bpf_map_def & co. in SEC("maps") */
  | "legacy"
  /** BTF-defined, SEC(".maps") */
  | "btf"
  /** global data section (.data, .rodata*, .bss*) as a one-element array */
  | "data";

export interface MapSpec {
  /** Symbol name for "legacy"/"btf" maps; the section name (".data", ".rodata", ".bss", ".rodata.str1.1") for "data". */
  name: string;
  kind: MapKind;
  /** BPF_MAP_TYPE_* number (MAP_TYPES in uapi.ts has the names). */
  type: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  /** map_flags (BPF_F_RDONLY_PROG for .rodata*). */
  flags: number;
  /** iproute2: PIN_NONE 0, PIN_OBJECT_NS 1, PIN_GLOBAL_NS 2; BTF: LIBBPF_PIN_NONE 0, LIBBPF_PIN_BY_NAME 1. */
  pinning?: number;
  /** iproute2's `id` field (28/36-byte definitions). */
  id?: number;
  /** samples/bpf 4.14+ `numa_node` (used when flags has BPF_F_NUMA_NODE). */
  numaNode?: number;
  /** samples/bpf 4.14+ `inner_map_idx`: index of the inner map's definition in the same "maps" section. */
  innerMapIndex?: number;
  /** BTF `__array(values, struct {...})` of a map-in-map: the inner map's definition (name = outer name + ".inner"). */
  innerMap?: MapSpec;
  /** BTF `values` member: its byte offset in the definition, and the entries given there (.rel.maps): inner map or program names by index. */
  valuesOffset?: number;
  initialValues?: { index: number; symbol: string }[];
  /** BTF `map_extra` (bloom filter hashes etc.). */
  mapExtra?: number;
  /** Initial value of a "data" map: the section bytes (absent for .bss: all zeros). */
  initialData?: Uint8Array;
  /** BTF type ids of key/value ("btf" maps), for a loader that loads the object's BTF. */
  keyTypeId?: number;
  valueTypeId?: number;
  /** For "legacy": the layout guessed from the definition size (see readLegacyMaps). */
  layout?: string;
  section: string;
  sectionIndex: number;
  /** Offset of the definition (or 0 for data) inside its section. */
  sectionOffset: number;
}

/** A section of the object, for tools (disasm, extract) that show them. */
export interface SectionSpec {
  index: number;
  name: string;
  type: number;
  flags: number;
  offset: number;
  size: number;
}

/** A symbol of the object's symbol table. */
export interface SymbolSpec {
  index: number;
  name: string;
  value: number;
  size: number;
  /** STT_* */
  type: number;
  /** STB_* */
  bind: number;
  /** STV_* (st_other & 3): 2 = STV_HIDDEN, what `__hidden` gives */
  visibility: number;
  /** section index (0 = undefined, >= 0xff00 special) */
  shndx: number;
}

export interface ObjectSpec {
  file: string;
  /** Contents of the "license" section up to the first NUL. */
  license?: string;
  /** u32 of the "version" section (LINUX_VERSION_CODE of the build tree). */
  version?: number;
  /** Programs in file order (section index, then offset). */
  programs: ProgramSpec[];
  /** Maps in definition order: legacy maps, BTF maps, then referenced data sections. */
  maps: MapSpec[];
  /** Every function of every executable section (programs included), for BPF-to-BPF linking. */
  functions: FunctionSpec[];
  sections: SectionSpec[];
  symbols: SymbolSpec[];
  /** __kconfig/__ksym externs and kfuncs the code refers to (elf/externs.ts), when there are any. */
  externs?: ExternSpec[];
  /** struct_ops variables (.struct_ops, .struct_ops.link): one struct_ops map each (elf/struct-ops.ts). */
  structOps?: StructOpsSpec[];
}

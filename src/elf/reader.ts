// readObject(): bytes of an eBPF ELF object -> ObjectSpec. The raw bytes are validated first
// (raw.ts), then elfinfo parses the header and section table, then programs, maps and relocations
// are derived from the validated tables. Pure: callers pass the bytes.

// elfinfo is imported at the first object read, not with this module: importing it costs ~10 ms of
// start-up that code linking or loading programs (and a `bun test` file of the library) never needs.
type ElfinfoOpen = typeof import("elfinfo").open;
import { ObjectError, quote } from "../errors.ts";
import { Btf, BtfError, readCoreRelocations, type CoreRelocations } from "./btf.ts";
import { ExternError, readExterns, type ExternSpec } from "./externs.ts";
import { dataMap, isDataSection, readBtfMaps, readLegacyMaps, readMapInitialValues } from "./maps.ts";
import {
  Bytes, R_BPF_64_32, R_BPF_64_64, R_BPF_NONE, relocationTypeName, SHF_EXECINSTR, SHN_ABS, SHN_COMMON, SHN_LORESERVE,
  SHN_UNDEF, SHT_NOBITS, SHT_PROGBITS, SHT_RELA, STB_GLOBAL, STB_WEAK, STT_FUNC, validateElf,
  type RawSection, type RawSymbol,
} from "./raw.ts";
import { sectionToProgram } from "./sections.ts";
import { isStructOpsSection, readStructOps, type StructOpsSpec } from "./struct-ops.ts";
import type {
  CodeTarget, FunctionSpec, MapSpec, ObjectSpec, ProgramSpec, RelocationSpec, SectionSpec, SymbolSpec,
} from "./types.ts";

const INSN = 8;
const BPF_LD_IMM64 = 0x18;
const BPF_CALL = 0x85;
const BPF_PSEUDO_CALL = 1;
const BPF_PSEUDO_KFUNC_CALL = 2;

type Where = { section?: string; offset?: number };

/** True for sections holding BPF-to-BPF subprograms rather than programs (".text", ".text.*"). */
export function isTextSection(name: string): boolean {
  return name === ".text" || name.startsWith(".text.");
}

/**
 * Parses an eBPF object. Throws ObjectError (file, section, offset) for every malformed or
 * unsupported input; never anything else for bad bytes.
 *
 * Programs: every function symbol of an executable section other than .text/.text.* is a program;
 * when there are none, the global functions of .text are (the seed's hello.o has its program in
 * .text). Functions of .text are subprograms reachable through BPF-to-BPF calls.
 */
export async function readObject(bytes: Uint8Array, file: string): Promise<ObjectSpec> {
  const fail = (problem: string, where: Where = {}): never => {
    throw new ObjectError(file, problem, where);
  };
  const raw = validateElf(bytes, file);
  const sections = await elfinfoSections(bytes, file, raw.sections);
  const b = new Bytes(bytes);
  const symbols = raw.symbols;

  // --- functions of executable sections
  const functionsBySection = new Map<number, FunctionSpec[]>();
  const functions: FunctionSpec[] = [];
  for (const s of sections) {
    if (s.type !== SHT_PROGBITS || (s.flags & SHF_EXECINSTR) === 0 || s.size === 0) continue;
    const fns = sectionFunctions(b, s, symbols, fail);
    functionsBySection.set(s.index, fns);
    functions.push(...fns);
  }

  // --- maps
  const maps: MapSpec[] = [];
  const mapSections = new Set<number>();
  let btf: Btf | undefined;
  const btfSection = sections.find((s) => s.name === ".BTF" && s.type === SHT_PROGBITS);
  for (const s of sections) {
    if (s.name === "maps") {
      maps.push(...readLegacyMaps(b, s, symbols, fail));
      mapSections.add(s.index);
    } else if (s.name === ".maps") {
      if (btfSection && !btf) btf = parseBtf(bytes, btfSection, fail);
      maps.push(...readBtfMaps(s, symbols, btf, btfSection, fail));
      mapSections.add(s.index);
    }
  }

  // --- initial values of map-in-map and prog-array maps (.rel.maps)
  for (const rs of raw.rels) {
    const target = sections[rs.target];
    if (target?.name === ".maps" && mapSections.has(target.index)) readMapInitialValues(maps, target, rs.relocations, symbols, fail);
  }

  // --- relocations of code sections
  const dataMaps = new Map<number, MapSpec>();
  for (const rs of raw.rels) {
    const fns = functionsBySection.get(rs.target);
    if (!fns) continue; // .rel.eh_frame, .rel.BTF, .rel.debug_*, .rel.maps: not code, ignored
    const target = sections[rs.target]!;
    if (rs.section.type === SHT_RELA) fail("RELA relocations in a code section are not supported", { section: rs.section.name, offset: rs.section.offset });
    for (const r of rs.relocations) {
      const where = { section: rs.section.name, offset: r.entryOffset };
      if (r.type === R_BPF_NONE) continue;
      if (r.type !== R_BPF_64_64 && r.type !== R_BPF_64_32) {
        fail(`unsupported relocation type ${relocationTypeName(r.type)} at offset 0x${r.offset.toString(16)} of code section ${quote(target.name)}`, where);
      }
      if (r.offset % INSN !== 0) fail(`relocation offset 0x${r.offset.toString(16)} is not on an instruction boundary of ${quote(target.name)}`, where);
      const fn = functionAt(fns, r.offset / INSN);
      if (!fn) fail(`relocation at offset 0x${r.offset.toString(16)} of ${quote(target.name)} is outside every function`, where);
      const f = fn!;
      const sym = symbols[r.symbol]!;
      if (r.symbol === 0) fail("relocation refers to the null symbol (index 0)", where);
      const insnPos = target.offset + r.offset;
      const code = b.u8(insnPos);
      const src = b.u8(insnPos + 1) >> 4;
      const imm = b.i32(insnPos + 4);
      const insnIndex = (r.offset - f.sectionOffset) / INSN;
      const rel: RelocationSpec = { insnIndex, kind: "map", type: r.type, symbol: sym.name, fileOffset: insnPos };
      if (code === BPF_LD_IMM64) {
        if (r.type !== R_BPF_64_64) fail(`relocation ${relocationTypeName(r.type)} on an ld_imm64 instruction (expected R_BPF_64_64)`, where);
        if (r.offset + 2 * INSN > f.sectionOffset + f.insns.length) fail(`ld_imm64 at offset 0x${r.offset.toString(16)} of ${quote(target.name)} is cut off by the end of its function`, where);
        if (sym.shndx === SHN_UNDEF) {
          // __kconfig / __ksym variable, or a kfunc's address (bpf_ksym_exists): resolved when loading
          rel.kind = "extern";
          f.relocations.push(rel);
          continue;
        }
        const ts = symbolSection(sym, sections, "refers to", where, fail);
        if (mapSections.has(ts.index)) {
          const off = sym.value + imm;
          const m = maps.find((x) => x.sectionIndex === ts.index && x.sectionOffset === off);
          if (!m) fail(`relocation to ${quote(sym.name)} (offset ${off} of ${quote(ts.name)}) matches no map definition`, where);
          rel.kind = "map";
          rel.map = m!.name;
          rel.offset = off;
        } else if (isDataSection(ts.name) && (ts.type === SHT_PROGBITS || ts.type === SHT_NOBITS)) {
          const off = sym.value + imm;
          if (off < 0 || off >= ts.size) fail(`relocation to ${quote(sym.name)} points at offset ${off}, outside ${quote(ts.name)} (size ${ts.size})`, where);
          let m = dataMaps.get(ts.index);
          if (!m) dataMaps.set(ts.index, (m = dataMap(b, ts)));
          rel.kind = "data";
          rel.map = m.name;
          rel.offset = off;
        } else if (functionsBySection.has(ts.index)) {
          const off = sym.value + imm;
          if (off % INSN !== 0) fail(`function reference to ${quote(sym.name)} is not on an instruction boundary`, where);
          rel.kind = "func";
          rel.target = checkTarget(functionsBySection, ts, off / INSN, sym.name, where, fail);
        } else {
          fail(`ld_imm64 refers to ${quote(sym.name)} in section ${quote(ts.name)}, which is neither a map, a global data nor a code section`, where);
        }
      } else if (code === BPF_CALL) {
        if (src !== BPF_PSEUDO_CALL && src !== BPF_PSEUDO_KFUNC_CALL) fail(`relocation on a helper call (src_reg ${src}) to ${quote(sym.name)}`, where);
        if (r.type !== R_BPF_64_32) fail(`relocation ${relocationTypeName(r.type)} on a call instruction (expected R_BPF_64_32)`, where);
        if (sym.shndx === SHN_UNDEF) {
          // a kfunc (__ksym function): BPF_PSEUDO_KFUNC_CALL with the kernel's BTF id when loading
          rel.kind = "extern";
          rel.call = true;
          f.relocations.push(rel);
          continue;
        }
        if (src === BPF_PSEUDO_KFUNC_CALL) fail(`kfunc call to ${quote(sym.name)}, which is defined in this object`, where);
        const ts = symbolSection(sym, sections, "calls", where, fail);
        if (!functionsBySection.has(ts.index)) fail(`call to ${quote(sym.name)} in section ${quote(ts.name)}, which holds no code`, where);
        if (sym.value % INSN !== 0) fail(`call target ${quote(sym.name)} is not on an instruction boundary`, where);
        rel.kind = "call";
        rel.target = checkTarget(functionsBySection, ts, sym.value / INSN + imm + 1, sym.name, where, fail);
      } else {
        fail(`relocation ${relocationTypeName(r.type)} on an instruction with opcode 0x${code.toString(16).padStart(2, "0")} (expected ld_imm64 or call)`, where);
      }
      f.relocations.push(rel);
    }
  }
  for (const fn of functions) fn.relocations.sort((x, y) => x.insnIndex - y.insnIndex);

  // --- externs: the undefined symbols the code refers to, described by the object's BTF
  const externRefs = functions.flatMap((fn) => fn.relocations.filter((r) => r.kind === "extern").map((r) => ({ fn, r })));
  let externs: Map<string, ExternSpec> | undefined;
  if (externRefs.length) {
    // every undefined symbol, referenced or not: libbpf lays out (and resolves) them all
    const names = new Set(symbols.filter((s) => s.shndx === SHN_UNDEF && s.name).map((s) => s.name));
    if (btfSection && !btf) btf = parseBtf(bytes, btfSection, fail);
    try {
      externs = readExterns(btf, names);
    } catch (e) {
      if (e instanceof ExternError || e instanceof BtfError) fail(e.message, { section: btfSection?.name });
      throw e;
    }
    for (const { fn, r } of externRefs) {
      const where = { section: fn.section, offset: r.fileOffset };
      const ext = externs!.get(r.symbol);
      if (!ext) {
        fail(`${r.call ? "call to" : "relocation refers to"} ${quote(r.symbol)}, an undefined symbol that is neither __kconfig nor __ksym in the object's BTF${btf ? "" : " (the object has no BTF: build it with clang -g)"}`, where);
      }
      if (r.call && ext!.kind !== "kfunc") fail(`call to ${quote(r.symbol)}, a ${ext!.kind} variable, not a function`, where);
    }
    for (const s of symbols) {
      const ext = s.shndx === SHN_UNDEF ? externs!.get(s.name) : undefined;
      if (ext) ext.weak = s.bind === STB_WEAK;
    }
  }

  // --- pc-relative calls without relocations (inside .text, or inside one program section)
  for (const fn of functions) {
    const relocated = new Set(fn.relocations.map((r) => r.insnIndex));
    const n = fn.insns.length / INSN;
    const view = new DataView(fn.insns.buffer, fn.insns.byteOffset, fn.insns.byteLength);
    for (let j = 0; j < n; j++) {
      const code = fn.insns[j * INSN]!;
      if (code === BPF_LD_IMM64) {
        j++;
        continue;
      }
      if (code !== BPF_CALL || fn.insns[j * INSN + 1]! >> 4 !== BPF_PSEUDO_CALL || relocated.has(j)) continue;
      const t = fn.sectionOffset / INSN + j + view.getInt32(j * INSN + 4, true) + 1;
      const where = { section: fn.section, offset: fn.fileOffset + j * INSN };
      checkTarget(functionsBySection, sections[fn.sectionIndex]!, t, `${fn.name}+${j}`, where, fail);
    }
  }

  // --- maps from data sections, in section order; names must be unique
  maps.push(...[...dataMaps.entries()].sort((x, y) => x[0] - y[0]).map((e) => e[1]));
  const seen = new Set<string>();
  for (const m of maps) {
    if (seen.has(m.name)) fail(`two maps are named ${quote(m.name)}`, { section: m.section });
    seen.add(m.name);
  }

  // --- CO-RE relocations (.BTF.ext core_relo): not performed, only counted per program
  const ext = sections.find((s) => s.name === ".BTF.ext" && s.type === SHT_PROGBITS);
  if (ext) {
    const getBtf = (): Btf => {
      if (!btfSection) fail(".BTF.ext without a .BTF section", { section: ext.name, offset: ext.offset });
      btf ??= parseBtf(bytes, btfSection!, fail);
      return btf;
    };
    let core: CoreRelocations[] = [];
    try {
      core = readCoreRelocations(bytes.subarray(ext.offset, ext.offset + ext.size), getBtf);
    } catch (e) {
      if (e instanceof BtfError) fail(e.message, { section: ext.name, offset: ext.offset + e.offset });
      throw e;
    }
    for (const c of core) {
      const sec = sections.find((s) => s.name === c.section && functionsBySection.has(s.index));
      if (!sec) continue;
      const fns = functionsBySection.get(sec.index)!;
      for (const o of c.insnOffsets) {
        const fn = o % INSN === 0 ? functionAt(fns, o / INSN) : undefined;
        if (fn) fn.coreRelocations = (fn.coreRelocations ?? 0) + 1;
      }
    }
  }

  // --- struct_ops variables (.struct_ops, .struct_ops.link): maps whose members are programs
  const structOps: StructOpsSpec[] = [];
  for (const s of sections) {
    if (!isStructOpsSection(s.name)) continue;
    if (btfSection && !btf) btf = parseBtf(bytes, btfSection, fail);
    const rels = raw.rels.find((rs) => rs.target === s.index)?.relocations;
    const programAt = (shndx: number, value: number) => {
      const fn = (functionsBySection.get(shndx) ?? []).find((f) => f.sectionOffset === value);
      return fn && !isTextSection(fn.section) ? fn.name : undefined;
    };
    structOps.push(...readStructOps(b, s, rels, symbols, btf, programAt, fail));
  }

  // --- programs
  let programs: ProgramSpec[] = [];
  for (const fn of functions) {
    if (isTextSection(fn.section)) continue;
    programs.push(toProgram(fn));
  }
  if (programs.length === 0) {
    const text = functions.filter((f) => isTextSection(f.section));
    const globals = text.filter((f) => f.global);
    programs = (globals.length ? globals : text).map(toProgram);
  }

  // --- license and version
  const out: ObjectSpec = {
    file, programs, maps, functions, ...(externs?.size ? { externs: [...externs.values()] } : {}), ...(structOps.length ? { structOps } : {}),
    sections: sections.map((s): SectionSpec => ({ index: s.index, name: s.name, type: s.type, flags: s.flags, offset: s.offset, size: s.size })),
    symbols: symbols.map((s): SymbolSpec => ({ index: s.index, name: s.name, value: s.value, size: s.size, type: s.type, bind: s.bind, visibility: s.visibility, shndx: s.shndx })),
  };
  const lic = sections.find((s) => s.name === "license");
  if (lic && lic.type === SHT_PROGBITS) {
    const data = bytes.subarray(lic.offset, lic.offset + lic.size);
    const nul = data.indexOf(0);
    out.license = new TextDecoder().decode(nul >= 0 ? data.subarray(0, nul) : data);
  }
  const ver = sections.find((s) => s.name === "version");
  if (ver && ver.type === SHT_PROGBITS) {
    if (ver.size !== 4) fail(`version section of ${ver.size} bytes (expected a 4-byte LINUX_VERSION_CODE)`, { section: ver.name, offset: ver.offset });
    out.version = b.u32(ver.offset);
  }
  return out;
}

function parseBtf(bytes: Uint8Array, s: RawSection, fail: (p: string, w?: Where) => never): Btf {
  try {
    // an object's BTF is small and goes to the kernel: checked whole (references, loops) before use
    return new Btf(bytes.subarray(s.offset, s.offset + s.size)).validate();
  } catch (e) {
    if (e instanceof BtfError) fail(e.message, { section: s.name, offset: s.offset + e.offset });
    throw e;
  }
}

/** Runs elfinfo on the validated bytes and takes the section table from it, cross-checked with ours. */
async function elfinfoSections(bytes: Uint8Array, file: string, mine: RawSection[]): Promise<RawSection[]> {
  let res: Awaited<ReturnType<ElfinfoOpen>>;
  try {
    const { open } = await import("elfinfo");
    res = await open(bytes, { readSymbolData: false });
  } catch (e) {
    throw new ObjectError(file, `ELF parser failed: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (!res.success || !res.elf) throw new ObjectError(file, `ELF parser failed: ${res.errors.join("; ") || "unknown error"}`);
  const theirs = res.elf.sections;
  if (theirs.length !== mine.length) {
    throw new ObjectError(file, `ELF parser found ${theirs.length} sections, the header says ${mine.length}`);
  }
  return theirs.map((t, i) => {
    const m = mine[i]!;
    if (t.type !== m.type || t.offset !== m.offset || t.size !== m.size || t.link !== m.link || t.info !== m.info || t.flags !== m.flags) {
      throw new ObjectError(file, "ELF parser and validator disagree about this section header", { section: m.name, offset: m.offset });
    }
    // names come from our own bounded read of the section name table (elfinfo maps offset 0 to "<null>")
    return { ...m, type: t.type, flags: t.flags, offset: t.offset, size: t.size, link: t.link, info: t.info, entsize: t.entsize };
  });
}

/** The functions of one executable section, from its STT_FUNC symbols (or the whole section if it has none). */
function sectionFunctions(b: Bytes, s: RawSection, symbols: RawSymbol[], fail: (p: string, w?: Where) => never): FunctionSpec[] {
  const where = { section: s.name, offset: s.offset };
  if (s.size % INSN !== 0) fail(`code section size ${s.size} is not a multiple of 8`, where);
  const funcs = symbols.filter((x) => x.shndx === s.index && x.type === STT_FUNC).sort((x, y) => x.value - y.value || x.index - y.index);
  const starts: RawSymbol[] = [];
  for (const f of funcs) {
    const at = { section: s.name, offset: s.offset + Math.min(f.value, s.size) };
    if (f.value % INSN !== 0) fail(`function ${quote(f.name)} starts at offset ${f.value}, not on an instruction boundary`, at);
    if (f.value >= s.size) fail(`function ${quote(f.name)} starts at offset ${f.value}, past the end of the section (${s.size} bytes)`, at);
    const last = starts[starts.length - 1];
    if (last && last.value === f.value) {
      // alias: keep the first (prefer a global name)
      if (last.bind === 0 && f.bind !== 0) starts[starts.length - 1] = f;
      continue;
    }
    starts.push(f);
  }
  const mk = (name: string, start: number, end: number, global: boolean): FunctionSpec => ({
    name, section: s.name, sectionIndex: s.index, sectionOffset: start, fileOffset: s.offset + start,
    insns: b.bytes.slice(s.offset + start, s.offset + end), relocations: [], global,
  });
  if (starts.length === 0) return [mk(s.name, 0, s.size, true)];
  const out: FunctionSpec[] = [];
  if (starts[0]!.value !== 0) out.push(mk(s.name, 0, starts[0]!.value, false)); // unnamed code before the first symbol
  for (let i = 0; i < starts.length; i++) {
    const f = starts[i]!;
    const next = starts[i + 1]?.value ?? s.size;
    let end = f.size > 0 ? f.value + f.size : next;
    if (end > next) fail(`function ${quote(f.name)} (offset ${f.value}, size ${f.size}) overlaps the next function or the end of the section`, { section: s.name, offset: s.offset + f.value });
    if (end % INSN !== 0) fail(`function ${quote(f.name)} has size ${f.size}, not a multiple of 8`, { section: s.name, offset: s.offset + f.value });
    if (end < next && end > 0) {
      // padding or unnamed code after a sized symbol: give it to this function so no instruction is lost
      end = next;
    }
    out.push(mk(f.name, f.value, end, f.bind === STB_GLOBAL || f.bind === STB_WEAK));
  }
  return out;
}

/** The function whose instructions include instruction `insn` (section-relative) of a sorted list. */
export function functionAt(fns: FunctionSpec[], insn: number): FunctionSpec | undefined {
  let lo = 0;
  let hi = fns.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const f = fns[mid]!;
    const start = f.sectionOffset / INSN;
    if (insn < start) hi = mid - 1;
    else if (insn >= start + f.insns.length / INSN) lo = mid + 1;
    else return f;
  }
  return undefined;
}

function symbolSection(sym: RawSymbol, sections: RawSection[], verb: string, where: Where, fail: (p: string, w?: Where) => never): RawSection {
  if (sym.shndx === SHN_UNDEF) fail(`relocation ${verb} ${quote(sym.name)}, an undefined (extern) symbol: extern variables, kconfig and ksyms are not supported`, where);
  if (sym.shndx === SHN_COMMON) fail(`relocation ${verb} common symbol ${quote(sym.name)} (compile with -fno-common)`, where);
  if (sym.shndx === SHN_ABS || sym.shndx >= SHN_LORESERVE) fail(`relocation ${verb} ${quote(sym.name)}, which is not in any section`, where);
  return sections[sym.shndx]!;
}

function checkTarget(
  bySection: Map<number, FunctionSpec[]>, s: RawSection, insn: number, name: string, where: Where,
  fail: (p: string, w?: Where) => never,
): CodeTarget {
  const fns = bySection.get(s.index) ?? [];
  if (!Number.isInteger(insn) || insn < 0 || !functionAt(fns, insn)) {
    fail(`call to ${quote(name)}: instruction ${insn} of section ${quote(s.name)} is not inside any function`, where);
  }
  return { sectionIndex: s.index, insnIndex: insn };
}

function toProgram(fn: FunctionSpec): ProgramSpec {
  const p: ProgramSpec = { ...fn };
  const sp = sectionToProgram(fn.section);
  if (sp) {
    p.progType = sp.progType;
    if (sp.attach !== undefined) p.attach = sp.attach;
    if (sp.tailCallIndex !== undefined) p.tailCallIndex = sp.tailCallIndex;
    if (sp.expectedAttachType !== undefined) p.expectedAttachType = sp.expectedAttachType;
    if (sp.expectedAttachTypeOptional) p.expectedAttachTypeOptional = true;
    if (sp.progFlags) p.progFlags = sp.progFlags;
    if (sp.needsBtfTarget) p.needsBtfTarget = true;
    if (sp.btfTarget !== undefined) p.btfTarget = sp.btfTarget;
    if (sp.autoload === false) p.autoload = false;
  }
  return p;
}

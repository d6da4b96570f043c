// The CO-RE relocation engine: for each .BTF.ext core_relo record, the candidates of the target
// BTF (vmlinux, then modules only when vmlinux has none, as libbpf), the value the object was
// compiled with and the one the target needs, and the patched instruction (ALU imm, LDX/ST/STX off
// and memory size, LD_IMM64). What cannot be resolved poisons the instruction as libbpf does (a
// call to helper 0xbad2310) so a guarded branch still verifies. Pure: the target is a parameter.
import { BTF_INT_SIGNED, BTF_KIND_ENUM, BTF_KIND_ENUM64, BTF_KIND_INT, BTF_KIND_PTR, memberBitfieldSize, type Btf, type BtfCoreRelo, type BtfExtSection } from "../../elf/btf.ts";
import {
  CORE_ENUMVAL_EXISTS, CORE_ENUMVAL_VALUE, CORE_FIELD_BYTE_OFFSET, CORE_FIELD_BYTE_SIZE, CORE_FIELD_EXISTS,
  CORE_FIELD_LSHIFT_U64, CORE_FIELD_RSHIFT_U64, CORE_FIELD_SIGNED, CORE_TYPE_EXISTS, CORE_TYPE_ID_LOCAL,
  CORE_TYPE_ID_TARGET, CORE_TYPE_MATCHES, CORE_TYPE_SIZE, CoreError, coreKindName, describeSpec, describeType,
  essentialName, formatSpecLikeLibbpf, isEnumvalKind, isFieldKind, isTypeKind, kindsCompatible, matchSpec, parseSpec,
  resolveSize, skipMods, type Spec,
} from "./spec.ts";

/** The helper id libbpf writes into an instruction it could not relocate ("invalid func unknown#195896080"). */
export const CORE_POISON_HELPER = 0xbad2310;

/** One BTF to relocate against: vmlinux ("vmlinux") or a module's split BTF (its base is vmlinux). */
export interface CoreTargetBtf {
  name: string;
  btf: Btf;
}

interface Candidate {
  target: CoreTargetBtf;
  id: number;
}

/** What one relocation resolved to, before it is written into an instruction. */
export interface CoreResolution {
  kind: number;
  local: Spec;
  /** The matching target spec (absent: nothing matched). */
  target?: Spec;
  targetBtf?: string;
  /** Value the object was compiled with, and the one for the target. */
  origVal: bigint;
  newVal: bigint;
  /** Nothing matched and the kind has no "absent" value: the instruction is poisoned. */
  poison: boolean;
  /** Check that the instruction holds origVal (off for bitfields and type ids, as libbpf). */
  validate: boolean;
  /** Field sizes for LDX/ST/STX size adjustment; failMemsz: sizes differ in an unsafe way. */
  origSize: number;
  newSize: number;
  failMemsz: boolean;
  /** Candidates by name, and how many of them matched. */
  candidates: number;
  matched: number;
  /** The candidates by name, "[114] struct task_struct" (" in MODULE" for a module's). */
  candidateNames: string[];
}

/** A relocation applied (or not) to one instruction: the report line per record. */
export interface CoreRelocationResult {
  /** Index of the record in its section's core_relo list (libbpf's "relo #N"). */
  index: number;
  section: string;
  /** Function holding the instruction, and the instruction's index in it (libbpf's "insn #N"). */
  function: string;
  insn: number;
  /** Instruction index in the linked program (relocateProgram only). */
  linkedInsn?: number;
  kind: number;
  kindName: string;
  /** C-like access: "struct task_struct.real_parent", and the access string "0:57". */
  access: string;
  spec: string;
  localTypeId: number;
  /** libbpf's formatting of the local and target specs (its debug log lines). */
  localSpec: string;
  targetSpec?: string;
  target?: { btf: string; typeId: number; name: string; access: string; spec: string };
  oldValue?: bigint;
  newValue?: bigint;
  /** The instruction was replaced by the poison call; `why` says what was missing. */
  poisoned: boolean;
  why?: string;
  /** A fatal problem (malformed, ambiguous, unexpected instruction): the program cannot load. */
  error?: string;
  /** How the instruction changed, as libbpf's debug log says it ("patched insn #3 (LDX/ST/STX) off 8 -> 2456"). */
  patch?: string[];
}

/**
 * Name lookup in one target BTF (its own ids only, for split BTF) that decodes none of its 70k+
 * names and keeps no table of them: each wanted name is found by a native byte search of the
 * string section(s), then one pass over the types' name offsets collects the ids named there (so
 * ask for every name an object needs at once). Names with a ___flavor suffix are decoded to check.
 */
class NameIndex {
  private readonly found = new Map<string, number[]>();
  constructor(private readonly btf: Btf) {}

  ids(name: string): number[] {
    this.lookup([name]);
    return this.found.get(name)!;
  }

  lookup(names: Iterable<string>): void {
    const btf = this.btf;
    const want = new Map<number, string[]>(); // string offset -> essential names it may be
    const fresh: string[] = [];
    for (const name of names) {
      if (this.found.has(name)) continue;
      this.found.set(name, []);
      if (!name) continue;
      fresh.push(name);
      const pattern = Buffer.from(name);
      // a split BTF's types may be named by its base's strings too
      for (let b: Btf | undefined = btf; b; b = b.base) {
        const strings = Buffer.from(b.bytes.buffer, b.bytes.byteOffset + b.strStart, b.strLen);
        for (let at = strings.indexOf(pattern); at >= 0; at = strings.indexOf(pattern, at + 1)) {
          const next = strings[at + pattern.length];
          if (next !== 0 && !(next === 0x5f && essentialName(btf.name(b.strBase + at)) === name)) continue;
          const off = b.strBase + at;
          want.set(off, [...(want.get(off) ?? []), name]);
        }
      }
    }
    // ids in increasing order per name, as one pass over the types would give them
    for (const [off, names] of want) {
      const ids = btf.idsWithNameOffset(off);
      for (const name of names) this.found.get(name)!.push(...ids);
    }
    for (const name of fresh) this.found.get(name)!.sort((a, b) => a - b);
  }
}

const indexes = new WeakMap<Btf, NameIndex>();
function indexOf(btf: Btf): NameIndex {
  let i = indexes.get(btf);
  if (!i) indexes.set(btf, (i = new NameIndex(btf)));
  return i;
}

/**
 * Relocates against one target for one object. Keeps libbpf's candidate cache: per local type, the
 * candidates that matched a relocation are the only ones later relocations of that type consider.
 */
export class CoreRelocator {
  private readonly cands = new Map<number, Candidate[]>();

  private moreModules: (() => readonly CoreTargetBtf[]) | undefined;
  private modules: readonly CoreTargetBtf[] | undefined;

  /**
   * `targets`: the base first (vmlinux, or a --btf file), then split module BTFs; `modules` gives
   * more of those, read only when the base has no candidate for some type (module BTF is many files).
   */
  constructor(readonly local: Btf, readonly targets: readonly CoreTargetBtf[], modules?: () => readonly CoreTargetBtf[]) {
    this.moreModules = modules;
  }

  /**
   * Looks up at once the names every record needs (one pass over each target's types instead of
   * one per name); optional: candidates are looked up one by one otherwise.
   */
  prefetch(records: readonly BtfExtSection<BtfCoreRelo>[]): void {
    const names = new Set<string>();
    for (const s of records) {
      for (const r of s.records) {
        if (r.kind !== CORE_TYPE_ID_LOCAL && this.local.has(r.typeId) && r.typeId !== 0) names.add(essentialName(this.local.nameOf(r.typeId)));
      }
    }
    const main = this.targets[0];
    if (main) indexOf(main.btf).lookup(names);
  }

  private candidates(localId: number): Candidate[] {
    let c = this.cands.get(localId);
    if (c) return c;
    const lt = this.local.type(localId);
    const want = essentialName(lt.name);
    c = [];
    // vmlinux first; modules only when it has no candidate (libbpf's bpf_core_find_cands)
    const [main, ...given] = this.targets;
    for (const group of [() => (main ? [main] : []), () => (this.modules ??= [...given, ...(this.moreModules?.() ?? [])])]) {
      for (const target of group()) {
        for (const id of indexOf(target.btf).ids(want)) {
          if (kindsCompatible(lt, target.btf.type(id))) c.push({ target, id });
        }
      }
      if (c.length) break;
    }
    this.cands.set(localId, c);
    return c;
  }

  /** Resolves one record (no instruction touched). Throws CoreError for malformed or ambiguous ones. */
  resolve(rec: BtfCoreRelo): CoreResolution {
    const local = parseSpec(this.local, rec.typeId, rec.accessStr, rec.kind);
    const base: CoreResolution = { kind: rec.kind, local, origVal: 0n, newVal: 0n, poison: false, validate: true, origSize: 0, newSize: 0, failMemsz: false, candidates: 0, matched: 0, candidateNames: [] };
    if (rec.kind === CORE_TYPE_ID_LOCAL) {
      // ids may change while objects are linked: never validated
      return { ...base, origVal: BigInt(rec.typeId), newVal: BigInt(rec.typeId), validate: false };
    }
    const lt = this.local.type(rec.typeId);
    if (!lt.name) throw new CoreError(`${coreKindName(rec.kind)} relocation on an anonymous type (${describeType(lt)}): CO-RE needs a name to find it`);
    const all = this.candidates(rec.typeId);
    let best: CoreResolution | undefined;
    const kept: Candidate[] = [];
    for (const cand of all) {
      const spec = matchSpec(local, cand.target.btf, cand.id);
      if (!spec) continue;
      const r = calc(local, spec);
      r.targetBtf = cand.target.name;
      if (!best) best = r;
      else if (spec.bitOffset !== best.target!.bitOffset) {
        throw new CoreError(`field offset ambiguity: ${describeCand(best)} at bit ${best.target!.bitOffset} and ${describeCand(r)} at bit ${spec.bitOffset}`);
      } else if (r.poison !== best.poison || r.newVal !== best.newVal) {
        throw new CoreError(`relocation decision ambiguity: ${describeCand(best)} gives ${best.poison ? "poison" : best.newVal} and ${describeCand(r)} gives ${r.poison ? "poison" : r.newVal}`);
      }
      kept.push(cand);
    }
    if (kept.length) this.cands.set(rec.typeId, kept);
    const out = best ?? calc(local, undefined);
    out.candidates = all.length;
    out.candidateNames = all.map((c) => `[${c.id}] ${describeType(c.target.btf.type(c.id))}${c.target.name !== "vmlinux" ? ` in ${c.target.name}` : ""}`);
    out.matched = kept.length;
    return out;
  }
}

function describeCand(r: CoreResolution): string {
  return `[${r.target!.rootTypeId}] ${describeSpec(r.target!)}${r.targetBtf && r.targetBtf !== "vmlinux" ? ` (${r.targetBtf})` : ""}`;
}

const u64 = (v: bigint | number) => BigInt.asUintN(64, BigInt(v));

/** The value of one spec (local or target) for the relocation's kind: bpf_core_calc_*_relo. */
function value(spec: Spec | undefined, kind: number): { val: bigint; size: number; typeId: number; validate: boolean; poison?: true } {
  const none = { val: 0n, size: 0, typeId: 0, validate: true };
  if (isTypeKind(kind)) {
    if (!spec) return none; // a missing type is 0, not a failure
    switch (kind) {
      case CORE_TYPE_ID_TARGET:
        return { ...none, val: BigInt(spec.rootTypeId), validate: false };
      case CORE_TYPE_EXISTS:
      case CORE_TYPE_MATCHES:
        return { ...none, val: 1n };
      case CORE_TYPE_SIZE:
        return { ...none, val: BigInt(resolveSize(spec.btf, spec.rootTypeId)) };
    }
    throw new CoreError(`unsupported relocation kind ${kind}`);
  }
  if (isEnumvalKind(kind)) {
    if (kind === CORE_ENUMVAL_EXISTS) return { ...none, val: spec ? 1n : 0n };
    if (!spec) return { ...none, poison: true };
    const a = spec.accessors[0]!;
    const t = spec.btf.type(a.typeId);
    const v = t.values![a.idx]!.value;
    // a 32-bit enum's value is an s32 in libbpf, widened with its sign
    return { ...none, val: t.kind === BTF_KIND_ENUM ? u64(BigInt.asIntN(32, v)) : u64(v) };
  }
  if (!isFieldKind(kind)) throw new CoreError(`unsupported relocation kind ${kind}`);
  if (kind === CORE_FIELD_EXISTS) return { ...none, val: spec ? 1n : 0n };
  if (!spec) return { ...none, poison: true };
  const acc = spec.accessors[spec.accessors.length - 1]!;
  if (!acc.name) {
    // the last step is an array index (or the root): offset and size only
    const sz = resolveSize(spec.btf, acc.typeId);
    if (kind === CORE_FIELD_BYTE_OFFSET) return { val: BigInt(spec.bitOffset / 8), size: sz, typeId: acc.typeId, validate: true };
    if (kind === CORE_FIELD_BYTE_SIZE) return { ...none, val: BigInt(sz) };
    throw new CoreError(`${coreKindName(kind)} relocation cannot be applied to an array element`);
  }
  const parent = spec.btf.type(acc.typeId);
  const m = parent.members![acc.idx]!;
  const mt = skipMods(spec.btf, m.type);
  const bitOff = spec.bitOffset;
  let bitSize = memberBitfieldSize(parent, m);
  const bitfield = bitSize > 0;
  let byteSize: number;
  let byteOff: number;
  if (bitfield) {
    byteSize = mt.sizeOrType;
    if (byteSize <= 0) throw new CoreError(`bitfield ${acc.name} of ${describeType(parent)} has a type without size`);
    byteOff = Math.floor(bitOff / 8 / byteSize) * byteSize;
    // the smallest load that covers the bitfield
    while (bitOff + bitSize - byteOff * 8 > byteSize * 8) {
      if (byteSize >= 8) throw new CoreError(`bitfield ${acc.name} of ${describeType(parent)} cannot be read with a 64-bit load`);
      byteSize *= 2;
      byteOff = Math.floor(bitOff / 8 / byteSize) * byteSize;
    }
  } else {
    byteSize = resolveSize(spec.btf, mt.id);
    byteOff = bitOff / 8;
    bitSize = byteSize * 8;
  }
  // a bitfield's offset and size are the compiler's choice: only signedness and rshift are checked
  const validate = !bitfield;
  switch (kind) {
    case CORE_FIELD_BYTE_OFFSET:
      return bitfield ? { ...none, val: BigInt(byteOff), validate } : { val: BigInt(byteOff), size: byteSize, typeId: mt.id, validate };
    case CORE_FIELD_BYTE_SIZE:
      return { ...none, val: BigInt(byteSize), validate };
    case CORE_FIELD_SIGNED: {
      const signed = ((mt.kind === BTF_KIND_ENUM || mt.kind === BTF_KIND_ENUM64) && mt.kindFlag) || (mt.kind === BTF_KIND_INT && (mt.int!.encoding & BTF_INT_SIGNED) !== 0);
      return { ...none, val: signed ? 1n : 0n, validate: true };
    }
    case CORE_FIELD_LSHIFT_U64:
      return { ...none, val: BigInt(64 - (bitOff + bitSize - byteOff * 8)), validate };
    case CORE_FIELD_RSHIFT_U64:
      return { ...none, val: BigInt(64 - bitSize), validate: true };
  }
  throw new CoreError(`unsupported relocation kind ${kind}`);
}

/** bpf_core_calc_relo: local and target values, and whether a load/store may change its size. */
function calc(local: Spec, target: Spec | undefined): CoreResolution {
  const o = value(local, local.kind);
  const n = value(target, local.kind);
  const r: CoreResolution = {
    kind: local.kind, local, target, origVal: o.val, newVal: n.val, poison: !!n.poison, validate: o.validate,
    origSize: o.size, newSize: n.size, failMemsz: false, candidates: 0, matched: 0, candidateNames: [],
  };
  if (isFieldKind(local.kind) && !r.poison && r.origSize !== r.newSize) {
    // only pointers and unsigned integers read the same at another width (zero extension)
    const ot = local.btf.type(o.typeId);
    const nt = target!.btf.type(n.typeId);
    const unsignedInt = (t: typeof ot) => t.kind === BTF_KIND_INT && t.int!.encoding !== BTF_INT_SIGNED;
    const safe = (ot.kind === BTF_KIND_PTR && nt.kind === BTF_KIND_PTR) || (unsignedInt(ot) && unsignedInt(nt));
    r.failMemsz = !safe;
  }
  return r;
}

// ---- instructions

const BPF_LD = 0x00, BPF_LDX = 0x01, BPF_ST = 0x02, BPF_STX = 0x03, BPF_ALU = 0x04, BPF_ALU64 = 0x07;
const BPF_K = 0x00;
const LD_IMM64 = 0x18;
const SIZE_BYTES: Record<number, number> = { 0x00: 4, 0x08: 2, 0x10: 1, 0x18: 8 };
const BYTES_SIZE: Record<number, number> = { 4: 0x00, 2: 0x08, 1: 0x10, 8: 0x18 };

/** Writes libbpf's poison call over the instruction at `i` (and the second half of an ld_imm64). */
function poison(view: DataView, i: number, label: number): string[] {
  const wide = view.getUint8(i * 8) === LD_IMM64 && (i + 1) * 8 < view.byteLength;
  const lines: string[] = [];
  for (const at of wide ? [i, i + 1] : [i]) {
    lines.push(`substituting insn #${label + at - i} w/ invalid insn`);
    view.setUint8(at * 8, 0x85); // BPF_JMP | BPF_CALL
    view.setUint8(at * 8 + 1, 0);
    view.setInt16(at * 8 + 2, 0, true);
    view.setInt32(at * 8 + 4, CORE_POISON_HELPER, true);
  }
  return lines;
}

/**
 * bpf_core_patch_insn: writes the resolution into instruction `i` of `view`. Returns the change in
 * the words of libbpf's debug log, numbered `label` (libbpf numbers instructions per function);
 * throws CoreError when the instruction is not what the compiler would emit for this relocation.
 */
export function patchInstruction(view: DataView, i: number, r: CoreResolution, label = i): { lines: string[]; old?: bigint } {
  if (i * 8 + 8 > view.byteLength) throw new CoreError(`instruction #${label} is past the end of its function`);
  if (r.poison) return { lines: poison(view, i, label) };
  const said = (what: string) => `patched insn #${label} ${what}`;
  const at = i * 8;
  const code = view.getUint8(at);
  const cls = code & 7;
  switch (cls) {
    case BPF_ALU:
    case BPF_ALU64: {
      if ((code & 0x08) !== BPF_K) throw new CoreError(`instruction #${i} (ALU) has a register operand, not an immediate`);
      const imm = view.getInt32(at + 4, true);
      if (r.validate && u64(imm) !== r.origVal) throw new CoreError(`unexpected instruction #${i} (ALU/ALU64) value: got ${u64(imm)}, expected ${r.origVal} -> ${r.newVal}`);
      view.setInt32(at + 4, Number(BigInt.asIntN(32, r.newVal)), true);
      return { lines: [said(`(ALU/ALU64) imm ${u64(imm)} -> ${r.newVal}`)], old: u64(imm) };
    }
    case BPF_LDX:
    case BPF_ST:
    case BPF_STX: {
      const off = view.getInt16(at + 2, true);
      if (r.validate && u64(off) !== r.origVal) throw new CoreError(`unexpected instruction #${i} (LDX/ST/STX) value: got ${u64(off)}, expected ${r.origVal} -> ${r.newVal}`);
      if (r.newVal > 0x7fffn) throw new CoreError(`instruction #${i} (LDX/ST/STX): offset ${r.newVal} does not fit`);
      if (r.failMemsz) return { lines: poison(view, i, label) };
      view.setInt16(at + 2, Number(r.newVal), true);
      const lines = [said(`(LDX/ST/STX) off ${u64(off)} -> ${r.newVal}`)];
      if (r.newSize !== r.origSize) {
        const bytes = SIZE_BYTES[code & 0x18]!;
        if (bytes !== r.origSize) throw new CoreError(`instruction #${i} (LDX/ST/STX) unexpected memory size: got ${bytes}, expected ${r.origSize}`);
        const size = BYTES_SIZE[r.newSize];
        if (size === undefined) throw new CoreError(`instruction #${i} (LDX/ST/STX) invalid new memory size ${r.newSize}`);
        view.setUint8(at, (code & 0xe0) | size | cls);
        lines.push(said(`(LDX/ST/STX) mem_sz ${r.origSize} -> ${r.newSize}`));
      }
      return { lines, old: u64(off) };
    }
    case BPF_LD: {
      const next = at + 8;
      if (code !== LD_IMM64 || next + 8 > view.byteLength || view.getUint8(at + 1) >> 4 !== 0 || view.getInt16(at + 2, true) !== 0 ||
        view.getUint8(next) !== 0 || view.getUint8(next + 1) !== 0 || view.getInt16(next + 2, true) !== 0) {
        throw new CoreError(`instruction #${i} (LDIMM64) has an unexpected form`);
      }
      const imm = u64(view.getUint32(at + 4, true)) | (u64(view.getUint32(next + 4, true)) << 32n);
      if (r.validate && imm !== r.origVal) throw new CoreError(`unexpected instruction #${i} (LDIMM64) value: got ${imm}, expected ${r.origVal} -> ${r.newVal}`);
      view.setUint32(at + 4, Number(r.newVal & 0xffffffffn), true);
      view.setUint32(next + 4, Number(r.newVal >> 32n), true);
      return { lines: [said(`(LDIMM64) imm64 ${imm} -> ${r.newVal}`)], old: imm };
    }
  }
  throw new CoreError(`instruction #${i} (code 0x${code.toString(16)}) cannot carry a CO-RE relocation`);
}

// ---- whole functions and programs

/** A function placed in a linked program (structurally elf/link.ts's LinkedPiece). */
export interface CorePiece {
  fn: { name: string; section: string; sectionOffset: number; insns: Uint8Array };
  start: number;
}

function describeResult(index: number, section: string, fn: string, insn: number, rec: BtfCoreRelo): CoreRelocationResult {
  return { index, section, function: fn, insn, kind: rec.kind, kindName: coreKindName(rec.kind), access: "", spec: rec.accessStr, localTypeId: rec.typeId, localSpec: "", poisoned: false };
}

/**
 * Applies the records that fall inside each piece to the linked program `insns` (in place) and
 * returns one result per record; those with `error` mean the program must not be loaded.
 */
export function relocateProgram(relocator: CoreRelocator, insns: Uint8Array, pieces: readonly CorePiece[], records: readonly BtfExtSection<BtfCoreRelo>[]): CoreRelocationResult[] {
  const view = new DataView(insns.buffer, insns.byteOffset, insns.byteLength);
  const out: CoreRelocationResult[] = [];
  relocator.prefetch(records);
  for (const p of pieces) {
    const from = p.fn.sectionOffset;
    const to = from + p.fn.insns.length;
    for (const s of records) {
      if (s.section !== p.fn.section) continue;
      s.records.forEach((rec, index) => {
        if (rec.insnOff < from || rec.insnOff >= to) return;
        const insn = (rec.insnOff - from) / 8;
        const res = describeResult(index, s.section, p.fn.name, Math.floor(insn), rec);
        res.linkedInsn = p.start + Math.floor(insn);
        if (rec.insnOff % 8 !== 0) res.error = `instruction offset ${rec.insnOff} is not a multiple of 8`;
        else applyOne(relocator, rec, view, p.start + insn, res);
        out.push(res);
      });
    }
  }
  return out;
}

/** Resolves and patches one record at instruction `at` of `view`, filling `res`. */
export function applyOne(relocator: CoreRelocator, rec: BtfCoreRelo, view: DataView | undefined, at: number, res: CoreRelocationResult): void {
  let r: CoreResolution;
  try {
    r = relocator.resolve(rec);
  } catch (e) {
    if (!(e instanceof CoreError)) throw e;
    res.error = e.message;
    try {
      const local = parseSpec(relocator.local, rec.typeId, rec.accessStr, rec.kind);
      res.access = describeSpec(local);
      res.localSpec = formatSpecLikeLibbpf(local);
    } catch {
      res.access = `type ${rec.typeId} access ${rec.accessStr}`;
    }
    return;
  }
  res.access = describeSpec(r.local);
  res.localSpec = formatSpecLikeLibbpf(r.local);
  if (r.target) {
    res.targetSpec = formatSpecLikeLibbpf(r.target);
    const tt = r.target.btf.type(r.target.rootTypeId);
    res.target = { btf: r.targetBtf ?? "vmlinux", typeId: r.target.rootTypeId, name: tt.name, access: describeSpec(r.target), spec: r.target.raw.join(":") };
  }
  res.oldValue = r.origVal;
  res.newValue = r.newVal;
  if (r.poison) {
    res.poisoned = true;
    const root = r.local.btf.type(r.local.rootTypeId);
    const kindName = describeType(root).split(" ")[0];
    const names = r.candidateNames.slice(0, 3).join(", ") + (r.candidateNames.length > 3 ? `, and ${r.candidateNames.length - 3} more` : "");
    res.why = r.candidates === 0 ? `the target BTF has no ${kindName} ${essentialName(root.name)}` : `the target's ${names} ${r.candidates === 1 ? "has" : "have"} no ${res.access.slice(describeType(root).length) || "such member"}`;
  }
  if (!view) return;
  try {
    const p = patchInstruction(view, at, r, res.insn);
    res.patch = p.lines;
    if (p.old !== undefined) res.oldValue = p.old; // what the instruction held (the compiler's choice for bitfields)
    if (!r.poison && p.old === undefined) {
      res.poisoned = true;
      res.why = `${res.access} changed size (${r.origSize} -> ${r.newSize} bytes) and is not a pointer or an unsigned integer`;
    }
  } catch (e) {
    if (!(e instanceof CoreError)) throw e;
    res.error = e.message;
  }
}

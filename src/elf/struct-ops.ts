// struct_ops: SEC(".struct_ops") / SEC(".struct_ops.link") variables of a kernel struct type
// (struct tcp_congestion_ops, ...) whose function members point (relocations of .rel.struct_ops)
// at programs of struct_ops/NAME sections. Pure: reading them from the object, and laying their
// value out the kernel's way (bpf_struct_ops_<type>) from a kernel BTF, as libbpf does.
import { quote } from "../errors.ts";
import {
  Btf, BtfError, BTF_KIND_DATASEC, BTF_KIND_FUNC_PROTO, BTF_KIND_PTR, BTF_KIND_STRUCT, BTF_KIND_VAR, btfKindName,
  memberBitfieldSize, memberBitOffset, type BtfType,
} from "./btf.ts";
import type { Bytes, RawSection, RawSymbol } from "./raw.ts";
import { SHT_NOBITS } from "./raw.ts";

/** The two data sections libbpf reads struct_ops variables from: `.link` ones are attached as a bpf_link (6.4+). */
export function isStructOpsSection(name: string): boolean {
  return name === ".struct_ops" || name === ".struct_ops.link";
}

/** One function member of a struct_ops variable, set to a program. */
export interface StructOpsFunc {
  /** The member's name in the object's struct. */
  member: string;
  /** Byte offset of the member in the object's struct. */
  offset: number;
  /** The program (function symbol of a struct_ops/ section). */
  program: string;
}

/** One struct_ops variable: a map of type struct_ops named after it. */
export interface StructOpsSpec {
  /** The variable's name (the map's name). */
  name: string;
  section: string;
  /** From .struct_ops.link: created with BPF_F_LINK, attached with BPF_LINK_CREATE. */
  link: boolean;
  /** The struct's name, e.g. "tcp_congestion_ops", and its id in the object's BTF. */
  typeName: string;
  typeId: number;
  /** The variable's bytes as compiled (function members zero). */
  data: Uint8Array;
  funcs: StructOpsFunc[];
}

type Fail = (problem: string, where?: { section?: string; offset?: number }) => never;

/**
 * The struct_ops variables of one section: each VAR of its DATASEC with its struct type and bytes;
 * each relocation (at the variable's offset + a member's) names the program of that member.
 */
export function readStructOps(
  b: Bytes, section: RawSection, relocations: { offset: number; symbol: number }[] | undefined, symbols: RawSymbol[],
  btf: Btf | undefined, programAt: (sectionIndex: number, offset: number) => string | undefined, fail: Fail,
): StructOpsSpec[] {
  const where = { section: section.name, offset: section.offset };
  if (!btf) fail("struct_ops variables need the object's BTF (compile with -g)", where);
  const sec = btf!.datasec(section.name);
  if (!sec || sec.kind !== BTF_KIND_DATASEC) fail(`no BTF DATASEC for ${section.name}: cannot tell its variables' types`, where);
  const out: StructOpsSpec[] = [];
  // clang leaves the DATASEC's offsets 0 in objects (libbpf fixes them up from the symbols): the symbols say where each variable is
  const places: { offset: number; size: number }[] = [];
  for (const si of sec!.secinfos ?? []) {
    let v: BtfType;
    let st: BtfType;
    try {
      v = btf!.type(si.type);
      if (v.kind !== BTF_KIND_VAR) fail(`${section.name}: BTF entry ${si.type} is a ${btfKindName(v.kind)}, not a variable`, where);
      st = btf!.skipQualifiers(v.sizeOrType);
    } catch (e) {
      if (e instanceof BtfError) fail(`${section.name}: ${e.message}`, where);
      throw e;
    }
    if (st.kind !== BTF_KIND_STRUCT) fail(`struct_ops variable ${quote(v.name)} is a ${btfKindName(st.kind)}, not a struct`, where);
    const sym = symbols.find((x) => x.shndx === section.index && x.name === v.name);
    if (!sym) fail(`struct_ops variable ${quote(v.name)} has no symbol in ${section.name}`, where);
    const offset = sym!.value;
    const size = st.sizeOrType;
    if (offset + size > section.size) fail(`struct_ops variable ${quote(v.name)} (offset ${offset}, ${size} bytes) does not fit ${section.name} (${section.size} bytes)`, where);
    places.push({ offset, size });
    const data = section.type === SHT_NOBITS ? new Uint8Array(size) : b.bytes.slice(section.offset + offset, section.offset + offset + size);
    out.push({ name: v.name, section: section.name, link: section.name.endsWith(".link"), typeName: st.name, typeId: st.id, data, funcs: [] });
  }
  for (const r of relocations ?? []) {
    const at = { section: section.name, offset: section.offset + r.offset };
    const i = places.findIndex((x) => r.offset >= x.offset && r.offset < x.offset + x.size);
    const so = out[i];
    if (!so) fail(`relocation at offset ${r.offset} of ${section.name} is outside every struct_ops variable`, at);
    const st = btf!.type(so!.typeId);
    const off = r.offset - places[i]!.offset;
    const m = (st.members ?? []).find((x) => memberBitOffset(st, x) === off * 8);
    if (!m || !isFuncPointer(btf!, m.type)) fail(`relocation at offset ${off} of struct_ops variable ${quote(so!.name)} is not on a function pointer member of struct ${so!.typeName}`, at);
    const sym = symbols[r.symbol];
    const prog = sym ? programAt(sym.shndx, sym.value) : undefined;
    if (!prog) fail(`member ${quote(m!.name)} of ${quote(so!.name)} points at ${quote(sym?.name ?? `symbol ${r.symbol}`)}, which is not a program of a struct_ops/ section`, at);
    so!.funcs.push({ member: m!.name, offset: off, program: prog! });
  }
  return out;
}

/** The kind of a type after its qualifiers; 0 for void (id 0). */
function kindOf(btf: Btf, id: number): number {
  return id === 0 ? 0 : btf.skipQualifiers(id).kind;
}

function isFuncPointer(btf: Btf, id: number): boolean {
  if (kindOf(btf, id) !== BTF_KIND_PTR) return false;
  return kindOf(btf, btf.skipQualifiers(id).sizeOrType) === BTF_KIND_FUNC_PROTO;
}

/** The kernel's side of a struct_ops type: the struct, its bpf_struct_ops_ wrapper (the map's value) and where the struct sits in it. */
export interface StructOpsKernelType {
  typeId: number;
  valueTypeId: number;
  valueSize: number;
  /** Byte offset of the struct (member `data`) inside the value. */
  dataOffset: number;
}

export class StructOpsError extends Error {}

/** Finds `typeName` and `bpf_struct_ops_<typeName>` in a kernel BTF (libbpf's find_struct_ops_kern_types). */
export function kernelStructOpsType(kernel: Btf, typeName: string): StructOpsKernelType {
  const t = kernel.find(BTF_KIND_STRUCT, typeName);
  if (!t) throw new StructOpsError(`this kernel has no struct ${typeName}`);
  const v = kernel.find(BTF_KIND_STRUCT, `bpf_struct_ops_${typeName}`);
  if (!v) throw new StructOpsError(`struct ${typeName} is not a struct_ops type of this kernel (no struct bpf_struct_ops_${typeName} in its BTF)`);
  const data = (v.members ?? []).find((m) => m.type === t.id);
  if (!data) throw new StructOpsError(`struct bpf_struct_ops_${typeName} of this kernel holds no struct ${typeName}`);
  return { typeId: t.id, valueTypeId: v.id, valueSize: v.sizeOrType, dataOffset: memberBitOffset(v, data) / 8 };
}

/** What a struct_ops program is loaded with: the kernel struct (attach_btf_id) and its member's index (expected_attach_type). */
export interface StructOpsProgramTarget {
  attachBtfId: number;
  memberIndex: number;
  /** "tcp_congestion_ops.cong_avoid", for messages. */
  what: string;
}

/** The kernel value of a struct_ops variable, its function members left for the programs' fds. */
export interface StructOpsLayout {
  kernel: StructOpsKernelType;
  /** value_size bytes: the object's non-function members copied into the kernel's layout. */
  value: Uint8Array;
  /** Where each program's fd goes in `value` (8 bytes), and what it is loaded against. */
  slots: { program: string; valueOffset: number; target: StructOpsProgramTarget }[];
}

/**
 * libbpf's bpf_map__init_kern_struct_ops: each member of the object's struct is matched by name in
 * the kernel's struct; a member the kernel lacks is an error unless it is zero; kinds must agree,
 * bitfields are refused, data members must have the kernel's size and are copied; function members
 * get the program's fd later (at the member's kernel offset) and give its program's target.
 */
export function layoutStructOps(spec: StructOpsSpec, objBtf: Btf, kernel: Btf): StructOpsLayout {
  const k = kernelStructOpsType(kernel, spec.typeName);
  const kt = kernel.type(k.typeId);
  const ot = objBtf.type(spec.typeId);
  const value = new Uint8Array(k.valueSize);
  const slots: StructOpsLayout["slots"] = [];
  const say = (m: string) => `struct_ops ${quote(spec.name)} (struct ${spec.typeName}): ${m}`;
  for (const m of ot.members ?? []) {
    const bits = memberBitOffset(ot, m);
    const size = isFuncPointer(objBtf, m.type) ? 8 : objBtf.sizeOf(m.type);
    const off = bits / 8;
    const func = spec.funcs.find((f) => f.offset === off && f.member === m.name);
    const bytes = spec.data.subarray(off, off + size);
    const ki = (kt.members ?? []).findIndex((x) => x.name === m.name);
    if (ki < 0) {
      if (!func && bytes.every((x) => x === 0)) continue; // a zero member this kernel does not have: left out, as libbpf does
      throw new StructOpsError(say(`member ${quote(m.name)} is set, but the kernel's struct has no such member`));
    }
    const km = kt.members![ki]!;
    if (memberBitfieldSize(ot, m) || memberBitfieldSize(kt, km) || bits % 8) throw new StructOpsError(say(`member ${quote(m.name)} is a bitfield (not supported, as in libbpf)`));
    const kOff = k.dataOffset + memberBitOffset(kt, km) / 8;
    const objKind = kindOf(objBtf, m.type);
    const kernKind = kindOf(kernel, km.type);
    if (objKind !== kernKind) throw new StructOpsError(say(`member ${quote(m.name)} is a ${btfKindName(objKind)} in the object, a ${btfKindName(kernKind)} in the kernel`));
    if (isFuncPointer(objBtf, m.type)) {
      if (!isFuncPointer(kernel, km.type)) throw new StructOpsError(say(`member ${quote(m.name)} is a function pointer in the object, not in the kernel`));
      if (func) slots.push({ program: func.program, valueOffset: kOff, target: { attachBtfId: k.typeId, memberIndex: ki, what: `${spec.typeName}.${m.name}` } });
      continue;
    }
    const kSize = kernel.sizeOf(km.type);
    if (kSize !== size) throw new StructOpsError(say(`member ${quote(m.name)} is ${size} bytes in the object, ${kSize} in the kernel`));
    value.set(bytes, kOff);
  }
  return { kernel: k, value, slots };
}

/** The value for BPF_MAP_UPDATE_ELEM: the layout with each program's fd in its member. */
export function structOpsValue(layout: StructOpsLayout, fdOf: (program: string) => number | undefined): Uint8Array {
  const v = layout.value.slice();
  const view = new DataView(v.buffer);
  for (const s of layout.slots) {
    const fd = fdOf(s.program);
    if (fd === undefined) throw new StructOpsError(`program ${quote(s.program)} (${s.target.what}) was not loaded`);
    view.setBigUint64(s.valueOffset, BigInt(fd), true);
  }
  return v;
}

// Map definitions: legacy SEC("maps") structs (samples/bpf, iproute2, old libbpf), BTF-defined
// SEC(".maps"), and global data sections as one-element arrays. Pure.

import { quote } from "../errors.ts";
import { BPF_F_RDONLY_PROG, BPF_MAP_TYPE_ARRAY } from "../uapi.ts";
import {
  Btf, BtfError, BTF_KIND_ARRAY, BTF_KIND_DATASEC, BTF_KIND_FUNC_PROTO, BTF_KIND_PTR, BTF_KIND_STRUCT, btfKindName, type BtfType,
} from "./btf.ts";
import type { Bytes, RawSection, RawSymbol } from "./raw.ts";
import { SHT_NOBITS, STT_FILE, STT_SECTION } from "./raw.ts";
import type { MapSpec } from "./types.ts";

const BPF_MAP_TYPE_ARRAY_OF_MAPS = 12;
const BPF_MAP_TYPE_HASH_OF_MAPS = 13;
const BPF_F_NUMA_NODE = 1 << 2;

type Fail = (problem: string, where?: { section?: string; offset?: number }) => never;

/** Symbols that name definitions in a data-like section (no section/file symbols, no local labels). */
export function definitionSymbols(symbols: RawSymbol[], section: RawSection): RawSymbol[] {
  return symbols
    .filter((s) => s.shndx === section.index && s.type !== STT_SECTION && s.type !== STT_FILE && s.name !== "")
    .sort((a, b) => a.value - b.value || a.index - b.index);
}

/** True for the global data sections libbpf turns into maps: .data*, .rodata*, .bss*. */
export function isDataSection(name: string): boolean {
  return /^\.(data|rodata|bss)(\..*)?$/.test(name);
}

/**
 * Legacy map definitions. The size of one definition is the section size divided by the number of
 * map symbols in it. Known layouts (all u32 fields):
 * - 16 bytes: type, key_size, value_size, max_entries (Linux 4.1–4.5 samples)
 * - 20 bytes: + map_flags (samples/bpf 4.6–4.9; libbpf's struct bpf_map_def)
 * - 24 bytes: + inner_map_idx (samples/bpf 4.12)
 * - 28 bytes: + id, pinning (iproute2's struct bpf_elf_map) or + inner_map_idx, numa_node (samples/bpf
 *   4.14+ struct bpf_load_map_def). Both are read as iproute2's unless the map is a map-in-map or has
 *   BPF_F_NUMA_NODE; for samples/bpf definitions that set neither, both fields are 0 either way.
 * - 36 bytes: iproute2 + inner_id, inner_idx
 * - larger: the first 20 bytes are used.
 */
export function readLegacyMaps(b: Bytes, section: RawSection, symbols: RawSymbol[], fail: Fail): MapSpec[] {
  const syms = definitionSymbols(symbols, section);
  const where = { section: section.name, offset: section.offset };
  if (syms.length === 0) {
    if (section.size > 0) fail("map section without map symbols: cannot tell the definitions apart", where);
    return [];
  }
  if (section.type === SHT_NOBITS) fail("map definitions in a NOBITS section (all zero)", where);
  if (section.size % syms.length !== 0) {
    fail(`map section size ${section.size} is not a multiple of its ${syms.length} map symbols`, where);
  }
  const defSize = section.size / syms.length;
  if (defSize < 16) fail(`map definitions of ${defSize} bytes are too small (at least 16: type, key_size, value_size, max_entries)`, where);
  const maps: MapSpec[] = [];
  let prev = -1;
  for (const s of syms) {
    const at = { section: section.name, offset: section.offset + Math.min(s.value, section.size) };
    if (s.value % defSize !== 0 || s.value + defSize > section.size) {
      fail(`map ${quote(s.name)} at offset ${s.value} does not line up with ${defSize}-byte definitions`, at);
    }
    if (s.value === prev) fail(`map symbols ${quote(s.name)} and another share offset ${s.value}`, at);
    prev = s.value;
    const p = section.offset + s.value;
    const w = (i: number) => b.u32(p + 4 * i);
    const m: MapSpec = {
      name: s.name, kind: "legacy", type: w(0), keySize: w(1), valueSize: w(2), maxEntries: w(3),
      flags: defSize >= 20 ? w(4) : 0, section: section.name, sectionIndex: section.index, sectionOffset: s.value,
    };
    switch (defSize) {
      case 16:
        m.layout = "16-byte bpf_map_def (Linux 4.1-4.5 samples)";
        break;
      case 20:
        m.layout = "20-byte bpf_map_def (samples/bpf 4.9, libbpf)";
        break;
      case 24:
        m.layout = "24-byte bpf_map_def with inner_map_idx (samples/bpf 4.12)";
        m.innerMapIndex = w(5);
        break;
      case 28:
        if (m.type === BPF_MAP_TYPE_ARRAY_OF_MAPS || m.type === BPF_MAP_TYPE_HASH_OF_MAPS || (m.flags & BPF_F_NUMA_NODE) !== 0) {
          m.layout = "28-byte bpf_load_map_def (samples/bpf 4.14+: inner_map_idx, numa_node)";
          m.innerMapIndex = w(5);
          m.numaNode = w(6);
        } else {
          m.layout = "28-byte bpf_elf_map (iproute2: id, pinning)";
          m.id = w(5);
          m.pinning = w(6);
        }
        break;
      case 36:
        m.layout = "36-byte bpf_elf_map (iproute2: id, pinning, inner_id, inner_idx)";
        m.id = w(5);
        m.pinning = w(6);
        m.innerMapIndex = w(8);
        break;
      default:
        m.layout = `${defSize}-byte definition (unknown layout: first 20 bytes used)`;
    }
    maps.push(m);
  }
  return maps;
}

/**
 * BTF-defined maps: each symbol in ".maps" is a VAR whose type is a struct with members
 * `type`, `max_entries`, `map_flags`, `key_size`, `value_size`, `pinning`, `numa_node`, `map_extra`
 * (numbers, encoded as `int (*name)[N]`), `key`/`value` (types, encoded as `T *name`) and `values`
 * (inner map definition of a map-in-map, `struct {...} *values[]`). Unknown members are ignored.
 */
export function readBtfMaps(section: RawSection, symbols: RawSymbol[], btf: Btf | undefined, btfSection: RawSection | undefined, fail: Fail): MapSpec[] {
  const syms = definitionSymbols(symbols, section);
  if (syms.length === 0) return [];
  if (!btf || !btfSection) fail("BTF-defined maps need a .BTF section (compile with -g)", { section: section.name, offset: section.offset });
  const datasec = btf!.datasec(section.name);
  const maps: MapSpec[] = [];
  for (const s of syms) {
    const at = { section: section.name, offset: section.offset + Math.min(s.value, section.size) };
    if (s.value >= section.size && section.size > 0) fail(`map ${quote(s.name)} at offset ${s.value} is outside the section`, at);
    try {
      let v: BtfType | undefined;
      if (datasec?.kind === BTF_KIND_DATASEC) {
        for (const si of datasec.secinfos ?? []) {
          const t = btf!.types[si.type];
          if (t && t.name === s.name) v = t;
        }
      }
      v ??= btf!.varsNamed(s.name)[0];
      if (!v) fail(`map ${quote(s.name)} has no BTF variable`, at);
      const m = btfMapDef(btf!, v!.sizeOrType, s.name, 0);
      maps.push({ ...m, section: section.name, sectionIndex: section.index, sectionOffset: s.value });
    } catch (e) {
      if (e instanceof BtfError) fail(`map ${quote(s.name)}: ${e.message}`, { section: btfSection!.name, offset: btfSection!.offset + e.offset });
      throw e;
    }
  }
  return maps;
}

function btfMapDef(btf: Btf, typeId: number, name: string, depth: number): Omit<MapSpec, "section" | "sectionIndex" | "sectionOffset"> {
  const st = btf.skipQualifiers(typeId);
  if (st.kind !== BTF_KIND_STRUCT) throw new BtfError(`definition is a ${btfKindName(st.kind)}, not a struct`, st.sectionOffset);
  const m: Omit<MapSpec, "section" | "sectionIndex" | "sectionOffset"> = {
    name, kind: "btf", type: 0, keySize: 0, valueSize: 0, maxEntries: 0, flags: 0,
  };
  let hasType = false;
  const num = (member: { name: string; type: number }): number => {
    const p = btf.skipQualifiers(member.type);
    if (p.kind !== BTF_KIND_PTR) throw new BtfError(`member ${quote(member.name)} is not __uint() (a pointer to an array)`, p.sectionOffset);
    const a = btf.skipQualifiers(p.sizeOrType);
    if (a.kind !== BTF_KIND_ARRAY || !a.array) throw new BtfError(`member ${quote(member.name)} is not __uint() (a pointer to an array)`, a.sectionOffset);
    return a.array.nelems;
  };
  const pointee = (member: { name: string; type: number }): number => {
    const p = btf.skipQualifiers(member.type);
    if (p.kind !== BTF_KIND_PTR) throw new BtfError(`member ${quote(member.name)} is not __type() (a pointer)`, p.sectionOffset);
    return p.sizeOrType;
  };
  let keySize: number | undefined;
  let valueSize: number | undefined;
  for (const mem of st.members ?? []) {
    switch (mem.name) {
      case "type":
        m.type = num(mem);
        hasType = true;
        break;
      case "max_entries":
        m.maxEntries = num(mem);
        break;
      case "map_flags":
        m.flags = num(mem);
        break;
      case "numa_node":
        m.numaNode = num(mem);
        break;
      case "pinning":
        m.pinning = num(mem);
        break;
      case "map_extra":
        m.mapExtra = num(mem);
        break;
      case "key_size":
        keySize = num(mem);
        break;
      case "value_size":
        valueSize = num(mem);
        break;
      case "key": {
        const id = pointee(mem);
        m.keyTypeId = id;
        m.keySize = btf.sizeOf(id);
        break;
      }
      case "value": {
        const id = pointee(mem);
        m.valueTypeId = id;
        m.valueSize = btf.sizeOf(id);
        break;
      }
      case "values": {
        // struct inner *values[]: an array (usually of 0 elements) of pointers to the inner definition
        const a = btf.skipQualifiers(mem.type);
        if (a.kind !== BTF_KIND_ARRAY || !a.array) throw new BtfError("member 'values' is not __array()", a.sectionOffset);
        if (depth > 0) throw new BtfError("nested map-in-map definitions are not supported", a.sectionOffset);
        const p = btf.skipQualifiers(a.array.type);
        if (p.kind !== BTF_KIND_PTR) throw new BtfError("member 'values' is not an array of pointers", p.sectionOffset);
        m.valueSize = 4;
        m.valuesOffset = mem.offset / 8; // where the relocations of the initial values (.rel.maps) point
        // a PROG_ARRAY's `values` are programs (function prototypes): initial contents, not an inner map
        if (btf.skipQualifiers(p.sizeOrType).kind === BTF_KIND_FUNC_PROTO) break;
        m.innerMap = { ...btfMapDef(btf, p.sizeOrType, `${name}.inner`, depth + 1), section: "", sectionIndex: 0, sectionOffset: 0 };
        break;
      }
    }
  }
  if (keySize !== undefined) {
    if (m.keyTypeId !== undefined && keySize !== m.keySize) throw new BtfError(`key_size ${keySize} does not match the key type's size ${m.keySize}`, st.sectionOffset);
    m.keySize = keySize;
  }
  if (valueSize !== undefined) {
    if (m.valueTypeId !== undefined && valueSize !== m.valueSize) throw new BtfError(`value_size ${valueSize} does not match the value type's size ${m.valueSize}`, st.sectionOffset);
    m.valueSize = valueSize;
  }
  if (!hasType) throw new BtfError("no 'type' member", st.sectionOffset);
  return m;
}

/** A global data section as a one-element array map (BPF_F_RDONLY_PROG for .rodata*). */
export function dataMap(b: Bytes, section: RawSection): MapSpec {
  const m: MapSpec = {
    name: section.name, kind: "data", type: BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: section.size, maxEntries: 1,
    flags: section.name.startsWith(".rodata") ? BPF_F_RDONLY_PROG : 0, section: section.name,
    sectionIndex: section.index, sectionOffset: 0,
  };
  if (section.type !== SHT_NOBITS) m.initialData = b.bytes.slice(section.offset, section.offset + section.size);
  return m;
}

/**
 * Initial values of BTF map-in-map and prog-array maps: `.values = { [2] = &inner, ... }` leaves a
 * relocation in .rel.maps at the definition's `values` member + 8 × index, naming the inner map or
 * program (libbpf's bpf_object__collect_map_relos).
 */
export function readMapInitialValues(maps: MapSpec[], section: RawSection, relocations: { offset: number; symbol: number }[], symbols: RawSymbol[], fail: Fail): void {
  const defs = maps.filter((m) => m.kind === "btf" && m.sectionIndex === section.index).sort((a, b) => a.sectionOffset - b.sectionOffset);
  for (const r of relocations) {
    const at = { section: section.name, offset: section.offset + r.offset };
    const m = [...defs].reverse().find((d) => d.sectionOffset <= r.offset);
    const sym = symbols[r.symbol];
    if (!m || m.valuesOffset === undefined || !sym) fail(`relocation at offset ${r.offset} of ${section.name} is not inside the 'values' of a map definition`, at);
    const rel = r.offset - m!.sectionOffset - m!.valuesOffset!;
    if (rel < 0 || rel % 8 !== 0) fail(`relocation at offset ${r.offset} of ${section.name} is not on an element of '${m!.name}'s values`, at);
    const index = rel / 8;
    if (index >= m!.maxEntries) fail(`map '${m!.name}': initial value [${index}] is past its ${m!.maxEntries} entries`, at);
    (m!.initialValues ??= []).push({ index, symbol: sym!.name });
  }
}

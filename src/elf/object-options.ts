// What the user changes in an object before it is loaded, as a libbpf skeleton's user space does:
// `NAME=VALUE` writes a global variable of .rodata/.data/.bss (typed by its BTF: integers with
// range checks, enums by name, bools, char arrays from strings), `NAME:max_entries=N,...` resizes a
// map (the CLI's --set and --map, the library's variable.set() and maxEntries). Both change the
// ObjectSpec in place (its MapSpecs). Errors name the variable or map as the library does; the
// CLI shows its flag there (opt()). Pure.

import { InvalidArgumentError, opt, optionText, type ErrorText } from "../errors.ts";
import { BTF_INT_BOOL, BTF_INT_SIGNED, BTF_KIND_ARRAY, BTF_KIND_DATASEC, BTF_KIND_ENUM, BTF_KIND_ENUM64, BTF_KIND_INT, BTF_KIND_VAR, btfKindName, type Btf, type BtfType } from "./btf.ts";
import type { MapSpec, ObjectSpec } from "./types.ts";

const STT_OBJECT = 1;

/** The global variable `name`: its data map, byte offset and BTF type. */
/** A variable as a message names it: "variable 'x'" (library), "--set x" (CLI). */
const variable = (name: string) => opt("variable", name, `variable '${name}'`);
/** A map as a message names it: "map 'x'" (library), "--map x" (CLI). */
const mapOption = (name: string) => opt("map", name, `map '${name}'`);

export function findVariable(obj: ObjectSpec, btf: Btf, name: string): { map: MapSpec; offset: number; type: number } {
  for (const map of obj.maps) {
    if (map.kind !== "data") continue;
    const sec = btf.datasec(map.name);
    if (!sec || sec.kind !== BTF_KIND_DATASEC) continue;
    for (const s of sec.secinfos ?? []) {
      const v = btf.type(s.type);
      if (v.kind !== BTF_KIND_VAR || v.name !== name) continue;
      // clang leaves global variables' DATASEC offsets 0: the ELF symbol has the real one
      const sym = obj.symbols.find((y) => y.name === name && y.shndx === map.sectionIndex && y.type === STT_OBJECT);
      return { map, offset: sym ? sym.value : s.offset, type: v.sizeOrType };
    }
  }
  const known = obj.maps.filter((m) => m.kind === "data").flatMap((m) => (btf.datasec(m.name)?.secinfos ?? []).map((s) => btf.type(s.type)).filter((v) => v.kind === BTF_KIND_VAR).map((v) => v.name));
  throw new InvalidArgumentError("variable", optionText`${variable(name)}: ${obj.file} has no global variable '${name}' in a data section its programs use${known.length ? ` (it has ${known.join(", ")})` : ""}`);
}

function parseInteger(what: ErrorText, text: string, bytes: number, signed: boolean): bigint {
  let v: bigint;
  const t = text.trim();
  if (!/^-?(0x[0-9a-f]+|0b[01]+|0o[0-7]+|[0-9]+)$/i.test(t)) throw new InvalidArgumentError("variable", optionText`${what}: '${text}' is not an integer`);
  v = t.startsWith("-") ? -BigInt(t.slice(1)) : BigInt(t);
  const bits = BigInt(bytes * 8);
  const min = signed ? -(1n << (bits - 1n)) : 0n;
  const max = signed ? (1n << (bits - 1n)) - 1n : (1n << bits) - 1n;
  if (v < min || v > max) throw new InvalidArgumentError("variable", optionText`${what}: ${text} is out of range for a${signed ? " signed" : "n unsigned"} ${bytes * 8}-bit integer (${min}..${max})`);
  return v;
}

function writeInt(out: Uint8Array, v: bigint, bytes: number): void {
  const u = BigInt.asUintN(bytes * 8, v);
  for (let i = 0; i < bytes; i++) out[i] = Number((u >> BigInt(8 * i)) & 0xffn);
}

/** The bytes of VALUE for a variable of BTF type `typeId`. */
export function encodeValue(btf: Btf, typeId: number, text: string, what: ErrorText): Uint8Array {
  const t: BtfType = btf.skipQualifiers(typeId);
  switch (t.kind) {
    case BTF_KIND_INT: {
      const size = t.sizeOrType;
      const out = new Uint8Array(size);
      if (t.int!.encoding & BTF_INT_BOOL) {
        const b = { true: 1n, false: 0n, "1": 1n, "0": 0n }[text.trim().toLowerCase() as "true"];
        if (b === undefined) throw new InvalidArgumentError("variable", optionText`${what}: a bool takes true, false, 1 or 0, not '${text}'`);
        writeInt(out, b, size);
      } else writeInt(out, parseInteger(what, text, size, (t.int!.encoding & BTF_INT_SIGNED) !== 0), size);
      return out;
    }
    case BTF_KIND_ENUM:
    case BTF_KIND_ENUM64: {
      const size = t.sizeOrType;
      const out = new Uint8Array(size);
      const byName = t.values!.find((e) => e.name === text.trim());
      if (byName) writeInt(out, byName.value, size);
      else if (/^-?[0-9]/.test(text.trim())) writeInt(out, parseInteger(what, text, size, t.kindFlag || t.values!.some((e) => e.value < 0n)), size);
      else throw new InvalidArgumentError("variable", optionText`${what}: '${text}' is not a value of enum ${t.name || "(anonymous)"} (${t.values!.map((e) => e.name).join(", ")})`);
      return out;
    }
    case BTF_KIND_ARRAY: {
      const elem = btf.skipQualifiers(t.array!.type);
      if (elem.kind === BTF_KIND_INT && elem.sizeOrType === 1) {
        const s = new TextEncoder().encode(text);
        if (s.length >= t.array!.nelems) throw new InvalidArgumentError("variable", optionText`${what}: '${text}' (${s.length} bytes) does not fit in char[${t.array!.nelems}] with its NUL`);
        const out = new Uint8Array(t.array!.nelems);
        out.set(s);
        return out;
      }
      break;
    }
  }
  throw new InvalidArgumentError("variable", optionText`${what}: a variable of BTF ${btfKindName(t.kind)}${t.name ? ` '${t.name}'` : ""} cannot be set (integers, bools, enums and char arrays can)`);
}

/** `NAME=VALUE` (--set): writes the variable into its data map's initial value. */
export function setVariable(obj: ObjectSpec, btf: Btf | undefined, assignment: string): void {
  const eq = assignment.indexOf("=");
  if (eq <= 0) throw new InvalidArgumentError("variable", optionText`bad ${opt("variable", undefined, "assignment")} '${assignment}': give NAME=VALUE`);
  const name = assignment.slice(0, eq);
  const what = optionText`${variable(name)}`;
  if (!btf) throw new InvalidArgumentError("variable", optionText`${what}: ${obj.file} has no BTF (build it with clang -g) to tell where and of what type the variable is`);
  const { map, offset, type } = findVariable(obj, btf, name);
  const bytes = encodeValue(btf, type, assignment.slice(eq + 1), what);
  if (offset + bytes.length > map.valueSize) throw new InvalidArgumentError("variable", optionText`${what}: the variable lies outside section ${map.name}`);
  const data = map.initialData ? map.initialData.slice() : new Uint8Array(map.valueSize);
  data.set(bytes, offset);
  map.initialData = data;
}

/** `NAME:max_entries=N[,value_size=M][,key_size=K]` (--map): sizes a map its object left for user space to size. */
export function resizeMap(obj: ObjectSpec, option: string): void {
  const colon = option.indexOf(":");
  if (colon <= 0) throw new InvalidArgumentError("map", optionText`bad ${opt("map", undefined, "map size")} '${option}': give NAME:max_entries=N[,value_size=M]`);
  const name = option.slice(0, colon);
  const map = obj.maps.find((m) => m.name === name);
  if (!map) throw new InvalidArgumentError("map", optionText`${mapOption(name)}: ${obj.file} has no map '${name}' (it has ${obj.maps.map((m) => m.name).join(", ") || "none"})`);
  for (const kv of option.slice(colon + 1).split(",")) {
    const [k, v] = kv.split("=");
    const n = v !== undefined && /^(0x[0-9a-f]+|[0-9]+)$/i.test(v.trim()) ? Number(v.trim()) : NaN;
    if (!(n >= 0 && n <= 0xffffffff)) throw new InvalidArgumentError(k === "value_size" ? "map.valueSize" : k === "key_size" ? "map.keySize" : "map.maxEntries", optionText`bad ${opt("map", undefined, "map size")} '${option}': '${kv}' needs a number (max_entries=N, value_size=M, key_size=K)`);
    if (k === "max_entries") map.maxEntries = n;
    else if (k === "value_size") {
      if (map.kind === "data") throw new InvalidArgumentError("map.valueSize", optionText`${mapOption(name)}: the value of a data section is its variables; only max_entries/value_size of other maps can change`);
      map.valueSize = n;
      delete map.valueTypeId; // the BTF type no longer describes the value
    } else if (k === "key_size") {
      map.keySize = n;
      delete map.keyTypeId;
    } else throw new InvalidArgumentError("map", optionText`bad ${opt("map", undefined, "map size")} '${option}': unknown '${k}' (max_entries, value_size, key_size)`);
  }
}

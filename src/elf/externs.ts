// Externs of an object, the way libbpf reads them (bpf_object__collect_externs): undefined ELF
// symbols described in the object's BTF by a VAR or FUNC of the `.kconfig` or `.ksyms` DATASEC.
// - `.kconfig` VARs: values from the kernel config (or LINUX_* values bpfload computes), laid out
//   in one read-only map; the program reads them through ld_imm64 BPF_PSEUDO_MAP_VALUE.
// - `.ksyms` VARs: kernel variables; typed (BPF_PSEUDO_BTF_ID) or untyped `void` (a kallsyms address).
// - `.ksyms` FUNCs: kfuncs, called through BPF_PSEUDO_KFUNC_CALL.
// Pure: the kconfig text parser and the value encoding live here too, so they test without a kernel.

import { quote } from "../errors.ts";
import {
  BTF_INT_BOOL, BTF_INT_CHAR, BTF_INT_SIGNED, BTF_KIND_ARRAY, BTF_KIND_CONST, BTF_KIND_ENUM, BTF_KIND_ENUM64, BTF_KIND_FUNC,
  BTF_KIND_INT, BTF_KIND_RESTRICT, BTF_KIND_TYPE_TAG, BTF_KIND_TYPEDEF, BTF_KIND_VAR, BTF_KIND_VOLATILE, type Btf,
} from "./btf.ts";

export type ExternKind = "kconfig" | "ksym" | "kfunc";

/** How a `.kconfig` value is stored (libbpf's kcfg types). */
export type KconfigType = "bool" | "tristate" | "char" | "int" | "chars";

export interface ExternSpec {
  name: string;
  kind: ExternKind;
  /** Declared `__weak`: left zero (or its call dead) when the kernel has nothing of that name. */
  weak: boolean;
  /** Id of the VAR (kconfig, ksym) or FUNC (kfunc) in the object's BTF. */
  btfId: number;
  /** ksym: the variable's type with modifiers skipped (0: `void`, an untyped ksym). kfunc: its FUNC_PROTO. */
  typeId: number;
  /** kconfig: storage of the value and its place in the .kconfig map. */
  kconfig?: { type: KconfigType; size: number; align: number; signed: boolean; offset: number };
}

/** The `.kconfig` map's name, as libbpf's section name. */
export const KCONFIG_MAP = ".kconfig";

/** An extern that cannot be resolved; `badInput`: the object's declaration is at fault, not the kernel. */
export class ExternError extends Error {
  constructor(message: string, readonly badInput = false) {
    super(message);
  }
}

/** Every extern of the object, by name; `undefinedSymbols`: names of the object's SHN_UNDEF symbols. */
export function readExterns(btf: Btf | undefined, undefinedSymbols: Set<string>): Map<string, ExternSpec> {
  const out = new Map<string, ExternSpec>();
  if (!btf || undefinedSymbols.size === 0) return out;
  for (const secName of [".kconfig", ".ksyms"]) {
    const sec = btf.datasec(secName);
    if (!sec) continue;
    for (const si of sec.secinfos ?? []) {
      const t = btf.type(si.type);
      if (!undefinedSymbols.has(t.name)) continue;
      const weak = false; // set by the caller from the ELF symbol's binding
      if (t.kind === BTF_KIND_FUNC) {
        if (secName !== ".ksyms") throw new ExternError(`extern function ${quote(t.name)} in ${secName}: functions are __ksym only`, true);
        out.set(t.name, { name: t.name, kind: "kfunc", weak, btfId: t.id, typeId: t.sizeOrType });
      } else if (t.kind === BTF_KIND_VAR) {
        const typeId = skipToType(btf, t.sizeOrType);
        if (secName === ".ksyms") out.set(t.name, { name: t.name, kind: "ksym", weak, btfId: t.id, typeId });
        else out.set(t.name, { name: t.name, kind: "kconfig", weak, btfId: t.id, typeId, kconfig: { ...kconfigType(btf, t.sizeOrType, t.name), offset: 0 } });
      }
    }
  }
  layoutKconfig([...out.values()]);
  return out;
}

/** The type under typedefs and qualifiers; 0 for `void` (`const void` included). */
export function skipToType(btf: Btf, id: number): number {
  for (let i = 0; id !== 0 && i < 64; i++) {
    const k = btf.kindOf(id);
    if (k !== BTF_KIND_TYPEDEF && k !== BTF_KIND_CONST && k !== BTF_KIND_VOLATILE && k !== BTF_KIND_RESTRICT && k !== BTF_KIND_TYPE_TAG) return id;
    id = btf.type(id).sizeOrType;
  }
  return id;
}

/** libbpf's find_kcfg_type: what a `.kconfig` variable's type stores. */
function kconfigType(btf: Btf, typeId: number, name: string): { type: KconfigType; size: number; align: number; signed: boolean } {
  const t = btf.skipQualifiers(typeId);
  if (t.kind === BTF_KIND_INT) {
    const enc = t.int!.encoding;
    const size = t.sizeOrType;
    if (enc & BTF_INT_BOOL || (t.name === "_Bool" && size === 1)) return { type: "bool", size: 1, align: 1, signed: false };
    if (enc & BTF_INT_CHAR || (size === 1 && t.name === "char")) return { type: "char", size: 1, align: 1, signed: false };
    if ([1, 2, 4, 8].includes(size)) return { type: "int", size, align: size, signed: (enc & BTF_INT_SIGNED) !== 0 };
  } else if (t.kind === BTF_KIND_ENUM || t.kind === BTF_KIND_ENUM64) {
    if (t.name === "libbpf_tristate") return { type: "tristate", size: t.sizeOrType, align: t.sizeOrType, signed: false };
    return { type: "int", size: t.sizeOrType, align: t.sizeOrType, signed: t.kindFlag };
  } else if (t.kind === BTF_KIND_ARRAY) {
    const el = btf.skipQualifiers(t.array!.type);
    if (el.kind === BTF_KIND_INT && el.sizeOrType === 1) return { type: "chars", size: t.array!.nelems, align: 1, signed: false };
  }
  throw new ExternError(`extern ${quote(name)} (__kconfig) has a type bpfload cannot fill: use bool, a char array, an integer or enum libbpf_tristate`, true);
}

/** Offsets in the .kconfig map as libbpf orders them: larger alignment first, then smaller size, then name. */
function layoutKconfig(all: ExternSpec[]): void {
  const k = all.filter((e) => e.kconfig).sort((a, b) =>
    b.kconfig!.align - a.kconfig!.align || a.kconfig!.size - b.kconfig!.size || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  let off = 0;
  for (const e of k) {
    off = Math.ceil(off / e.kconfig!.align) * e.kconfig!.align;
    e.kconfig!.offset = off;
    off += e.kconfig!.size;
  }
}

/** Size of the .kconfig map's value (0: the object has no kconfig externs). */
export function kconfigSize(externs: Iterable<ExternSpec>): number {
  let end = 0;
  for (const e of externs) if (e.kconfig) end = Math.max(end, e.kconfig.offset + e.kconfig.size);
  return end;
}

/** Where the externs sit, for the BTF fix-up before BPF_BTF_LOAD (btf/externs-btf.ts); undefined without externs. */
export function externBtfLayout(obj: { externs?: ExternSpec[] }): { kconfig: Map<string, { offset: number; size: number }>; kconfigSize: number } | undefined {
  if (!obj.externs?.length) return undefined;
  const kconfig = new Map<string, { offset: number; size: number }>();
  for (const e of obj.externs) if (e.kconfig) kconfig.set(e.name, { offset: e.kconfig.offset, size: e.kconfig.size });
  return { kconfig, kconfigSize: kconfigSize(obj.externs) };
}

/** `CONFIG_X=value` lines of a kernel config, as libbpf reads them (comments, `# ... is not set`, are skipped). */
export function parseKconfig(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (!line.startsWith("CONFIG_")) continue;
    const eq = line.indexOf("=");
    if (eq <= 0) continue;
    out.set(line.slice(0, eq), line.slice(eq + 1));
  }
  return out;
}

/** What bpfload knows of the running kernel beyond its config file. */
export interface KconfigSources {
  /** The config's CONFIG_ lines; undefined when no config file could be read (then `configProblem` says why). */
  config?: Map<string, string>;
  configProblem?: string;
  /** LINUX_KERNEL_VERSION */
  kernelVersion: number;
  /** LINUX_HAS_SYSCALL_WRAPPER, LINUX_HAS_BPF_COOKIE: asked only when an extern needs them. */
  hasSyscallWrapper: () => boolean;
  hasBpfCookie: () => boolean;
}

/**
 * The .kconfig map's bytes. A CONFIG_ value missing from the config, or any other name bpfload does
 * not know, is zero for a weak extern and an error naming it for a strong one.
 */
export function kconfigData(externs: Iterable<ExternSpec>, src: KconfigSources): Uint8Array {
  const list = [...externs].filter((e) => e.kconfig);
  const data = new Uint8Array(kconfigSize(list));
  for (const e of list) {
    const at = data.subarray(e.kconfig!.offset, e.kconfig!.offset + e.kconfig!.size);
    let value: string | undefined;
    if (e.name === "LINUX_KERNEL_VERSION") value = String(src.kernelVersion);
    else if (e.name === "LINUX_HAS_SYSCALL_WRAPPER") value = src.hasSyscallWrapper() ? "y" : "n";
    else if (e.name === "LINUX_HAS_BPF_COOKIE") value = src.hasBpfCookie() ? "y" : "n";
    // an unknown LINUX_ one: zero when weak, as libbpf does (selftests' test_core_extern declares one)
    else if (e.name.startsWith("LINUX_") && !e.weak) throw new ExternError(`extern ${quote(e.name)} (__kconfig): unknown LINUX_ value (bpfload knows LINUX_KERNEL_VERSION, LINUX_HAS_SYSCALL_WRAPPER, LINUX_HAS_BPF_COOKIE)`, true);
    else if (e.name.startsWith("CONFIG_")) {
      if (!src.config && !e.weak) throw new ExternError(`extern ${quote(e.name)} (__kconfig) needs the kernel config: ${src.configProblem ?? "none found"}`);
      value = src.config?.get(e.name);
    }
    if (value === undefined) {
      if (e.weak) continue; // zero, as libbpf leaves it
      throw new ExternError(`extern ${quote(e.name)} (__kconfig) is not in this kernel's config: declare it __weak to read 0 when absent`);
    }
    setKconfigValue(e, at, value);
  }
  return data;
}

/** Writes one config value (`y`/`m`/`n`, a number, a "string") into the extern's bytes, or throws ExternError. */
export function setKconfigValue(e: ExternSpec, at: Uint8Array, value: string): void {
  const k = e.kconfig!;
  const bad = (why: string): never => {
    throw new ExternError(`extern ${quote(e.name)} (__kconfig): value ${quote(value)} ${why}`, true);
  };
  if (value === "y" || value === "n" || value === "m") {
    switch (k.type) {
      case "bool":
        if (value === "m") bad("is a module (m): declare it enum libbpf_tristate or char");
        at[0] = value === "y" ? 1 : 0;
        return;
      case "tristate":
        writeInt(at, BigInt(value === "y" ? 1 : value === "m" ? 2 : 0));
        return;
      case "char":
        at[0] = value.charCodeAt(0);
        return;
      default:
        bad(`is y/m/n: declare it bool, enum libbpf_tristate or char, not ${k.type === "chars" ? "a char array" : "an integer"}`);
    }
  }
  if (value.startsWith('"')) {
    if (k.type !== "chars") bad("is a string: declare it a char array");
    if (value.length < 2 || !value.endsWith('"')) bad("is an unterminated string");
    const bytes = new TextEncoder().encode(value.slice(1, -1));
    // NUL-terminated and cut to fit, as libbpf does
    at.set(bytes.subarray(0, Math.max(0, at.length - 1)));
    return;
  }
  if (k.type !== "int" && k.type !== "char") bad("is a number: declare it an integer");
  let n: bigint;
  try {
    n = BigInt(/^-?0[xX]/.test(value) ? (value.startsWith("-") ? `-${value.slice(1)}` : value) : value);
  } catch {
    return bad("is neither y/m/n, a number nor a string");
  }
  const bits = BigInt(at.length * 8);
  const fits = k.signed ? n >= -(1n << (bits - 1n)) && n < 1n << (bits - 1n) : n >= 0n && n < 1n << bits;
  if (!fits) bad(`does not fit in ${at.length} byte${at.length > 1 ? "s" : ""}${k.signed ? " (signed)" : ""}`);
  writeInt(at, n);
}

function writeInt(at: Uint8Array, n: bigint): void {
  let u = BigInt.asUintN(at.length * 8, n);
  for (let i = 0; i < at.length; i++, u >>= 8n) at[i] = Number(u & 0xffn);
}

/** What one extern reference becomes in a linked program (LinkResolver.extern). */
export type ExternPatch =
  /** kconfig: ld_imm64 BPF_PSEUDO_MAP_VALUE of the .kconfig map at this offset */
  | { kind: "map-value"; fd: number; offset: number }
  /** typed ksym, or the address of a kfunc (bpf_ksym_exists): ld_imm64 BPF_PSEUDO_BTF_ID */
  | { kind: "btf-id"; btfId: number; btfObjFd: number }
  /** untyped ksym, or a weak one missing: ld_imm64 of this 64-bit value */
  | { kind: "imm64"; value: bigint }
  /** kfunc call: src_reg BPF_PSEUDO_KFUNC_CALL, imm the BTF FUNC id, off the fd_array index of its module (0: vmlinux) */
  | { kind: "kfunc"; btfId: number; fdIndex: number }
  /** weak kfunc missing from the kernel: a helper call with an id no kernel has (libbpf's poison), dead code if guarded */
  | { kind: "poison-call"; imm: number };

/** libbpf's POISON_CALL_KFUNC_BASE: the verifier names the call `unknown#2002000000+N` if it is reachable. */
export const POISON_CALL_KFUNC_BASE = 2002000000;

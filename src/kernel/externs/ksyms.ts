// __ksym externs and kfuncs resolved against the running kernel, as libbpf does
// (bpf_object__resolve_ksyms_btf_id, bpf_object__read_kallsyms_file):
// - typed variables: the VAR of that name in vmlinux BTF, else in a module's split BTF (then the
//   module BTF object's fd goes with it); ld_imm64 BPF_PSEUDO_BTF_ID (5.10+);
// - untyped (`extern const void x __ksym`): the address from /proc/kallsyms;
// - kfuncs: the FUNC of that name, its prototype checked against the object's (the argument count
//   at least), BPF_PSEUDO_KFUNC_CALL; a module's through fd_array (insn.off is the index);
// - weak ones the kernel lacks: 0, and a kfunc call poisoned (dead code behind bpf_ksym_exists).
import { Btf, BTF_KIND_FUNC, BTF_KIND_FUNC_PROTO, BTF_KIND_VAR, btfKindName } from "../../elf/btf.ts";
import { ExternError, POISON_CALL_KFUNC_BASE, skipToType, type ExternPatch, type ExternSpec } from "../../elf/externs.ts";
import { quote, SystemError } from "../../errors.ts";
import { readFile, tryReadText } from "../../sys/files.ts";
import { close } from "../../sys/fd.ts";
import { btfSource, findBtfTarget, kernelBtfFd, vmlinuxBtf } from "../btf/attach-target.ts";

/** Where kallsyms is read from (tests replace it). */
export const kallsymsSource = { path: "/proc/kallsyms" };

let symbols: { path: string; map: Map<string, bigint | "ambiguous"> } | undefined;

/** Name → address of /proc/kallsyms (a name with two different addresses is "ambiguous"). */
export function kallsyms(): Map<string, bigint | "ambiguous"> {
  const path = kallsymsSource.path;
  if (symbols?.path === path) return symbols.map;
  const map = new Map<string, bigint | "ambiguous">();
  for (const line of (tryReadText(path) ?? "").split("\n")) {
    // "ffffffff814e63f0 T bpf_prog_put\t[module]"
    const sp1 = line.indexOf(" ");
    const sp2 = line.indexOf(" ", sp1 + 1);
    if (sp1 < 0 || sp2 < 0) continue;
    let name = line.slice(sp2 + 1);
    const tab = name.indexOf("\t");
    if (tab >= 0) name = name.slice(0, tab);
    const addr = BigInt(`0x${line.slice(0, sp1)}`);
    const had = map.get(name);
    map.set(name, had === undefined || had === addr ? addr : "ambiguous");
  }
  symbols = { path, map };
  return map;
}

/** The kernel BTF objects (module fds) one program's externs need; closed once it is loaded. */
export class KsymResolver {
  /** fd_array for BPF_PROG_LOAD: index 0 stays unused (insn.off 0 means vmlinux), as libbpf keeps it. */
  readonly fdArray: number[] = [0];
  private readonly moduleFds = new Map<string, number>();
  private readonly done = new Map<string, ExternPatch>();

  constructor(private readonly objBtf: () => Btf | undefined, private readonly externs: Map<string, ExternSpec>) {}

  /** What a reference to the extern `name` becomes (call: a kfunc call instruction). */
  resolve(name: string, call: boolean, kconfig: (e: ExternSpec) => ExternPatch): ExternPatch {
    const key = `${name}:${call}`;
    let p = this.done.get(key);
    if (!p) this.done.set(key, (p = this.resolveOnce(name, call, kconfig)));
    return p;
  }

  private resolveOnce(name: string, call: boolean, kconfig: (e: ExternSpec) => ExternPatch): ExternPatch {
    const e = this.externs.get(name);
    if (!e) throw new ExternError(`extern ${quote(name)} is not described in the object's BTF`);
    if (e.kind === "kconfig") return kconfig(e);
    if (e.kind === "ksym" && e.typeId === 0) return this.untyped(e);
    const found = this.inKernelBtf(e);
    if (!found) {
      if (call) return { kind: "poison-call", imm: POISON_CALL_KFUNC_BASE + [...this.externs.keys()].indexOf(name) };
      return { kind: "imm64", value: 0n };
    }
    if (e.kind === "kfunc") {
      if (!call) return { kind: "btf-id", btfId: found.id, btfObjFd: found.module ? this.moduleFd(found.module) : 0 };
      const fdIndex = found.module ? this.fdIndex(found.module) : 0;
      return { kind: "kfunc", btfId: found.id, fdIndex };
    }
    return { kind: "btf-id", btfId: found.id, btfObjFd: found.module ? this.moduleFd(found.module) : 0 };
  }

  /** The kernel's FUNC (kfunc) or VAR (typed ksym) of this name; undefined for a weak one it lacks. */
  private inKernelBtf(e: ExternSpec): { id: number; module?: string } | undefined {
    const kind = e.kind === "kfunc" ? BTF_KIND_FUNC : BTF_KIND_VAR;
    const what = e.kind === "kfunc" ? "kfunc" : "kernel variable (typed __ksym)";
    let t: { btfId: number; module?: string };
    try {
      t = findBtfTarget(e.name, kind, what);
    } catch (err) {
      if (e.weak && err instanceof SystemError) return undefined;
      throw err;
    }
    const local = this.objBtf();
    if (local) {
      const kernel = t.module ? moduleBtfOf(t.module) : vmlinuxBtf();
      if (e.kind === "kfunc") checkKfuncProto(local, e, kernel, t.btfId);
      else checkKsymType(local, e, kernel, t.btfId);
    }
    return { id: t.btfId, module: t.module };
  }

  private untyped(e: ExternSpec): ExternPatch {
    const syms = kallsyms();
    const addr = syms.get(e.name);
    if (addr === "ambiguous") throw new ExternError(`extern ${quote(e.name)} (__ksym): /proc/kallsyms has it at more than one address`);
    if (addr === undefined) {
      if (e.weak) return { kind: "imm64", value: 0n };
      throw new ExternError(`extern ${quote(e.name)} (__ksym) is not in /proc/kallsyms: declare it __weak to read 0 when absent`);
    }
    if (addr === 0n && !e.weak) throw new ExternError(`extern ${quote(e.name)} (__ksym): /proc/kallsyms shows address 0 (run as root; kernel.kptr_restrict hides addresses)`);
    return { kind: "imm64", value: addr };
  }

  private moduleFd(module: string): number {
    let fd = this.moduleFds.get(module);
    if (fd === undefined) {
      const found = kernelBtfFd(module);
      if (!found) throw new SystemError(`module '${module}' has BTF but the kernel lists no BTF object of that name (BPF_BTF_GET_NEXT_ID): it may have been unloaded`);
      this.moduleFds.set(module, (fd = found.fd));
    }
    return fd;
  }

  private fdIndex(module: string): number {
    const fd = this.moduleFd(module);
    let i = this.fdArray.indexOf(fd, 1);
    if (i < 0) i = this.fdArray.push(fd) - 1;
    return i;
  }

  close(): void {
    for (const fd of this.moduleFds.values()) close(fd);
    this.moduleFds.clear();
  }
}

/** A module's split BTF (for its kfuncs' prototypes). */
function moduleBtfOf(module: string): Btf {
  return new Btf(readFile(`${btfSource.dir}/${module}`), { base: vmlinuxBtf() });
}

/**
 * The kfunc's prototype in the object against the kernel's: the same number of arguments (libbpf
 * also compares the kinds of arguments and return, loosely; so does this, under pointers and typedefs).
 */
export function checkKfuncProto(local: Btf, e: ExternSpec, kernel: Btf, kernelFuncId: number): void {
  const lp = local.type(e.typeId);
  const kp = kernel.type(kernel.type(kernelFuncId).sizeOrType);
  if (lp.kind !== BTF_KIND_FUNC_PROTO || kp.kind !== BTF_KIND_FUNC_PROTO) return;
  const la = lp.params ?? [];
  const ka = kp.params ?? [];
  if (la.length !== ka.length) {
    throw new ExternError(`kfunc ${quote(e.name)} is declared with ${la.length} argument${la.length === 1 ? "" : "s"}, the kernel's takes ${ka.length} (${ka.map((p) => p.name || "unnamed").join(", ")}): fix its declaration`, true);
  }
  const kindAt = (b: Btf, id: number) => (id === 0 ? 0 : b.kindOf(skipToType(b, id)));
  for (let i = 0; i < la.length; i++) {
    const l = kindAt(local, la[i]!.type);
    const k = kindAt(kernel, ka[i]!.type);
    if (l !== k && !(isIntLike(l) && isIntLike(k))) {
      throw new ExternError(`kfunc ${quote(e.name)}: argument ${i + 1} (${quote(la[i]!.name || "unnamed")}) is not of the kind of the kernel's (${quote(ka[i]!.name)}): fix its declaration`, true);
    }
  }
}

/** A typed ksym's type against the kernel variable's: the same kind under typedefs and qualifiers (libbpf's check, loosely). */
export function checkKsymType(local: Btf, e: ExternSpec, kernel: Btf, kernelVarId: number): void {
  const l = e.typeId === 0 ? 0 : local.kindOf(e.typeId);
  const kt = skipToType(kernel, kernel.type(kernelVarId).sizeOrType);
  const k = kt === 0 ? 0 : kernel.kindOf(kt);
  if (l !== k && !(isIntLike(l) && isIntLike(k))) {
    throw new ExternError(`extern ${quote(e.name)} (__ksym) is declared as ${btfKindName(l)}, the kernel's variable is ${btfKindName(k)}: fix its declaration (or make it \`const void\` for its address only)`, true);
  }
}

const isIntLike = (kind: number) => kind === 1 /* INT */ || kind === 6 /* ENUM */ || kind === 19 /* ENUM64 */;

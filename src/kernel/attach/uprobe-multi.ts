// uprobe.multi (BPF_TRACE_UPROBE_MULTI link, 6.6+): one link on every function of a binary whose
// name matches a glob, at the functions' file offsets (from .symtab and .dynsym, as uprobes).
import { formatAttachSpec, globToRegExp, type AttachSpec } from "../../attach-spec.ts";
import { readTargetSymbols, TargetError, type TargetSymbol } from "../../elf/target.ts";
import { InputError, SyscallError, errnoName, ERRNO } from "../../errors.ts";
import { hintFor } from "../../hints.ts";
import { FileError, fileSize, openFile, readInto, statFd } from "../../sys/files.ts";
import { close } from "../../sys/fd.ts";
import { bpfLinkCreateUprobeMulti } from "../../sys/link-multi.ts";
import { attachTypeValue } from "../../uapi.ts";
import type { Program } from "../program.ts";
import { BpfLink } from "./tracing.ts";

const O_NONBLOCK = 0o4000;

/**
 * Runs `use` with a reader over a regular file (opened O_NONBLOCK so a FIFO cannot block; anything
 * but a regular file refused, as the kernel's uprobe code does).
 */
export function withTargetFile<T>(path: string, what: string, use: (read: (offset: number, length: number) => Uint8Array, size: number) => T): T {
  let fd: number;
  try {
    fd = openFile(path, O_NONBLOCK);
  } catch (e) {
    if (!(e instanceof FileError)) throw e;
    throw new InputError(path, e.errno === ERRNO.ENOENT ? `no such file (${what})` : `cannot open the ${what}: ${errnoName(e.errno)}`);
  }
  try {
    let type = "unknown";
    try {
      type = statFd(fd, path).type;
    } catch (e) {
      if (!(e instanceof FileError)) throw e;
    }
    if (type !== "regular file") throw new InputError(path, `not a regular file: a ${what} is an executable or a shared library`);
    const read = (offset: number, length: number) => {
      const buf = new Uint8Array(length);
      const n = readInto(fd, buf, offset);
      if (n < 0) throw new InputError(path, `cannot read the ${what}: ${errnoName(-n)}`);
      return buf.subarray(0, n);
    };
    return use(read, fileSize(fd));
  } catch (e) {
    if (e instanceof TargetError) throw new InputError(path, `cannot read it as ELF: ${e.message}`);
    throw e;
  } finally {
    close(fd);
  }
}

/**
 * The functions of a binary a glob matches, one per file offset (an alias such as `malloc` and
 * `__libc_malloc` is probed once), versioned names matched by their plain name. Pure.
 */
export function matchTargetFunctions(symbols: TargetSymbol[], pattern: string): { name: string; fileOffset: number }[] {
  const re = globToRegExp(pattern);
  const byOffset = new Map<number, string>();
  for (const s of symbols) {
    const plain = s.name.replace(/@.*$/, "");
    if (re.test(plain) && !byOffset.has(s.fileOffset)) byOffset.set(s.fileOffset, plain);
  }
  return [...byOffset].map(([fileOffset, name]) => ({ name, fileOffset })).sort((a, b) => a.fileOffset - b.fileOffset);
}

type MultiSpec = AttachSpec & { kind: "uprobe.multi" | "uretprobe.multi" };

/** The offsets a uprobe.multi spec will probe; refuses a glob that matches nothing. Run before loading too. */
export function uprobeMultiTargets(spec: MultiSpec): { name: string; fileOffset: number }[] {
  const found = withTargetFile(spec.path, "uprobe target", (read, size) => matchTargetFunctions(readTargetSymbols(read, size), spec.pattern));
  if (!found.length) throw new InputError(spec.path, `no function symbol matches '${spec.pattern}' (in .symtab or .dynsym)`);
  return found;
}

const MULTI_HINT: Record<string, string> = {
  EINVAL: "the kernel refused the uprobe.multi link (6.6+; the program must be loaded for it: a uprobe.multi/ section)",
  EOPNOTSUPP: "this kernel has no uprobe.multi (Linux 6.6+ with CONFIG_UPROBES): use uprobe:PATH:SYMBOL for each function",
};

export function attachUprobeMulti(prog: Program, spec: MultiSpec, onInfo?: (i: { offset?: number; event: string }) => void): BpfLink {
  const target = formatAttachSpec(spec);
  const found = uprobeMultiTargets(spec);
  const r = bpfLinkCreateUprobeMulti(prog.fd, attachTypeValue("BPF_TRACE_UPROBE_MULTI"), spec.path, found.map((f) => f.fileOffset), { retprobe: spec.kind === "uretprobe.multi" });
  if (r.ret < 0) {
    const name = errnoName(r.errno);
    throw new SyscallError(`attach '${prog.name}' to ${target}`, "BPF_LINK_CREATE(uprobe_multi)", r.errno, MULTI_HINT[name] ?? hintFor("uprobe", name, { euid: process.geteuid?.() ?? 0 }));
  }
  onInfo?.({ event: `uprobe_multi link on ${found.length} functions: ${found.map((f) => `${f.name}@0x${f.fileOffset.toString(16)}`).join(", ")}` });
  return new BpfLink(`${target} (${found.length} function${found.length === 1 ? "" : "s"})`, r.ret);
}

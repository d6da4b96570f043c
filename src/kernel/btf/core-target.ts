// The target BTF CO-RE relocations are resolved against: the running kernel's
// (/sys/kernel/btf/vmlinux, then the modules' split BTF beside it, read only when asked for, as
// libbpf looks in modules only for a type vmlinux lacks), or a file for a kernel without BTF
// (--btf FILE, or BPFLOAD_BTF): raw BTF as BTFHub ships it, an ELF with .BTF (a vmlinux), or a
// BTFHub .tar.xz archive, unpacked through the system's xz (no npm package for one format we
// meet once per run; the tar part is read here). Only the index pass is made: types are decoded
// when a relocation asks for them.
import type { CoreTargetBtf } from "../../btf/core/index.ts";
import { elfBtfSectionAt, parseTargetBtf, rawTargetBtf, TargetBtfError, targetFormat } from "../../btf/target.ts";
import { BtfError, type Btf } from "../../elf/btf.ts";
import { errnoName, exitCodeForErrno, InputError, opt, optionText, quote, SystemError, type OptionText } from "../../errors.ts";
import { FileError, INPUT_LIMIT, NotRegularFileError, openNonblocking, readInto, readUserFile, statFd } from "../../sys/files.ts";
import { close } from "../../sys/fd.ts";
import { listDir } from "../../sys/paths.ts";
import { btfSource, readBtfFile, vmlinuxBtf } from "./attach-target.ts";

/** A target for CoreRelocator: the base BTF first, and the modules read when needed. */
export interface CoreTarget {
  targets: CoreTargetBtf[];
  modules?: () => CoreTargetBtf[];
  /** Where it came from, for --verbose ("/sys/kernel/btf/vmlinux", "--btf FILE"). */
  source: string;
}

/** The env variable that gives the default of --btf (for CI on kernels without BTF). */
export const BTF_ENV = "BPFLOAD_BTF";

export interface TargetModule {
  name: string;
  btf: Btf;
}

export interface TargetBtf {
  /** Where it came from: "/sys/kernel/btf/vmlinux" or the --btf file. */
  source: string;
  /** The running kernel's own BTF (true), or a file the user gave. */
  fromKernel: boolean;
  vmlinux: Btf;
  /** Modules' split BTF (the running kernel's only; read on the first call, then kept). */
  modules(): TargetModule[];
}

/** --btf, else $BPFLOAD_BTF (an empty value counts as unset). */
export function btfFileOption(flag: string | undefined, env: Record<string, string | undefined> = process.env): string | undefined {
  return flag ?? (env[BTF_ENV] ? env[BTF_ENV] : undefined);
}

/** The btf option as a message names it: the library's words, the CLI's flag (--btf FILE). */
const btfOption = (lib = "the btf option") => opt("btf", "FILE", lib);

/** The message a CO-RE object gets on a kernel without /sys/kernel/btf/vmlinux and no target BTF file. */
export function noKernelBtfMessage(dir: string): OptionText {
  return optionText`no BTF for this kernel: use ${btfOption("the btf option (a BTF file)")} (${dir}/vmlinux is missing: CO-RE needs the kernel's types; BTFHub has a file for most distribution kernels, or set ${BTF_ENV})`;
}

/** The target BTF: the file given (--btf / BPFLOAD_BTF), else the running kernel's. */
export function openTargetBtf(file?: string): TargetBtf {
  return file === undefined ? kernelTargetBtf() : fileTargetBtf(file);
}

let modulesCache: { dir: string; modules: TargetModule[] } | undefined;

function kernelTargetBtf(): TargetBtf {
  const dir = btfSource.dir;
  const path = `${dir}/vmlinux`;
  let vmlinux: Btf;
  try {
    vmlinux = vmlinuxBtf();
  } catch (e) {
    if (e instanceof SystemError && e.message.startsWith(`no ${path}`)) throw new SystemError(noKernelBtfMessage(dir));
    throw kernelBtfError(path, e);
  }
  return {
    source: path,
    fromKernel: true,
    vmlinux,
    modules() {
      if (modulesCache?.dir !== dir) modulesCache = { dir, modules: readModules(dir, vmlinux) };
      return modulesCache.modules;
    },
  };
}

/** The kernel's BTF is malformed: not the user's input, so exit 1, with the file named. */
function kernelBtfError(path: string, e: unknown): unknown {
  const problem = e instanceof TargetBtfError ? e.problem : e instanceof BtfError ? `bad BTF: ${e.message} (at byte ${e.offset})` : undefined;
  return problem === undefined ? e : new SystemError(optionText`${path}: ${problem}: this kernel's BTF cannot be read; give a BTF file for it with ${btfOption()}`);
}

/**
 * Every module's split BTF (sorted by name). A header-only module BTF (24 bytes, no types) is a
 * module without types, not an error; a malformed one stops the run, as in libbpf: a type
 * resolved while a module's types are unreadable could be the wrong one.
 */
function readModules(dir: string, vmlinux: Btf): TargetModule[] {
  const out: TargetModule[] = [];
  for (const name of listDir(dir).sort()) {
    if (name === "vmlinux") continue;
    const path = `${dir}/${name}`;
    try {
      out.push({ name, btf: parseTargetBtf(readBtfFile(path), vmlinux) });
    } catch (e) {
      throw kernelBtfError(path, e);
    }
  }
  return out;
}

/** A BTF file the user gave (BTFHub raw BTF, an ELF with .BTF, a .tar.xz archive). */
function fileTargetBtf(file: string): TargetBtf {
  const vmlinux = openBtfFile(file);
  return { source: file, fromKernel: false, vmlinux, modules: () => [] };
}

/** Parses one target BTF file; any problem is one line naming the file (exit 2, or 1 for a missing xz). */
export function openBtfFile(file: string): Btf {
  try {
    const btf = parseTargetBtf(readTargetFile(file));
    if (btf.typeCount <= 1) throw new TargetBtfError("BTF without a single type: not a kernel's BTF");
    return btf;
  } catch (e) {
    if (e instanceof TargetBtfError) throw new InputError(file, optionText`not usable as ${opt("btf", undefined, "target BTF")}: ${e.problem}`);
    if (e instanceof FileError && exitCodeForErrno(e.errno) === 2) throw new InputError(file, optionText`${opt("btf", undefined, "target BTF")}: ${PATH_WHY[errnoName(e.errno)] ?? `cannot ${e.op}`} (${errnoName(e.errno)})`);
    throw e;
  }
}

/** A --btf path that is wrong (exit 2), said as the input files' messages say it. */
const PATH_WHY: Record<string, string> = {
  ENOENT: "no such file",
  ENOTDIR: "a part of the path is not a directory",
  ENAMETOOLONG: "the path is too long",
  ELOOP: "too many levels of symbolic links (a loop?)",
};

/** Largest unpacked BTFHub archive accepted (vmlinux BTF is 3-8 MB; the limit stops an xz bomb). */
const UNPACKED_LIMIT = INPUT_LIMIT;

/** The raw BTF bytes of a --btf file, read as little as its format needs. */
function readTargetFile(file: string): Uint8Array {
  const fd = openNonblocking(file);
  let size: number;
  let head: Uint8Array;
  try {
    const st = statFd(fd, file);
    if (st.type !== "regular file") throw new NotRegularFileError(file, st.type);
    size = st.size;
    head = pread(fd, file, 0, Math.min(size, 512));
    if (targetFormat(head) === "elf") return elfBtfSectionAt((o, n) => pread(fd, file, o, n), size);
  } finally {
    close(fd);
  }
  if (targetFormat(head) === "xz") return rawTargetBtf(unxz(file));
  return rawTargetBtf(readUserFile(file));
}

function pread(fd: number, file: string, offset: number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  let at = 0;
  while (at < length) {
    const n = readInto(fd, out.subarray(at), offset + at);
    if (n < 0) throw new FileError(file, -n, "read");
    if (n === 0) break;
    at += n;
  }
  return out.subarray(0, at);
}

/** `xz -dc FILE`: a BTFHub archive (a tar of one .btf), or an xz-compressed BTF file. */
function unxz(file: string): Uint8Array {
  const xz = Bun.which("xz", { PATH: process.env.PATH ?? "" });
  if (!xz) {
    throw new SystemError(`${file}: an xz-compressed archive (BTFHub's .tar.xz): unpacking it needs the xz program, which is not in PATH: install xz-utils, or unpack it (tar -xJf ${file}) and give the .btf file`);
  }
  const r = Bun.spawnSync([xz, "-dc", "--", file], { stdin: "ignore", stdout: "pipe", stderr: "pipe", maxBuffer: UNPACKED_LIMIT });
  if (r.exitedDueToMaxBuffer) throw new InputError(file, `unpacks to more than ${UNPACKED_LIMIT / (1024 * 1024)} MiB: not a BTFHub archive`);
  if (r.exitCode !== 0) {
    const why = new TextDecoder().decode(r.stderr ?? new Uint8Array()).trim().split("\n")[0] ?? "";
    throw new InputError(file, `xz could not unpack it${why ? `: ${quote(why.replace(/^xz: /, ""), 120)}` : ` (exit ${r.exitCode ?? r.signalCode})`}`);
  }
  return r.stdout ?? new Uint8Array();
}

/** The engine's list of targets: vmlinux first, then the modules (read here, on this call). */
export function coreTargets(t: TargetBtf): CoreTargetBtf[] {
  return [{ name: "vmlinux", btf: t.vmlinux }, ...t.modules().map((m) => ({ name: m.name, btf: m.btf }))];
}

/**
 * The CO-RE target of a load (CollectionOptions.targetBtf): the --btf file, else the running
 * kernel's BTF. Opened on first use only (an object without CO-RE relocations never reads it,
 * even with BPFLOAD_BTF set); modules are read only when vmlinux lacks a type.
 */
export function lazyCoreTarget(file: string | undefined): CoreTarget & { open(): void } {
  let opened: TargetBtf | undefined;
  const open = () => (opened ??= openTargetBtf(file));
  return {
    /** Opens it now: its error, if any, is said once and not once per program. */
    open() {
      open();
    },
    get targets() {
      return [{ name: "vmlinux", btf: open().vmlinux }];
    },
    modules: () => open().modules().map((m) => ({ name: m.name, btf: m.btf })),
    get source() {
      return file ?? `${btfSource.dir}/vmlinux`;
    },
  };
}

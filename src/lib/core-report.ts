// The offline CO-RE report (`bpfload btf relocs`): what an object's CO-RE relocations resolve to
// on a target BTF (a file, a directory of BTFHub files, or the running kernel's), loading nothing.
import type { ObjectCore, ProgramReport, RelocReport, Verdict } from "../btf/target-relocs.ts";
import type { ObjectSpec, ProgramSpec } from "../elf/types.ts";
import { InputError, ObjectError } from "../errors.ts";
import type { TargetBtf, TargetModule } from "../kernel/btf/core-target.ts";
import { lazy } from "./lazy.ts";

// Loaded on first use (lib/lazy.ts): the CO-RE engine and the BTF readers are large.
const targetRelocs = lazy(() => require("../btf/target-relocs.ts") as typeof import("../btf/target-relocs.ts"));
const coreTarget = lazy(() => require("../kernel/btf/core-target.ts") as typeof import("../kernel/btf/core-target.ts"));
const elfBtf = lazy(() => require("../elf/btf.ts") as typeof import("../elf/btf.ts"));

/** An object's BTF and its .BTF.ext CO-RE records, as objectRelocations reads them (no records: nothing to relocate). */
export type { ObjectCore };
/** One program's report: its relocations as resolved on the target, a verdict ("ok", "guarded", "fails", "none") and why. */
export type { ProgramReport };
/** One relocation as resolved on the target: kind, local access, the target's type and field, old and new value, or why it is poisoned or failed. */
export type { RelocReport };
/** A program's verdict on a target: ok (all resolved), guarded (loads if the poisoned instructions are never reached), fails (refused), none (no CO-RE relocations). */
export type { Verdict };
/** A target BTF (openCoreTarget): where it came from (`source`), its vmlinux types and, for the running kernel's, its modules' split BTF. */
export type { TargetBtf };
/** One kernel module's split BTF of a TargetBtf: the module's name and its types. */
export type { TargetModule };

/** The CO-RE records of an object (`parseObject`'s result and the file's bytes); a malformed .BTF or .BTF.ext is an ObjectError naming `file` and the byte. Pure. */
export function objectRelocations(object: ObjectSpec, bytes: Uint8Array, file: string): ObjectCore {
  try {
    return targetRelocs().objectCore(object, bytes);
  } catch (e) {
    if (e instanceof elfBtf().BtfError) throw new ObjectError(file, `bad BTF: ${e.message}`, { offset: e.offset });
    throw e;
  }
}

/**
 * The target BTF to report on or load against: `path` (raw BTF, an ELF with .BTF such as a vmlinux,
 * BTFHub's .btf.tar.xz), else the running kernel's /sys/kernel/btf/vmlinux (its modules read when
 * first needed). A file that cannot be read is a FileError, one that is no BTF an InputError. Reads
 * files only; holds no fd after it returns (nothing to close). Minimum kernel: 4.9 (a file; the
 * running kernel's own BTF needs 5.4's /sys/kernel/btf/vmlinux).
 */
export function openCoreTarget(path?: string): TargetBtf {
  return coreTarget().openTargetBtf(path);
}

/**
 * The files under `path` when it is a directory (sorted, dot files left out, at most 5 levels deep:
 * BTFHub's archive nests DISTRO/VERSION/ARCH/), undefined when it is not a directory. Reads only. Pure of side effects.
 */
export function btfFilesUnder(path: string): string[] | undefined {
  if (!isDirectory(path)) return undefined;
  return filesUnder(path.replace(/\/+$/, ""), 0);
}

function isDirectory(path: string): boolean {
  const { openNonblocking, statFd } = require("../sys/files.ts") as typeof import("../sys/files.ts");
  const { close } = require("../sys/fd.ts") as typeof import("../sys/fd.ts");
  try {
    const fd = openNonblocking(path);
    try {
      return statFd(fd, path).type === "directory";
    } finally {
      close(fd);
    }
  } catch {
    return false;
  }
}

function filesUnder(dir: string, depth: number): string[] {
  const { listDir } = require("../sys/paths.ts") as typeof import("../sys/paths.ts");
  const out: string[] = [];
  for (const n of listDir(dir).filter((x) => !x.startsWith(".")).sort()) {
    const path = `${dir}/${n}`;
    if (!isDirectory(path)) out.push(path);
    else if (depth < 4) out.push(...filesUnder(path, depth + 1));
  }
  return out;
}

/**
 * What the CO-RE relocations of `programs` (of `object`, whose records objectRelocations read)
 * resolve to on `target`, each program linked as the loader links it; a verdict per program.
 * Loads nothing. A target whose BTF turns out malformed deep inside a type is an InputError naming
 * its file. Pure (given an open target).
 *
 *     const core = objectRelocations(obj, bytes, "prog.o");
 *     for (const p of relocationReport(obj, core, obj.programs, openCoreTarget("5.4.btf"))) console.log(p.program, p.verdict);
 */
export function relocationReport(object: ObjectSpec, core: ObjectCore, programs: ProgramSpec[], target: TargetBtf): ProgramReport[] {
  try {
    return targetRelocs().relocationReport(object, core, programs, coreTarget().coreTargets(target));
  } catch (e) {
    if (e instanceof elfBtf().BtfError) throw new InputError(target.source, `bad BTF: ${e.message} (at byte ${e.offset})`);
    throw e;
  }
}

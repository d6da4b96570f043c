// The BTF CO-RE relocations are resolved against by default: the running kernel's
// /sys/kernel/btf/vmlinux, and the modules' split BTF beside it (read only when vmlinux lacks a
// type, as libbpf does). A kernel without BTF gets a clear error naming --btf.
import type { CoreTargetBtf } from "../btf/core/index.ts";
import { Btf, BtfError } from "../elf/btf.ts";
import { SystemError, UsageError } from "../errors.ts";
import { exists, FileError } from "../sys/files.ts";
import { listDir } from "../sys/paths.ts";
import { btfSource, readBtfFile, vmlinuxBtf } from "./btf-target.ts";

/** A target for CoreRelocator: the base BTF first, and the modules read when needed. */
export interface CoreTarget {
  targets: CoreTargetBtf[];
  modules?: () => CoreTargetBtf[];
  /** Where it came from, for --verbose ("/sys/kernel/btf/vmlinux", "--btf FILE"). */
  source: string;
}

/** The running kernel's BTF as a CO-RE target; UsageError (exit 2) when the kernel has none. */
export function kernelCoreTarget(): CoreTarget {
  const dir = btfSource.dir;
  const path = `${dir}/vmlinux`;
  if (!exists(path)) throw new UsageError(`no BTF for this kernel (${path} is missing): use --btf FILE (the kernel's BTF, e.g. from BTFHub or pahole -J)`);
  let vmlinux: Btf;
  try {
    vmlinux = vmlinuxBtf();
  } catch (e) {
    if (e instanceof BtfError) throw new SystemError(`${path} is not valid BTF (${e.message} at byte ${e.offset}): use --btf FILE`);
    throw e;
  }
  return {
    source: path,
    targets: [{ name: "vmlinux", btf: vmlinux }],
    modules: () => {
      const out: CoreTargetBtf[] = [];
      for (const name of listDir(dir).sort()) {
        if (name === "vmlinux") continue;
        try {
          out.push({ name, btf: new Btf(readBtfFile(`${dir}/${name}`), { base: vmlinux }) });
        } catch (e) {
          if (e instanceof BtfError || e instanceof FileError) continue; // unreadable: not where the type is
          throw e;
        }
      }
      return out;
    },
  };
}

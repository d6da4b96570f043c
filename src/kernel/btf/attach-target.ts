// attach_btf_id: the kernel BTF type a tp_btf/fentry/fexit/fmod_ret/lsm/iter program is loaded
// against. Looked up in /sys/kernel/btf/vmlinux, then in the modules' split BTF beside it; a
// module's BTF is handed to the kernel as attach_btf_obj_fd, found (as libbpf does) by walking
// BPF_BTF_GET_NEXT_ID and asking each BTF object's name.
import { Btf, BTF_KIND_FUNC, BTF_KIND_TYPEDEF } from "../../elf/btf.ts";
import { InvalidArgumentError, SystemError } from "../../errors.ts";
import { bpfBtfGetFdById, bpfBtfGetInfo, bpfBtfGetNextId } from "../../sys/bpf.ts";
import { exists, openFile, readSized, statFd } from "../../sys/files.ts";
import { mapFileReadOnly } from "../../sys/map-file.ts";
import { listDir } from "../../sys/paths.ts";
import { close } from "../../sys/fd.ts";
import type { AttachTypeName } from "../../uapi.ts";

export const BTF_DIR = "/sys/kernel/btf";

/** Where a BTF target name lives. */
export interface BtfTarget {
  /** The type's id in vmlinux BTF, or in the module's split BTF (ids continue after vmlinux's). */
  btfId: number;
  /** The module that has it; undefined for vmlinux. */
  module?: string;
}

/** The BTF name prefix and kind of each attach type's target (libbpf's conventions). */
export function btfTargetKind(attachType: AttachTypeName | undefined): { prefix: string; kind: number; what: string } {
  switch (attachType) {
    case "BPF_TRACE_RAW_TP":
      return { prefix: "btf_trace_", kind: BTF_KIND_TYPEDEF, what: "BTF tracepoint" };
    case "BPF_LSM_MAC":
    case "BPF_LSM_CGROUP":
      return { prefix: "bpf_lsm_", kind: BTF_KIND_FUNC, what: "LSM hook" };
    case "BPF_TRACE_ITER":
      return { prefix: "bpf_iter_", kind: BTF_KIND_FUNC, what: "iterator" };
    default:
      return { prefix: "", kind: BTF_KIND_FUNC, what: "kernel function" };
  }
}

/** Tests replace the source of kernel BTF (a directory of vmlinux + module files). */
export const btfSource = { dir: BTF_DIR };

let vmlinuxCache: { dir: string; btf: Btf } | undefined;

/** The running kernel's BTF (read and indexed once per process: ~6 MB, a few ms). */
export function vmlinuxBtf(): Btf {
  const dir = btfSource.dir;
  if (vmlinuxCache?.dir === dir) return vmlinuxCache.btf;
  const path = `${dir}/vmlinux`;
  if (!exists(path)) {
    throw new SystemError(`no ${path}: tp_btf/fentry/fexit/fmod_ret/lsm/iter programs need a kernel with CONFIG_DEBUG_INFO_BTF (5.5+)`);
  }
  const btf = new Btf(readBtfFile(path, { map: dir === BTF_DIR })); // the kernel's file only: a regular file could shrink under a mapping (SIGBUS)
  vmlinuxCache = { dir, btf };
  return btf;
}

/** A BTF file of sysfs, which gives at most a page per read(2) but reports its size: read straight into one buffer of that size. */
export function readBtfFile(path: string, opts: { map?: boolean } = {}): Uint8Array {
  const fd = openFile(path);
  try {
    const size = statFd(fd, path).size;
    // `map`: for data kept for the process (vmlinux, cached): the kernel's pages, read-only (6.16+)
    return (opts.map ? mapFileReadOnly(fd, size) : undefined) ?? readSized(fd, size, path);
  } finally {
    close(fd);
  }
}

/**
 * Finds `typeName` (already prefixed: "btf_trace_sched_switch", "bpf_lsm_file_open", "do_unlinkat")
 * of `kind` in vmlinux, then in each module's BTF. Throws a one-line error with close matches
 * when it is nowhere.
 */
export function findBtfTarget(typeName: string, kind: number, what: string, prefix = ""): BtfTarget {
  const vmlinux = vmlinuxBtf();
  const t = vmlinux.find(kind, typeName);
  if (t) return { btfId: t.id };
  const dir = btfSource.dir;
  for (const module of listDir(dir).sort()) {
    if (module === "vmlinux") continue;
    let btf: Btf;
    try {
      btf = new Btf(readBtfFile(`${dir}/${module}`), { base: vmlinux });
    } catch {
      continue; // a module whose BTF does not read is not where the target is
    }
    const m = findOwn(btf, kind, typeName);
    if (m !== undefined) return { btfId: m, module };
  }
  const bare = typeName.slice(prefix.length);
  const near = closeMatches(vmlinux, kind, prefix, bare);
  // a kernel with BTF but before tp_btf (5.4) has no btf_trace_* typedefs at all: say so, not "no such tracepoint"
  const noTpBtf = prefix === "btf_trace_" && !near.length && !vmlinux.find(BTF_KIND_TYPEDEF, "btf_trace_sched_switch");
  throw new SystemError(
    `no ${what} '${bare}' in this kernel's BTF (${dir}/vmlinux and modules)${near.length ? `: did you mean ${near.map((n) => `'${n}'`).join(", ")}?` : ""}${noTpBtf ? ": this kernel has no BTF tracepoints at all (tp_btf programs need Linux 5.5+)" : ""}`,
  );
}

/** A type of this blob only (not its base): the split BTF of a module. */
function findOwn(btf: Btf, kind: number, name: string): number | undefined {
  for (let id = btf.firstId; id < btf.typeCount; id++) {
    if (btf.kindOf(id) === kind && btf.type(id).name === name) return id;
  }
  return undefined;
}

/**
 * Names of `kind` with `prefix` that look like `bare`: those that start with it, contain it or that
 * it starts with (do_sys_open → do_sys_openat2), shortest first. A cheap scan of the names.
 */
export function closeMatches(btf: Btf, kind: number, prefix: string, bare: string, max = 3): string[] {
  if (bare.length < 3) return [];
  const found: { name: string; rank: number }[] = [];
  for (let id = 1; id < btf.typeCount; id++) {
    if (btf.kindOf(id) !== kind) continue;
    const full = btf.type(id).name;
    if (!full.startsWith(prefix)) continue;
    const name = full.slice(prefix.length);
    if (name === bare) continue;
    const rank = name.startsWith(bare) ? 0 : name.includes(bare) ? 1 : bare.startsWith(name) && name.length >= 4 ? 2 : -1;
    if (rank >= 0) found.push({ name, rank });
  }
  found.sort((a, b) => a.rank - b.rank || a.name.length - b.name.length || (a.name < b.name ? -1 : 1));
  return found.slice(0, max).map((f) => f.name);
}

/**
 * An fd of the kernel's BTF object named `name` ("vmlinux" or a module's name), for
 * attach_btf_obj_fd: BPF_BTF_GET_NEXT_ID over all BTF objects, each opened and asked its name
 * (5.11+). Undefined when none has that name. The caller closes it.
 */
export function kernelBtfFd(name: string): { fd: number; id: number } | undefined {
  let id = 0;
  for (;;) {
    const next = bpfBtfGetNextId(id);
    if (next.ret < 0) return undefined; // ENOENT: past the last
    id = next.id;
    const fd = bpfBtfGetFdById(id);
    if (fd.ret < 0) continue; // gone meanwhile
    const info = bpfBtfGetInfo(fd.ret);
    if (info.ret === 0 && info.kernelBtf && info.name === name) return { fd: fd.ret, id };
    close(fd.ret);
  }
}

function moduleBtfFd(module: string): number {
  const found = kernelBtfFd(module);
  if (!found) throw new SystemError(`module '${module}' has BTF in ${BTF_DIR} but the kernel lists no BTF object of that name (BPF_BTF_GET_NEXT_ID): it may have been unloaded`);
  return found.fd;
}

/** What the loader sends: attach_btf_id, and the module's BTF fd when the target is in a module. */
export interface ResolvedTarget extends BtfTarget {
  /** Open until the program is loaded; the caller closes it. */
  btfObjFd?: number;
}

/** Resolves a section's (or attach spec's) BTF target name for a program of this attach type. */
export function resolveBtfTarget(typeName: string, attachType: AttachTypeName | undefined): ResolvedTarget {
  const { prefix, kind, what } = btfTargetKind(attachType);
  if (!typeName.startsWith(prefix) || typeName === prefix) {
    throw new InvalidArgumentError("attach", `bad BTF target '${typeName}' for ${attachType ?? "this program"}: expected a name after '${prefix}'`);
  }
  const t = findBtfTarget(typeName, kind, what, prefix);
  return t.module === undefined ? t : { ...t, btfObjFd: moduleBtfFd(t.module) };
}

// Pinning in the BPF filesystem: programs and maps outlive bpfload as files under /sys/fs/bpf,
// and a later `bpfload map dump PIN` opens them again.
import { SyscallError, SystemError, UsageError, errnoName } from "../errors.ts";
import { hintFor } from "../hints.ts";
import { bpfMapGetInfo, bpfObjGet, bpfObjPin } from "../sys/bpf.ts";
import { BPF_MAP_INFO, field } from "../sys/layout.ts";
import { exists, makeDirs, tryReadText } from "../sys/files.ts";
import { close, mount } from "../sys/perf.ts";
import { BpfMap } from "./map.ts";

const DEFAULT_BPFFS = "/sys/fs/bpf";

/** `dir` made absolute against the working directory, with "." and ".." resolved. */
function absolutePath(dir: string): string {
  const parts: string[] = [];
  for (const p of (dir.startsWith("/") ? dir : `${process.cwd()}/${dir}`).split("/")) {
    if (p === "..") parts.pop();
    else if (p && p !== ".") parts.push(p);
  }
  return `/${parts.join("/")}`;
}

function bpffsMounts(): string[] {
  const info = tryReadText("/proc/self/mountinfo") ?? "";
  return info.split("\n").flatMap((line) => {
    const [left, right] = line.split(" - ");
    return right?.split(" ")[0] === "bpf" && left ? [left.split(" ")[4]!] : [];
  });
}

/** Makes sure `dir` lies on a bpf filesystem (mounting /sys/fs/bpf if needed) and exists. */
export function preparePinDir(dir: string): string {
  const abs = absolutePath(dir);
  let mounts = bpffsMounts();
  if (!mounts.length) {
    makeDirs(DEFAULT_BPFFS);
    const r = mount("bpf", DEFAULT_BPFFS, "bpf");
    if (r.ret < 0) throw new SyscallError(`mount the BPF filesystem on ${DEFAULT_BPFFS}`, "mount", r.errno, hintFor("mount", errnoName(r.errno), { euid: process.geteuid?.() ?? 0 }));
    mounts = [DEFAULT_BPFFS];
  }
  if (!mounts.some((m) => abs === m || abs.startsWith(`${m}/`))) {
    throw new UsageError(`--pin ${dir}: not on a BPF filesystem (mounted at ${mounts.join(", ")}): use a directory under ${mounts[0]}`);
  }
  makeDirs(abs);
  return abs;
}

/** Pins an fd at `path`; an existing pin is an error rather than silently replaced. */
export function pinFd(fd: number, path: string, what: string): void {
  if (exists(path)) throw new SystemError(`pin ${what} at ${path}: the file exists: remove it (rm ${path}) or pin elsewhere`);
  const r = bpfObjPin(fd, path);
  if (r.ret < 0) throw new SyscallError(`pin ${what} at ${path}`, "BPF_OBJ_PIN", r.errno, hintFor("BPF_OBJ_PIN", errnoName(r.errno), { euid: process.geteuid?.() ?? 0 }));
}

/** Opens a pinned map; its definition comes from BPF_OBJ_GET_INFO_BY_FD. */
export function openPinnedMap(path: string): BpfMap {
  const r = bpfObjGet(path);
  if (r.ret < 0) {
    const hint = r.errno === 2 ? "no such pinned object" : hintFor("BPF_OBJ_GET", errnoName(r.errno), { euid: process.geteuid?.() ?? 0 });
    throw new SyscallError(`open pinned map ${path}`, "BPF_OBJ_GET", r.errno, hint);
  }
  // BPF_OBJ_GET_INFO_BY_FD fills whatever kind of object the fd is: ask fdinfo which kind it is.
  const fdinfo = tryReadText(`/proc/self/fdinfo/${r.ret}`) ?? "";
  if (!/^map_type:/m.test(fdinfo)) {
    close(r.ret);
    const kind = /^prog_type:/m.test(fdinfo) ? "a program" : /^link_type:/m.test(fdinfo) ? "a link" : "not a map";
    throw new UsageError(`${path} is ${kind}, not a map: map dump takes a pinned map`);
  }
  const info = bpfMapGetInfo(r.ret);
  if (info.ret < 0) {
    close(r.ret);
    throw new SyscallError(`open pinned map ${path}`, "BPF_OBJ_GET_INFO_BY_FD", info.errno, info.errno === 22 ? `${path} is not a map (a pinned program or link?)` : undefined);
  }
  const u32 = (name: string) => info.info.getUint32(field(BPF_MAP_INFO, name).offset, true);
  const nameBytes = new Uint8Array(info.info.buffer, field(BPF_MAP_INFO, "name").offset, 16);
  const end = nameBytes.indexOf(0);
  const name = new TextDecoder().decode(nameBytes.subarray(0, end < 0 ? 16 : end)) || path.split("/").pop()!;
  return new BpfMap(r.ret, { name, type: u32("type"), keySize: u32("key_size"), valueSize: u32("value_size"), maxEntries: u32("max_entries"), flags: u32("map_flags") });
}

// Pinning in the BPF filesystem: programs and maps outlive bpfload as files under /sys/fs/bpf,
// and a later `bpfload map dump PIN` opens them again.
import { InvalidArgumentError, SyscallError, SystemError, errnoName, ERRNO, opt, optionText } from "../errors.ts";
import { hintFor } from "../hints.ts";
import { bpfMapGetInfo, bpfObjGet, bpfObjPin } from "../sys/bpf.ts";
import { BPF_MAP_INFO, field, type FieldName } from "../sys/layout.ts";
import { makeDirs, tryReadText } from "../sys/files.ts";
import { BPF_FS_MAGIC, fstatfsType, mkdirAt, openDirAt, openDirNoSymlinks, readLink, statfsType, unlinkAt } from "../sys/paths.ts";
import { close } from "../sys/fd.ts";
import { mount } from "../sys/process.ts";
import { BpfMap } from "./map.ts";
import { mountPointsOf } from "./mounts.ts";
import { processPolicy } from "./policy.ts";

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
  return mountPointsOf("bpf");
}

const euid = () => process.geteuid?.() ?? 0;

/**
 * A name bpffs accepts for a pin: bpffs refuses names with a '.' (EPERM: reserved), so, as libbpf
 * does for `.rodata`/`.bss` maps (sanitize_pin_path), dots become '_'; so does anything outside
 * [A-Za-z0-9_-], to keep names plain.
 */
export function pinName(name: string): string {
  return name.replace(/[^A-Za-z0-9_-]/g, "_") || "_";
}

/** A pin directory, checked before loading; `createPinDir` makes it once there is something to pin. */
export interface PinPlan {
  /** The directory as the user meant it, absolute. */
  path: string;
  /** Its components, from the root. */
  parts: string[];
  /** How many leading components lie above the BPF filesystem's mount point. */
  aboveMount: number;
}

const AT_FDCWD = -100;
const { ELOOP, ENOENT, ENOTDIR } = ERRNO;

/** The pin directory as a message names it: the library's words, the CLI's flag (--pin DIR). */
const pinDir = (dir: string) => opt("pin", dir, `pin directory ${dir}`);

function walkError(plan: PinPlan, upto: number, errno: number, what: string): never {
  const at = `/${plan.parts.slice(0, upto + 1).join("/")}`;
  // O_NOFOLLOW|O_DIRECTORY on a link gives ENOTDIR (or ELOOP): tell the two apart for the message.
  if (errno === ELOOP || (errno === ENOTDIR && readLink(at) !== undefined)) {
    throw new InvalidArgumentError("pin", optionText`${pinDir(plan.path)}: ${at} is a symbolic link: bpfload does not follow links while making pin directories (anyone may create them in ${DEFAULT_BPFFS}): give the real directory`);
  }
  if (errno === ENOTDIR) {
    throw new InvalidArgumentError("pin", optionText`${pinDir(plan.path)}: ${at} is not a directory (a pinned program or map?): ENOTDIR: pin in a directory, e.g. a new one next to it`);
  }
  throw new SyscallError(optionText`${pinDir(plan.path)}: ${what} ${at}`, what === "create" ? "mkdirat" : "openat", errno, hintFor("mkdir", errnoName(errno), { euid: euid() }));
}

/**
 * Opens the components of `plan` one by one from the root, each relative to its parent's fd and
 * never through a symbolic link (O_NOFOLLOW), creating missing ones when `create` is given, and
 * proving each component at or below the mount point to be on a BPF filesystem (fstatfs).
 * Returns the fds opened (the last is the directory) and the indexes of the components created.
 */
function walk(plan: PinPlan, create: ((i: number) => void) | undefined): { fds: number[]; complete: boolean } {
  // openat2(RESOLVE_NO_SYMLINKS) (5.6+) proves an existing directory in one call; otherwise (older
  // kernel, a missing part, a link to name) the walk below does it component by component.
  const whole = openDirNoSymlinks(plan.path);
  if (whole.ret >= 0) {
    const fs = fstatfsType(whole.ret);
    if (fs.ret >= 0 && fs.type === BPF_FS_MAGIC) return { fds: [whole.ret], complete: true };
    close(whole.ret);
  }
  const fds: number[] = [];
  const root = openDirAt(AT_FDCWD, "/");
  if (root.ret < 0) throw new SyscallError(optionText`${pinDir(plan.path)}: open /`, "openat", root.errno);
  fds.push(root.ret);
  try {
    for (let i = 0; i < plan.parts.length; i++) {
      const parent = fds[fds.length - 1]!;
      const name = plan.parts[i]!;
      let r = openDirAt(parent, name);
      if (r.ret < 0 && r.errno === ENOENT && i >= plan.aboveMount) {
        if (!create) return { fds, complete: false }; // the rest will be created after loading
        const mk = mkdirAt(parent, name);
        if (mk.ret < 0) walkError(plan, i, mk.errno, "create");
        create(i);
        r = openDirAt(parent, name);
      }
      if (r.ret < 0) walkError(plan, i, r.errno, "open");
      fds.push(r.ret);
      if (i + 1 >= plan.aboveMount) {
        const fs = fstatfsType(r.ret);
        if (fs.ret < 0 || fs.type !== BPF_FS_MAGIC) {
          throw new InvalidArgumentError("pin", optionText`${pinDir(plan.path)}: /${plan.parts.slice(0, i + 1).join("/")} is not on a BPF filesystem (another filesystem mounted there?): use a directory under ${DEFAULT_BPFFS}`);
        }
      }
    }
    return { fds, complete: true };
  } catch (e) {
    for (const fd of fds) close(fd);
    throw e;
  }
}

/** Checks `dir` can hold pins (mounting /sys/fs/bpf if no bpffs is mounted and setup({ mounts: true }) allowed it); creates nothing else. */
export function planPinDir(dir: string): PinPlan {
  const abs = absolutePath(dir);
  let mounts = bpffsMounts();
  if (!mounts.length) {
    if (!processPolicy.mounts) throw new SystemError(`no BPF filesystem is mounted: mount one (mount -t bpf bpf ${DEFAULT_BPFFS}), or let bpfload mount it: setup({ mounts: true })`);
    makeDirs(DEFAULT_BPFFS);
    const r = mount("bpf", DEFAULT_BPFFS, "bpf");
    if (r.ret < 0) throw new SyscallError(`mount the BPF filesystem on ${DEFAULT_BPFFS}`, "mount", r.errno, hintFor("mount", errnoName(r.errno), { euid: euid() }));
    mounts = [DEFAULT_BPFFS];
  }
  const mnt = mounts.filter((m) => abs === m || abs.startsWith(`${m === "/" ? "" : m}/`)).sort((a, b) => b.length - a.length)[0];
  if (mnt === undefined) {
    throw new InvalidArgumentError("pin", optionText`${pinDir(dir)}: not on a BPF filesystem (mounted at ${mounts.join(", ")}): use a directory under ${mounts[0]}`);
  }
  const parts = abs.split("/").filter(Boolean);
  const aboveMount = mnt.split("/").filter(Boolean).length;
  for (const part of parts.slice(aboveMount)) {
    if (part.includes(".")) {
      throw new InvalidArgumentError("pin", optionText`${pinDir(dir)}: '${part}': the BPF filesystem refuses names with a '.' (EPERM): use e.g. '${pinName(part)}'`);
    }
  }
  const plan = { path: abs, parts, aboveMount };
  for (const fd of walk(plan, undefined).fds) close(fd);
  return plan;
}

/** The pin directory, made: pin into it with `pin`, and `undo` removes what bpfload made in it. */
export interface PinDir {
  path: string;
  pin(fd: number, name: string, what: string): string;
  /** Removes the pins made through `pin` and the directories created, newest first. */
  undo(): void;
  close(): void;
}

/** Creates the missing directories of `plan`, without following links, and proves it on bpffs. */
export function createPinDir(plan: PinPlan): PinDir {
  const created: number[] = [];
  const { fds } = walk(plan, (i) => created.push(i));
  const dirFd = fds[fds.length - 1]!;
  const pinned: string[] = [];
  // BPF_OBJ_PIN takes a path: through /proc/self/fd the kernel resolves it to this very directory,
  // so a link planted after the checks cannot redirect the pin.
  const viaFd = readLink(`/proc/self/fd/${dirFd}`) !== undefined;
  return {
    path: plan.path,
    pin(fd, name, what) {
      const shown = `${plan.path}/${name}`;
      pinFd(fd, viaFd ? `/proc/self/fd/${dirFd}/${name}` : shown, what, shown);
      pinned.push(name);
      return shown;
    },
    undo() {
      for (const name of pinned.reverse()) unlinkAt(dirFd, name, false);
      pinned.length = 0;
      for (const i of created.reverse()) unlinkAt(fds[i]!, plan.parts[i]!, true); // fds[i] is the parent of component i
      created.length = 0;
    },
    close() {
      for (const fd of fds.splice(0)) close(fd);
    },
  };
}

/** Makes sure `dir` lies on a bpf filesystem and exists (library API: the directories stay). */
export function preparePinDir(dir: string): string {
  const made = createPinDir(planPinDir(dir));
  made.close();
  return made.path;
}

/** Pins an fd at `path`; an existing pin is an error rather than silently replaced. */
export function pinFd(fd: number, path: string, what: string, shown = path): void {
  const r = bpfObjPin(fd, path);
  if (r.ret >= 0) return;
  if (errnoName(r.errno) === "EEXIST") throw new SystemError(`pin ${what} at ${shown}: the file exists: remove it (rm ${shown}) or pin elsewhere`);
  const hint = errnoName(r.errno) === "EPERM" && shown.split("/").pop()!.includes(".")
    ? "the BPF filesystem refuses names with a '.'"
    : hintFor("BPF_OBJ_PIN", errnoName(r.errno), { euid: euid() });
  throw new SyscallError(`pin ${what} at ${shown}`, "BPF_OBJ_PIN", r.errno, hint);
}

/** Opens a pinned map; its definition comes from BPF_OBJ_GET_INFO_BY_FD. */
export function openPinnedMap(path: string): BpfMap {
  // BPF_OBJ_GET of a file elsewhere fails with EACCES even for root: say what is wrong instead.
  const fs = statfsType(path);
  if (fs.ret < 0 && fs.errno === ENOENT) throw new InvalidArgumentError("path", optionText`${path}: no such file: give the path of a pinned map${opt("pin", "DIR pins them in DIR)", "", " (bpfload load ... ")}`);
  if (fs.ret >= 0 && fs.type !== BPF_FS_MAGIC) throw new InvalidArgumentError("path", `${path} is not on a BPF filesystem: give the path of a pinned map under ${bpffsMounts()[0] ?? DEFAULT_BPFFS}`);
  const r = bpfObjGet(path);
  if (r.ret < 0) {
    const hint = r.errno === ERRNO.ENOENT ? "no such pinned object" : hintFor("BPF_OBJ_GET", errnoName(r.errno), { euid: process.geteuid?.() ?? 0 });
    throw new SyscallError(`open pinned map ${path}`, "BPF_OBJ_GET", r.errno, hint);
  }
  // BPF_OBJ_GET_INFO_BY_FD fills whatever kind of object the fd is: ask fdinfo which kind it is.
  const fdinfo = tryReadText(`/proc/self/fdinfo/${r.ret}`) ?? "";
  if (!/^map_type:/m.test(fdinfo)) {
    close(r.ret);
    const kind = /^prog_type:/m.test(fdinfo) ? "a program" : /^link_type:/m.test(fdinfo) ? "a link" : "not a map";
    throw new InvalidArgumentError("path", `${path} is ${kind}, not a map: map dump takes a pinned map`);
  }
  const info = bpfMapGetInfo(r.ret);
  if (info.ret < 0) {
    close(r.ret);
    throw new SyscallError(`open pinned map ${path}`, "BPF_OBJ_GET_INFO_BY_FD", info.errno, info.errno === ERRNO.EINVAL ? `${path} is not a map (a pinned program or link?)` : undefined);
  }
  const u32 = (name: FieldName<typeof BPF_MAP_INFO>) => info.info.getUint32(field(BPF_MAP_INFO, name).offset, true);
  const nameBytes = new Uint8Array(info.info.buffer, field(BPF_MAP_INFO, "name").offset, 16);
  const end = nameBytes.indexOf(0);
  const name = new TextDecoder().decode(nameBytes.subarray(0, end < 0 ? 16 : end)) || path.split("/").pop()!;
  return new BpfMap(r.ret, { name, type: u32("type"), keySize: u32("key_size"), valueSize: u32("value_size"), maxEntries: u32("max_entries"), flags: u32("map_flags") });
}

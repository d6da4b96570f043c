// The kernel's programs and maps by id (4.13+): iteration, opening, and their info, for the
// `map` and `prog` commands (what bpftool map/prog show on a test VM that has no bpftool).
import { InvalidArgumentError, SyscallError, errnoName, ERRNO } from "../errors.ts";
import { hintFor } from "../hints.ts";
import { bpfMapGetFdById, bpfMapGetInfo, bpfMapGetNextId, bpfObjGet, bpfProgGetFdById, bpfProgGetInfo, bpfProgGetMapIds, bpfProgGetNextId } from "../sys/bpf.ts";
import { tryReadText } from "../sys/files.ts";
import { BPF_MAP_INFO, BPF_PROG_INFO, field, type FieldName, type Layout } from "../sys/layout.ts";
import { close } from "../sys/fd.ts";
import { MAP_TYPES, PROG_TYPES } from "../uapi.ts";
import { BpfMap } from "./map.ts";
import { openPinnedMap } from "./pin.ts";

const { ENOENT } = ERRNO;

function ids(next: (start: number) => { ret: number; errno: number; id: number }, what: string): number[] {
  const out: number[] = [];
  let id = 0;
  for (;;) {
    const r = next(id);
    if (r.ret < 0) {
      if (r.errno === ENOENT) return out;
      throw failure(`list ${what}`, what === "maps" ? "BPF_MAP_GET_NEXT_ID" : "BPF_PROG_GET_NEXT_ID", r.errno);
    }
    id = r.id;
    out.push(id);
  }
}

function failure(what: string, call: string, errno: number): SyscallError {
  return new SyscallError(what, call, errno, hintFor(call, errnoName(errno), { euid: process.geteuid?.() ?? 0 }) ?? (errno === ERRNO.EPERM ? "run as root (CAP_SYS_ADMIN)" : undefined));
}

export const mapIds = () => ids(bpfMapGetNextId, "maps");
export const progIds = () => ids(bpfProgGetNextId, "programs");

function cstr<N extends string>(info: DataView, l: Layout<N>, name: NoInfer<N>): string {
  const f = field(l, name);
  const bytes = new Uint8Array(info.buffer, info.byteOffset + f.offset, f.size);
  const end = bytes.indexOf(0);
  return new TextDecoder().decode(bytes.subarray(0, end < 0 ? f.size : end));
}

export interface MapInfo {
  id: number;
  type: string;
  name: string;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  flags: number;
  btfId: number;
}

export function mapInfoOf(fd: number): MapInfo {
  const r = bpfMapGetInfo(fd);
  if (r.ret < 0) throw failure("read map info", "BPF_OBJ_GET_INFO_BY_FD", r.errno);
  const u32 = (n: FieldName<typeof BPF_MAP_INFO>) => r.info.getUint32(field(BPF_MAP_INFO, n).offset, true);
  return { id: u32("id"), type: MAP_TYPES[u32("type")] ?? `type ${u32("type")}`, name: cstr(r.info, BPF_MAP_INFO, "name"), keySize: u32("key_size"), valueSize: u32("value_size"), maxEntries: u32("max_entries"), flags: u32("map_flags"), btfId: u32("btf_id") };
}

export interface ProgInfo {
  id: number;
  type: string;
  name: string;
  tag: string;
  /** Seconds since boot. */
  loadTime: number;
  uid: number;
  xlatedBytes: number;
  jitedBytes: number;
  mapIds: number[];
  btfId: number;
  /** 5.1+, with BPF_ENABLE_STATS or kernel.bpf_stats_enabled: else 0. */
  runTimeNs: bigint;
  runCount: bigint;
}

export function progInfoOf(fd: number): ProgInfo {
  const r = bpfProgGetInfo(fd);
  if (r.ret < 0) throw failure("read program info", "BPF_OBJ_GET_INFO_BY_FD", r.errno);
  const u32 = (n: FieldName<typeof BPF_PROG_INFO>) => r.info.getUint32(field(BPF_PROG_INFO, n).offset, true);
  const u64 = (n: FieldName<typeof BPF_PROG_INFO>) => r.info.getBigUint64(field(BPF_PROG_INFO, n).offset, true);
  const tagAt = field(BPF_PROG_INFO, "tag").offset;
  const tag = [...new Uint8Array(r.info.buffer, r.info.byteOffset + tagAt, 8)].map((b) => b.toString(16).padStart(2, "0")).join("");
  const nMaps = u32("nr_map_ids");
  const maps = nMaps ? bpfProgGetMapIds(fd, nMaps).ids : [];
  return {
    id: u32("id"),
    type: PROG_TYPES[u32("type")] ?? `type ${u32("type")}`,
    name: cstr(r.info, BPF_PROG_INFO, "name"),
    tag,
    loadTime: Number(u64("load_time")) / 1e9,
    uid: u32("created_by_uid"),
    xlatedBytes: u32("xlated_prog_len"),
    jitedBytes: u32("jited_prog_len"),
    mapIds: maps,
    btfId: u32("btf_id"),
    runTimeNs: u64("run_time_ns"),
    runCount: u64("run_cnt"),
  };
}

/** Opens a map by id; undefined when it went away meanwhile. */
export function openMapById(id: number): BpfMap | undefined {
  const r = bpfMapGetFdById(id);
  if (r.ret < 0) {
    if (r.errno === ENOENT) return undefined;
    throw failure(`open map id ${id}`, "BPF_MAP_GET_FD_BY_ID", r.errno);
  }
  return mapFromFd(r.ret, `id ${id}`);
}

function mapFromFd(fd: number, fallbackName: string): BpfMap {
  const i = mapInfoOf(fd);
  return new BpfMap(fd, { name: i.name || fallbackName, type: MAP_TYPES.indexOf(i.type as never), keySize: i.keySize, valueSize: i.valueSize, maxEntries: i.maxEntries, flags: i.flags });
}

export function openProgById(id: number): number | undefined {
  const r = bpfProgGetFdById(id);
  if (r.ret < 0) {
    if (r.errno === ENOENT) return undefined;
    throw failure(`open program id ${id}`, "BPF_PROG_GET_FD_BY_ID", r.errno);
  }
  return r.ret;
}

/** How users name a map or a program: an id (`12`, `id:12`), a pin path, or `name:NAME`. */
export type ObjectRef = { by: "id"; id: number } | { by: "path"; path: string } | { by: "name"; name: string };

export function parseObjectRef(text: string, what: "map" | "program"): ObjectRef {
  const id = text.match(/^(?:id:)?(\d{1,10})$/);
  if (id && Number(id[1]) > 0 && Number(id[1]) <= 0xffffffff) return { by: "id", id: Number(id[1]) };
  if (text.startsWith("/")) return { by: "path", path: text };
  if (text.startsWith("name:") && text.length > 5) return { by: "name", name: text.slice(5) };
  throw new InvalidArgumentError(what, `bad ${what} '${text}': give an id (12 or id:12), a pin path (/sys/fs/bpf/...) or name:NAME`);
}

/** The ids whose name is `name` (kernel names are cut at 15 characters: compared so). */
function idsByName(list: number[], name: string, nameOf: (id: number) => string | undefined): number[] {
  const want = name.slice(0, 15);
  return list.filter((id) => nameOf(id) === want);
}

function one(matches: number[], what: string, name: string): number {
  if (!matches.length) throw new InvalidArgumentError(what, `no ${what} named '${name}' is loaded (bpfload ${what === "map" ? "map" : "prog"} list shows them)`);
  if (matches.length > 1) throw new InvalidArgumentError(what, `${matches.length} ${what}s are named '${name}' (ids ${matches.join(", ")}): give the id`);
  return matches[0]!;
}

export function openMapRef(ref: ObjectRef): BpfMap {
  if (ref.by === "path") return openPinnedMap(ref.path);
  const id =
    ref.by === "id"
      ? ref.id
      : one(idsByName(mapIds(), ref.name, (id) => {
          const m = openMapById(id);
          if (!m) return undefined;
          try {
            return mapInfoOf(m.fd).name;
          } finally {
            m.close();
          }
        }), "map", ref.name);
  const m = openMapById(id);
  if (!m) throw new InvalidArgumentError("map", `no map with id ${id} (bpfload map list shows them)`);
  return m;
}

/** An fd of the program `ref` names; the caller closes it. */
export function openProgRef(ref: ObjectRef): number {
  if (ref.by === "path") {
    const r = bpfObjGet(ref.path);
    if (r.ret < 0) throw failure(`open pinned program ${ref.path}`, "BPF_OBJ_GET", r.errno);
    if (!/^prog_type:/m.test(tryReadText(`/proc/self/fdinfo/${r.ret}`) ?? "")) {
      close(r.ret);
      throw new InvalidArgumentError("program", `${ref.path} is not a pinned program`);
    }
    return r.ret;
  }
  const id =
    ref.by === "id"
      ? ref.id
      : one(idsByName(progIds(), ref.name, (id) => {
          const fd = openProgById(id);
          if (fd === undefined) return undefined;
          try {
            return progInfoOf(fd).name;
          } finally {
            close(fd);
          }
        }), "program", ref.name);
  const fd = openProgById(id);
  if (fd === undefined) throw new InvalidArgumentError("program", `no program with id ${id} (bpfload prog list shows them)`);
  return fd;
}

// The kernel's maps and programs by id, pin path or name (what `bpfload map`/`prog` and
// `bpftool map/prog show` work on), as the library's disposable wrappers.
import type { KernelVersion } from "../kernel/features/version.ts";
import type { MapInfo, ProgInfo } from "../kernel/objects.ts";
import { lazy } from "./lazy.ts";
import { BpfMap } from "./map.ts";
import { Program } from "./program.ts";

// Loaded on first use (lib/lazy.ts): the id walk and info layouts are syscall modules.
const objects = lazy(() => require("../kernel/objects.ts") as typeof import("../kernel/objects.ts"));
const kernelProgram = lazy(() => require("../kernel/program.ts") as typeof import("../kernel/program.ts"));

/** What listMaps and mapInfo give: a map's id, type name, name, key/value size, max entries, flags, BTF id (0: none). */
export type { MapInfo };
/** What listPrograms and programInfo give: id, type name, name, tag, load time (s after boot), uid, xlated/jited sizes, map ids, BTF id, run_cnt/run_time_ns (0 unless stats are on). */
export type { ProgInfo };

/** Every map the kernel has, by id: a snapshot of BPF_OBJ_GET_INFO_BY_FD of each (maps freed during the walk are left out). Opens and closes each map: nothing stays open. Needs root (CAP_SYS_ADMIN). Minimum kernel: 4.13 (program and map ids). */
export function listMaps(): MapInfo[] {
  const { mapIds, openMapById, mapInfoOf } = objects();
  const out: MapInfo[] = [];
  for (const id of mapIds()) {
    const m = openMapById(id);
    if (!m) continue; // freed since the listing
    try {
      out.push(mapInfoOf(m.fd));
    } finally {
      m.close();
    }
  }
  return out;
}

/** Every program the kernel has, by id: a snapshot of BPF_OBJ_GET_INFO_BY_FD of each (programs unloaded during the walk are left out). Opens and closes each program: nothing stays open. Needs root (CAP_SYS_ADMIN). Minimum kernel: 4.13 (program and map ids). */
export function listPrograms(): ProgInfo[] {
  const { progIds, openProgById, progInfoOf } = objects();
  const { close } = require("../sys/fd.ts") as typeof import("../sys/fd.ts");
  const out: ProgInfo[] = [];
  for (const id of progIds()) {
    const fd = openProgById(id);
    if (fd === undefined) continue; // unloaded since the listing
    try {
      out.push(progInfoOf(fd));
    } finally {
      close(fd);
    }
  }
  return out;
}

/**
 * A map by `ref`: an id (`12`, `id:12`), a pin path (`/sys/fs/bpf/...`) or `name:NAME` (one map of that name); anything else is an InvalidArgumentError (option "map"). Lifetime: as BpfMap: one fd until close() or the end of its `using` block; the map itself stays as long as its pins or programs hold it. Minimum kernel: 4.13 (program and map ids).
 *
 *     using m = openMap("name:counts");
 */
export function openMap(ref: string): BpfMap {
  const { openMapRef, parseObjectRef } = objects();
  return new BpfMap(openMapRef(parseObjectRef(ref, "map")));
}

/**
 * A loaded program by `ref` (as openMap's): a pin that is not a program, an unknown id or name is an InvalidArgumentError (option "program"). `kernVersion`: what a test run sends (default: the running kernel's). Lifetime: as Program: one fd until close() or the end of its `using` block; the program stays loaded while its pins or links hold it. Minimum kernel: 4.13 (program and map ids).
 *
 *     using p = openProgram("/sys/fs/bpf/myapp/on_exec");
 */
export function openProgram(ref: string, opts: { kernVersion?: KernelVersion } = {}): Program {
  const { openProgRef, parseObjectRef, progInfoOf } = objects();
  const { close } = require("../sys/fd.ts") as typeof import("../sys/fd.ts");
  const fd = openProgRef(parseObjectRef(ref, "program"));
  try {
    const info = progInfoOf(fd);
    const kp = kernelProgram();
    return new Program(new kp.Program(fd, info.name || ref, info.type as never, opts.kernVersion ?? kp.kernelVersion(), ""));
  } catch (e) {
    close(fd);
    throw e;
  }
}

/** BPF_OBJ_GET_INFO_BY_FD of a map: id, type, name, sizes, flags, BTF id. Minimum kernel: 4.13 (program and map ids). */
export function mapInfo(map: BpfMap): MapInfo {
  return objects().mapInfoOf(map.fd);
}

/** BPF_OBJ_GET_INFO_BY_FD of a program: id, type, name, tag, load time, sizes, map ids, BTF id, run stats (5.1+ with kernel.bpf_stats_enabled). Minimum kernel: 4.13 (program and map ids). */
export function programInfo(prog: Program): ProgInfo {
  return objects().progInfoOf(prog.fd);
}

/** Whether `path` exists on a BPF filesystem (statfs: bpffs's magic), where pins live; false for a path that does not exist. Reads only. Minimum kernel: 4.9. */
export function isOnBpfFs(path: string): boolean {
  const { BPF_FS_MAGIC, statfsType } = require("../sys/paths.ts") as typeof import("../sys/paths.ts");
  const fs = statfsType(path);
  return fs.ret >= 0 && fs.type === BPF_FS_MAGIC;
}

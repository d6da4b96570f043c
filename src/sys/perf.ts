// perf_event_open(2), its ioctls and its counter.
import { PERF_ATTR_SIZE_VER5, PERF_FLAG_FD_CLOEXEC } from "../uapi.ts";
import { Arena, cstringBytes, syscallWith } from "./arena.ts";
import { NR } from "./arch.ts";
import { PERF_ATTR_FLAG, PERF_EVENT_ATTR, encode } from "./layout.ts";
import { syscall, type SysResult } from "./libc.ts";

export interface PerfEventArgs {
  type: number;
  config: number | bigint;
  samplePeriod?: number;
  sampleFreq?: number;
  sampleType?: number;
  wakeupEvents?: number;
  /** Sets config1 to a pointer to this string (kprobe_func / uprobe_path of the probe PMUs). */
  config1String?: string;
  config2?: number | bigint;
  pid?: number;
  cpu?: number;
}

export function perfEventOpen(a: PerfEventArgs): SysResult {
  const str = a.config1String !== undefined ? cstringBytes(a.config1String) : undefined;
  const arena = new Arena([PERF_EVENT_ATTR.size, str?.length ?? 0]);
  if (str) arena.put(arena.region(1), str);
  let flags = 0n;
  if (a.sampleFreq) flags |= 1n << BigInt(PERF_ATTR_FLAG.freq);
  encode(PERF_EVENT_ATTR, arena.view, 0, {
    type: a.type,
    size: PERF_ATTR_SIZE_VER5,
    config: BigInt(a.config),
    sample_period: BigInt(a.sampleFreq ?? a.samplePeriod ?? 0),
    sample_type: BigInt(a.sampleType ?? 0),
    flags,
    wakeup_events: a.wakeupEvents ?? 0,
    config1: str ? arena.address(arena.region(1)) : 0n,
    config2: BigInt(a.config2 ?? 0),
  });
  return syscallWith(arena, NR.perf_event_open, arena.base, a.pid ?? -1, a.cpu ?? 0, -1, PERF_FLAG_FD_CLOEXEC);
}

export function ioctl(fd: number, request: number, arg = 0): SysResult {
  return syscall(NR.ioctl, fd, request, arg);
}

/** Reads a u64 counter from an fd (a perf event's count). */
export function readU64(fd: number): { value: bigint; errno: number } {
  const arena = new Arena([8]);
  const r = syscallWith(arena, NR.read, fd, arena.base, 8);
  return { value: r.ret === 8 ? arena.view.getBigUint64(0, true) : 0n, errno: r.errno };
}

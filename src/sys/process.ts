// The two process-wide changes bpfload may make, each only when the process's owner allowed it
// (kernel/policy.ts, lib/setup.ts): raising RLIMIT_MEMLOCK and mounting tracefs or bpffs.
import { Arena, cstringBytes, syscallWith } from "./arena.ts";
import { NR } from "./arch.ts";
import type { SysResult } from "./libc.ts";

const RLIMIT_MEMLOCK = 8;
const RLIM_INFINITY = 0xffffffffffffffffn;

/**
 * Raises RLIMIT_MEMLOCK (kernels before 5.11 charge BPF memory to it): to infinity when allowed
 * (CAP_SYS_RESOURCE), else the soft limit up to the hard one.
 */
export function raiseMemlockLimit(): SysResult {
  const arena = new Arena([16, 16]);
  const [want, old] = [arena.region(0), arena.region(1)];
  arena.view.setBigUint64(want.offset, RLIM_INFINITY, true);
  arena.view.setBigUint64(want.offset + 8, RLIM_INFINITY, true);
  const r = syscallWith(arena, NR.prlimit64, 0, RLIMIT_MEMLOCK, Number(arena.address(want)), Number(arena.address(old)));
  if (r.ret === 0) return r;
  const fallback = syscallWith(arena, NR.prlimit64, 0, RLIMIT_MEMLOCK, 0, Number(arena.address(old)));
  if (fallback.ret < 0) return fallback;
  arena.view.setBigUint64(want.offset, arena.view.getBigUint64(old.offset + 8, true), true);
  arena.view.setBigUint64(want.offset + 8, arena.view.getBigUint64(old.offset + 8, true), true);
  return syscallWith(arena, NR.prlimit64, 0, RLIMIT_MEMLOCK, Number(arena.address(want)), 0);
}

/** mount(2) of a pseudo filesystem (tracefs, debugfs, bpf) with no flags and no data. */
export function mount(source: string, target: string, fstype: string): SysResult {
  const [s, t, f] = [cstringBytes(source), cstringBytes(target), cstringBytes(fstype)];
  const arena = new Arena([s.length, t.length, f.length]);
  const regions = [arena.region(0), arena.region(1), arena.region(2)] as const;
  arena.put(regions[0], s);
  arena.put(regions[1], t);
  arena.put(regions[2], f);
  const [s0, t0, f0] = regions.map((r) => Number(arena.address(r))) as [number, number, number];
  return syscallWith(arena, NR.mount, s0, t0, f0, 0, 0);
}

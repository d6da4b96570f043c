// BPF_LINK_CREATE for the probe links: a perf event with a bpf cookie (5.15+), kprobe_multi (5.18+)
// and uprobe_multi (6.6+). The symbol names, offsets and cookies are arrays the kernel copies in
// during the call, so they live in the same arena as the attr. No policy here.
import { BPF_LINK_CREATE } from "../uapi.ts";
import { Arena, cstringBytes, syscallWith } from "./arena.ts";
import { NR } from "./arch.ts";
import { encode, layout } from "./layout.ts";
import type { SysResult } from "./libc.ts";

/** union bpf_attr, the link_create struct with its perf_event / kprobe_multi / uprobe_multi members. */
export const BPF_LINK_CREATE_PROBE_ATTR = layout("bpf_attr(BPF_LINK_CREATE probes)", [
  ["prog_fd", "u32"],
  ["target_fd", "u32"],
  ["attach_type", "u32"],
  ["flags", "u32"],
  ["perf_event.bpf_cookie", "u64", 16],
  ["kprobe_multi.flags", "u32", 16],
  ["kprobe_multi.cnt", "u32", 20],
  ["kprobe_multi.syms", "u64", 24],
  ["kprobe_multi.addrs", "u64", 32],
  ["kprobe_multi.cookies", "u64", 40],
  ["uprobe_multi.path", "u64", 16],
  ["uprobe_multi.offsets", "u64", 24],
  ["uprobe_multi.ref_ctr_offsets", "u64", 32],
  ["uprobe_multi.cookies", "u64", 40],
  ["uprobe_multi.cnt", "u32", 48],
  ["uprobe_multi.flags", "u32", 52],
  ["uprobe_multi.pid", "u32", 56],
]);

/** kprobe_multi.flags / uprobe_multi.flags: the return probe. */
export const BPF_F_MULTI_RETURN = 1;

function u64Array(values: (number | bigint)[]): Uint8Array {
  const out = new Uint8Array(values.length * 8);
  const v = new DataView(out.buffer);
  values.forEach((x, i) => v.setBigUint64(i * 8, BigInt(x), true));
  return out;
}

/** BPF_LINK_CREATE with attach type BPF_PERF_EVENT: the program on an open perf event, with a cookie. */
export function bpfLinkCreatePerfEvent(progFd: number, perfFd: number, attachType: number, cookie: bigint): SysResult {
  const arena = new Arena([BPF_LINK_CREATE_PROBE_ATTR.size]);
  const size = encode(BPF_LINK_CREATE_PROBE_ATTR, arena.view, 0, { prog_fd: progFd, target_fd: perfFd, attach_type: attachType, "perf_event.bpf_cookie": cookie });
  return syscallWith(arena, NR.bpf, BPF_LINK_CREATE, arena.base, size);
}

/** BPF_LINK_CREATE for kprobe_multi: one link on every symbol of `syms` (cookies optional, one per symbol). */
export function bpfLinkCreateKprobeMulti(progFd: number, attachType: number, syms: string[], opts: { retprobe: boolean; cookies?: bigint[] }): SysResult {
  const names = syms.map(cstringBytes);
  const cookies = opts.cookies ? u64Array(opts.cookies) : undefined;
  const arena = new Arena([BPF_LINK_CREATE_PROBE_ATTR.size, syms.length * 8, ...names.map((n) => n.length), cookies?.length ?? 0]);
  const pointers = syms.map((_, i) => arena.address(arena.region(2 + i)));
  names.forEach((n, i) => arena.put(arena.region(2 + i), n));
  arena.put(arena.region(1), u64Array(pointers));
  const cookieRegion = arena.region(2 + names.length);
  if (cookies) arena.put(cookieRegion, cookies);
  const size = encode(BPF_LINK_CREATE_PROBE_ATTR, arena.view, 0, {
    prog_fd: progFd,
    attach_type: attachType,
    "kprobe_multi.flags": opts.retprobe ? BPF_F_MULTI_RETURN : undefined,
    "kprobe_multi.cnt": syms.length,
    "kprobe_multi.syms": arena.address(arena.region(1)),
    "kprobe_multi.cookies": cookies ? arena.address(cookieRegion) : undefined,
  });
  return syscallWith(arena, NR.bpf, BPF_LINK_CREATE, arena.base, size);
}

/** BPF_LINK_CREATE for uprobe_multi: one link on every file offset of `path` (any process: pid 0). */
export function bpfLinkCreateUprobeMulti(progFd: number, attachType: number, path: string, offsets: number[], opts: { retprobe: boolean; cookies?: bigint[] }): SysResult {
  const pathBytes = cstringBytes(path);
  const offs = u64Array(offsets);
  const cookies = opts.cookies ? u64Array(opts.cookies) : undefined;
  const arena = new Arena([BPF_LINK_CREATE_PROBE_ATTR.size, pathBytes.length, offs.length, cookies?.length ?? 0]);
  arena.put(arena.region(1), pathBytes);
  arena.put(arena.region(2), offs);
  if (cookies) arena.put(arena.region(3), cookies);
  const size = encode(BPF_LINK_CREATE_PROBE_ATTR, arena.view, 0, {
    prog_fd: progFd,
    attach_type: attachType,
    "uprobe_multi.path": arena.address(arena.region(1)),
    "uprobe_multi.offsets": arena.address(arena.region(2)),
    "uprobe_multi.cookies": cookies ? arena.address(arena.region(3)) : undefined,
    "uprobe_multi.cnt": offsets.length,
    "uprobe_multi.flags": opts.retprobe ? BPF_F_MULTI_RETURN : undefined,
  });
  return syscallWith(arena, NR.bpf, BPF_LINK_CREATE, arena.base, size);
}

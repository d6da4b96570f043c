// One thin function per bpf(2) command. Each builds its attr in a fresh arena, passes exactly
// offsetofend(last field used) as the size, and returns the raw result: callers in kernel/ turn
// failures into errors with hints. No policy here.
import { BPF_ENABLE_STATS, BPF_LINK_CREATE, BPF_OBJ_GET_INFO_BY_FD, BPF_MAP_CREATE, BPF_MAP_GET_NEXT_KEY, BPF_MAP_LOOKUP_ELEM, BPF_MAP_UPDATE_ELEM, BPF_OBJ_GET, BPF_OBJ_PIN, BPF_PROG_LOAD, BPF_RAW_TRACEPOINT_OPEN } from "../uapi.ts";
import { Arena, cstringBytes } from "./arena.ts";
import { NR } from "./arch.ts";
import { BPF_ENABLE_STATS_ATTR, BPF_LINK_CREATE_ATTR, BPF_MAP_INFO, BPF_OBJ_GET_INFO_BY_FD_ATTR, BPF_PROG_INFO, BPF_MAP_CREATE_ATTR, BPF_MAP_ELEM_ATTR, BPF_OBJ_ATTR, BPF_PROG_LOAD_ATTR, BPF_RAW_TRACEPOINT_OPEN_ATTR, encode, field, type FieldValue, type Layout } from "./layout.ts";
import { syscall, type SysResult } from "./libc.ts";
import { BPF_BTF_LOAD } from "../uapi.ts";
import { layout } from "./layout.ts";

function bpf(cmd: number, arena: Arena, attrSize: number): SysResult {
  return syscall(NR.bpf, cmd, arena.base, attrSize);
}

/** Encodes `values` into region 0 of `arena` and runs the command. */
function run(cmd: number, l: Layout, arena: Arena, values: Record<string, FieldValue | undefined>): SysResult {
  const size = encode(l, arena.view, 0, values);
  return bpf(cmd, arena, size);
}

export interface ProgLoadArgs {
  progType: number;
  insns: Uint8Array;
  license: string;
  kernVersion: number;
  logLevel: number;
  /** Bytes of verifier log buffer; 0 for none. */
  logSize: number;
  /** Program name (4.15+); omit on kernels that do not know it. */
  name?: string;
  progFlags?: number;
  expectedAttachType?: number;
}

export interface ProgLoadResult extends SysResult {
  log: string;
  /** 6.4+: the log size the kernel needed (0 when not reported). */
  logTrueSize: number;
}

export function bpfProgLoad(a: ProgLoadArgs): ProgLoadResult {
  const license = cstringBytes(a.license);
  const arena = new Arena([BPF_PROG_LOAD_ATTR.size, a.insns.length, license.length, a.logSize]);
  const [insns, lic, log] = [arena.region(1), arena.region(2), arena.region(3)];
  arena.put(insns, a.insns);
  arena.put(lic, license);
  const r = run(BPF_PROG_LOAD, BPF_PROG_LOAD_ATTR, arena, {
    prog_type: a.progType,
    insn_cnt: a.insns.length / 8,
    insns: arena.address(insns),
    license: arena.address(lic),
    log_level: a.logSize ? a.logLevel : undefined,
    log_size: a.logSize || undefined,
    log_buf: a.logSize ? arena.address(log) : undefined,
    kern_version: a.kernVersion,
    prog_flags: a.progFlags || undefined,
    prog_name: a.name || undefined,
    expected_attach_type: a.expectedAttachType || undefined,
  });
  const logTrueSize = arena.view.getUint32(field(BPF_PROG_LOAD_ATTR, "log_true_size").offset, true);
  return { ...r, log: a.logSize ? arena.cstring(log) : "", logTrueSize };
}

export interface MapCreateArgs {
  mapType: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  flags?: number;
  innerMapFd?: number;
  name?: string;
}

export function bpfMapCreate(a: MapCreateArgs): SysResult {
  const arena = new Arena([BPF_MAP_CREATE_ATTR.size]);
  return run(BPF_MAP_CREATE, BPF_MAP_CREATE_ATTR, arena, {
    map_type: a.mapType,
    key_size: a.keySize,
    value_size: a.valueSize,
    max_entries: a.maxEntries,
    map_flags: a.flags || undefined,
    inner_map_fd: a.innerMapFd || undefined,
    map_name: a.name || undefined,
  });
}

function elemCommand(cmd: number, mapFd: number, key: Uint8Array | undefined, valueSize: number, value?: Uint8Array, flags = 0) {
  const arena = new Arena([BPF_MAP_ELEM_ATTR.size, key?.length ?? 0, valueSize]);
  const [k, v] = [arena.region(1), arena.region(2)];
  if (key) arena.put(k, key);
  if (value) arena.put(v, value);
  const r = run(cmd, BPF_MAP_ELEM_ATTR, arena, {
    map_fd: mapFd,
    key: key ? arena.address(k) : 0n,
    value: arena.address(v),
    flags: cmd === BPF_MAP_UPDATE_ELEM ? BigInt(flags) : undefined,
  });
  return { ...r, value: arena.slice(v).slice() };
}

export function bpfMapLookupElem(mapFd: number, key: Uint8Array, valueSize: number) {
  return elemCommand(BPF_MAP_LOOKUP_ELEM, mapFd, key, valueSize);
}

export function bpfMapUpdateElem(mapFd: number, key: Uint8Array, value: Uint8Array, flags = 0): SysResult {
  return elemCommand(BPF_MAP_UPDATE_ELEM, mapFd, key, value.length, value, flags);
}

/** key undefined: the first key. Result `value` holds the next key. */
export function bpfMapGetNextKey(mapFd: number, key: Uint8Array | undefined, keySize: number) {
  return elemCommand(BPF_MAP_GET_NEXT_KEY, mapFd, key, keySize);
}

export function bpfObjPin(fd: number, path: string): SysResult {
  const p = cstringBytes(path);
  const arena = new Arena([BPF_OBJ_ATTR.size, p.length]);
  arena.put(arena.region(1), p);
  return run(BPF_OBJ_PIN, BPF_OBJ_ATTR, arena, { pathname: arena.address(arena.region(1)), bpf_fd: fd });
}

export function bpfObjGet(path: string): SysResult {
  const p = cstringBytes(path);
  const arena = new Arena([BPF_OBJ_ATTR.size, p.length]);
  arena.put(arena.region(1), p);
  return run(BPF_OBJ_GET, BPF_OBJ_ATTR, arena, { pathname: arena.address(arena.region(1)) });
}

export function bpfRawTracepointOpen(name: string, progFd: number): SysResult {
  const n = cstringBytes(name);
  const arena = new Arena([BPF_RAW_TRACEPOINT_OPEN_ATTR.size, n.length]);
  arena.put(arena.region(1), n);
  return run(BPF_RAW_TRACEPOINT_OPEN, BPF_RAW_TRACEPOINT_OPEN_ATTR, arena, { name: arena.address(arena.region(1)), prog_fd: progFd });
}

/** 5.8+: run-time statistics of every program are collected while the returned fd is open. */
export function bpfEnableStats(type: number): SysResult {
  const arena = new Arena([BPF_ENABLE_STATS_ATTR.size]);
  return run(BPF_ENABLE_STATS, BPF_ENABLE_STATS_ATTR, arena, { type });
}

/** struct bpf_prog_info / bpf_map_info of an fd (4.13+), as a DataView over a copy. */
function getInfo(fd: number, info: Layout): SysResult & { info: DataView } {
  const arena = new Arena([BPF_OBJ_GET_INFO_BY_FD_ATTR.size, info.size]);
  const region = arena.region(1);
  const r = run(BPF_OBJ_GET_INFO_BY_FD, BPF_OBJ_GET_INFO_BY_FD_ATTR, arena, { bpf_fd: fd, info_len: info.size, info: arena.address(region) });
  const copy = arena.slice(region).slice();
  return { ...r, info: new DataView(copy.buffer) };
}

export function bpfProgGetInfo(fd: number): SysResult & { info: DataView } {
  return getInfo(fd, BPF_PROG_INFO);
}

export function bpfMapGetInfo(fd: number): SysResult & { info: DataView } {
  return getInfo(fd, BPF_MAP_INFO);
}

/**
 * Does the kernel know BPF_LINK_CREATE (5.7+)? Called with prog_fd -1: a kernel with the command
 * answers EBADF, one without it EINVAL. Returns the errno.
 */
export function bpfLinkCreateProbe(): number {
  const arena = new Arena([BPF_LINK_CREATE_ATTR.size]);
  return run(BPF_LINK_CREATE, BPF_LINK_CREATE_ATTR, arena, { prog_fd: 0xffffffff, target_fd: 0xffffffff }).errno;
}

// Feature probes (kernel/features/): commands and attr variants only the probes use.

/** union bpf_attr for BPF_BTF_LOAD (4.18+; btf_log_true_size from 6.4 is not sent). */
const BPF_BTF_LOAD_ATTR = layout("bpf_attr(BPF_BTF_LOAD)", [
  ["btf", "u64"],
  ["btf_log_buf", "u64"],
  ["btf_size", "u32"],
  ["btf_log_size", "u32"],
  ["btf_log_level", "u32"],
]);

/** Loads a raw BTF blob; returns its fd, and the log when `logSize` > 0. */
export function bpfBtfLoad(blob: Uint8Array, logSize = 0): SysResult & { log: string } {
  const arena = new Arena([BPF_BTF_LOAD_ATTR.size, blob.length, logSize]);
  const [data, log] = [arena.region(1), arena.region(2)];
  arena.put(data, blob);
  const r = run(BPF_BTF_LOAD, BPF_BTF_LOAD_ATTR, arena, {
    btf: arena.address(data),
    btf_size: blob.length,
    btf_log_buf: logSize ? arena.address(log) : undefined,
    btf_log_size: logSize || undefined,
    btf_log_level: logSize ? 1 : undefined,
  });
  return { ...r, log: logSize ? arena.cstring(log) : "" };
}

/**
 * BPF_PROG_LOAD with the whole attr this build knows (zeros past what is set, which every kernel
 * accepts), so a 6.4+ kernel writes log_true_size back; older ones leave it 0. `claimedLogSize`
 * tells the kernel a larger log buffer than `a.logSize` bytes: only for a program whose whole log
 * is known to fit (the kernel writes what it logs, never the size claimed).
 */
export function bpfProgLoadWholeAttr(a: ProgLoadArgs, claimedLogSize?: number): ProgLoadResult {
  const license = cstringBytes(a.license);
  const arena = new Arena([BPF_PROG_LOAD_ATTR.size, a.insns.length, license.length, a.logSize]);
  const [insns, lic, log] = [arena.region(1), arena.region(2), arena.region(3)];
  arena.put(insns, a.insns);
  arena.put(lic, license);
  encode(BPF_PROG_LOAD_ATTR, arena.view, 0, {
    prog_type: a.progType,
    insn_cnt: a.insns.length / 8,
    insns: arena.address(insns),
    license: arena.address(lic),
    log_level: a.logSize ? a.logLevel : undefined,
    log_size: a.logSize ? (claimedLogSize ?? a.logSize) : undefined,
    log_buf: a.logSize ? arena.address(log) : undefined,
    kern_version: a.kernVersion,
  });
  const r = bpf(BPF_PROG_LOAD, arena, BPF_PROG_LOAD_ATTR.size);
  const logTrueSize = arena.view.getUint32(field(BPF_PROG_LOAD_ATTR, "log_true_size").offset, true);
  return { ...r, log: a.logSize ? arena.cstring(log) : "", logTrueSize };
}

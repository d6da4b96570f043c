// One thin function per bpf(2) command. Each builds its attr in a fresh arena, passes exactly
// offsetofend(last field used) as the size, and returns the raw result: callers in kernel/ turn
// failures into errors with hints. No policy here.
import { MAP_TYPES } from "../uapi.ts";
import { BPF_ENABLE_STATS, BPF_LINK_CREATE, BPF_OBJ_GET_INFO_BY_FD, BPF_MAP_CREATE, BPF_MAP_GET_NEXT_KEY, BPF_MAP_LOOKUP_ELEM, BPF_MAP_UPDATE_ELEM, BPF_OBJ_GET, BPF_OBJ_PIN, BPF_PROG_LOAD, BPF_RAW_TRACEPOINT_OPEN } from "../uapi.ts";
import { Arena, align8, cstringBytes, syscallWith } from "./arena.ts";
import { NR } from "./arch.ts";
import { possibleCpus } from "./cpus.ts";
import { BPF_PROG_TEST_RUN_ATTR, BPF_ENABLE_STATS_ATTR, BPF_LINK_CREATE_ATTR, BPF_MAP_INFO, BPF_OBJ_GET_INFO_BY_FD_ATTR, BPF_PROG_INFO, BPF_MAP_CREATE_ATTR, BPF_MAP_ELEM_ATTR, BPF_OBJ_ATTR, BPF_PROG_LOAD_ATTR, BPF_RAW_TRACEPOINT_OPEN_ATTR, encode, field, type FieldName, type FieldValues, type Layout } from "./layout.ts";
import type { SysResult } from "./libc.ts";
import { BPF_BTF_LOAD, BPF_MAP_DELETE_ELEM, BPF_PROG_TEST_RUN } from "../uapi.ts";
import { BPF_BTF_INFO, BPF_ITER_CREATE_ATTR, BPF_LINK_INFO } from "./layout.ts";
import { BPF_GET_ID_ATTR, BPF_LINK_CREATE_HOOK_ATTR, BPF_PROG_ATTACH_ATTR, BPF_PROG_QUERY_ATTR } from "./layout.ts";
import { layout } from "./layout.ts";

/** Every bpf(2) call goes through here: the arena (attr and all it points to) outlives the call. */
function bpf(cmd: number, arena: Arena, attrSize: number): SysResult {
  return syscallWith(arena, NR.bpf, cmd, arena.base, attrSize);
}

/** Encodes `values` into region 0 of `arena` and runs the command. */
function run<N extends string>(cmd: number, l: Layout<N>, arena: Arena, values: FieldValues<NoInfer<N>>): SysResult {
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
  /** BTF type id of the attach target (fentry/tp_btf/lsm/iter: in vmlinux or a module; freplace: in the target program's BTF). */
  attachBtfId?: number;
  /** freplace: fd of the program whose function is replaced. */
  attachProgFd?: number;
  /** The module BTF that holds attachBtfId (5.11+; union with attach_prog_fd: never both). */
  attachBtfObjFd?: number;
  /** fd_array: module BTF fds for kfunc calls (insn.off indexes it), 5.14+. */
  fdArray?: number[];
  /**
   * Send the attr up to log_true_size (6.4+) so that the kernel reports the log size it needed.
   * A kernel that predates the field ignores the zero bytes (kernel/program.ts probes it once).
   */
  askLogTrueSize?: boolean;
  /**
   * Tells the kernel the log buffer is this large although only `logSize` bytes are reserved: for a
   * program whose whole log is known to fit (the kernel writes what it logs, never the size claimed).
   * Used by the probe of the kernel's log-size cap.
   */
  claimedLogSize?: number;
  /** The object's BTF (BPF_BTF_LOAD fd) and its func_info / line_info records (5.0+; 4.20 for func_info). */
  progBtfFd?: number;
  funcInfo?: Uint8Array;
  funcInfoRecSize?: number;
  lineInfo?: Uint8Array;
  lineInfoRecSize?: number;
}

export interface ProgLoadResult extends SysResult {
  log: string;
  /** 6.4+: the log size the kernel needed (0 when not reported). */
  logTrueSize: number;
}

export function bpfProgLoad(a: ProgLoadArgs): ProgLoadResult {
  const license = cstringBytes(a.license);
  const funcInfo = a.funcInfo ?? new Uint8Array(0);
  const lineInfo = a.lineInfo ?? new Uint8Array(0);
  const fdArray = new Uint8Array((a.fdArray?.length ?? 0) * 4);
  a.fdArray?.forEach((fd, i) => new DataView(fdArray.buffer).setInt32(i * 4, fd, true));
  const arena = new Arena([BPF_PROG_LOAD_ATTR.size, a.insns.length, license.length, a.logSize, funcInfo.length, lineInfo.length, fdArray.length]);
  const [insns, lic, log, fi, li, fds] = [arena.region(1), arena.region(2), arena.region(3), arena.region(4), arena.region(5), arena.region(6)];
  if (fdArray.length) arena.put(fds, fdArray);
  arena.put(insns, a.insns);
  arena.put(lic, license);
  if (funcInfo.length) arena.put(fi, funcInfo);
  if (lineInfo.length) arena.put(li, lineInfo);
  const btf = a.progBtfFd !== undefined && a.progBtfFd >= 0;
  const r = run(BPF_PROG_LOAD, BPF_PROG_LOAD_ATTR, arena, {
    prog_type: a.progType,
    insn_cnt: a.insns.length / 8,
    insns: arena.address(insns),
    license: arena.address(lic),
    log_level: a.logSize ? a.logLevel : undefined,
    log_size: a.logSize ? (a.claimedLogSize ?? a.logSize) : undefined,
    log_buf: a.logSize ? arena.address(log) : undefined,
    kern_version: a.kernVersion,
    prog_flags: a.progFlags || undefined,
    prog_name: a.name || undefined,
    expected_attach_type: a.expectedAttachType || undefined,
    prog_btf_fd: btf ? a.progBtfFd : undefined,
    func_info_rec_size: btf && funcInfo.length ? a.funcInfoRecSize : undefined,
    func_info: btf && funcInfo.length ? arena.address(fi) : undefined,
    func_info_cnt: btf && funcInfo.length ? funcInfo.length / a.funcInfoRecSize! : undefined,
    line_info_rec_size: btf && lineInfo.length ? a.lineInfoRecSize : undefined,
    line_info: btf && lineInfo.length ? arena.address(li) : undefined,
    line_info_cnt: btf && lineInfo.length ? lineInfo.length / a.lineInfoRecSize! : undefined,
    log_true_size: a.askLogTrueSize ? 0 : undefined, // zero in, the kernel's answer out
    attach_btf_id: a.attachBtfId || undefined,
    attach_prog_fd: a.attachProgFd || undefined,
    attach_btf_obj_fd: a.attachBtfObjFd || undefined,
    fd_array: fdArray.length ? arena.address(fds) : undefined,
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
  /** BTF of the key and value (4.18+): the fd of the object's BTF and the two type ids (key 0: none). */
  btfFd?: number;
  btfKeyTypeId?: number;
  btfValueTypeId?: number;
  /** struct_ops maps: the kernel's bpf_struct_ops_<type> (btfFd must be a BTF, the object's). */
  btfVmlinuxValueTypeId?: number;
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
    btf_fd: a.btfFd !== undefined && a.btfFd >= 0 ? a.btfFd : undefined,
    btf_key_type_id: a.btfFd !== undefined && a.btfFd >= 0 ? a.btfKeyTypeId ?? 0 : undefined,
    btf_value_type_id: a.btfFd !== undefined && a.btfFd >= 0 ? a.btfValueTypeId ?? 0 : undefined,
    btf_vmlinux_value_type_id: a.btfVmlinuxValueTypeId || undefined,
  });
}

/** The map an element command works on: the kernel sizes its buffers from these. */
export interface MapRef {
  fd: number;
  type: number;
  keySize: number;
  valueSize: number;
}

const PER_CPU_MAP_TYPES = new Set(["percpu_hash", "percpu_array", "lru_percpu_hash", "percpu_cgroup_storage"].map((n) => MAP_TYPES.indexOf(n as never)));

export function isPerCpuMapType(type: number): boolean {
  return PER_CPU_MAP_TYPES.has(type);
}

/** Values of one element: one per possible CPU for per-CPU maps, else one. */
export function mapValueCopies(type: number): number {
  return PER_CPU_MAP_TYPES.has(type) ? possibleCpus() : 1;
}

/** Distance between two CPUs' values in the buffer: round_up(value_size, 8) for per-CPU maps. */
export function mapValueStride(type: number, valueSize: number): number {
  return PER_CPU_MAP_TYPES.has(type) ? align8(valueSize) : valueSize;
}

/**
 * Bytes the kernel copies to (lookup) or from (update) the value buffer of one element: the
 * kernel's bpf_map_value_size(), round_up(value_size, 8) × possible CPUs for per-CPU maps. The one
 * place this is computed: every value buffer handed to the kernel is this size.
 */
export function mapValueBytes(type: number, valueSize: number): number {
  return mapValueStride(type, valueSize) * mapValueCopies(type);
}

/** An arena for one element command: attr, a key of key_size and a value of mapValueBytes. */
function elemArena(m: MapRef, key: Uint8Array | undefined, valueBytes: number) {
  const arena = new Arena([BPF_MAP_ELEM_ATTR.size, m.keySize, valueBytes]);
  const [k, v] = [arena.region(1), arena.region(2)];
  if (key) arena.put(k, key);
  return { arena, k, v };
}

/** Splits one element's value buffer (at `offset`) into its values: one per possible CPU for per-CPU maps, each value_size bytes. */
export function splitValues(m: MapRef, bytes: Uint8Array, offset = 0): Uint8Array[] {
  const stride = mapValueStride(m.type, m.valueSize);
  return Array.from({ length: mapValueCopies(m.type) }, (_, i) => bytes.slice(offset + i * stride, offset + i * stride + m.valueSize));
}

/** The element's value(s): one per possible CPU for per-CPU maps, else one. */
export function bpfMapLookupElem(m: MapRef, key: Uint8Array): SysResult & { values: Uint8Array[] } {
  const { arena, k, v } = elemArena(m, key, mapValueBytes(m.type, m.valueSize));
  const r = run(BPF_MAP_LOOKUP_ELEM, BPF_MAP_ELEM_ATTR, arena, { map_fd: m.fd, key: m.keySize ? arena.address(k) : 0n, value: arena.address(v) });
  return { ...r, values: r.ret < 0 ? [] : splitValues(m, arena.slice(v)) };
}

/** `values`: exactly mapValueCopies(type) values (one per possible CPU for per-CPU maps). */
export function bpfMapUpdateElem(m: MapRef, key: Uint8Array, values: Uint8Array[], flags = 0): SysResult {
  const copies = mapValueCopies(m.type);
  if (values.length !== copies) throw new RangeError(`map update: ${values.length} values given, the map takes ${copies}`);
  const { arena, k, v } = elemArena(m, key, mapValueBytes(m.type, m.valueSize));
  const stride = mapValueStride(m.type, m.valueSize);
  values.forEach((value, i) => arena.bytes.set(value.subarray(0, m.valueSize), v.offset + i * stride));
  return run(BPF_MAP_UPDATE_ELEM, BPF_MAP_ELEM_ATTR, arena, { map_fd: m.fd, key: m.keySize ? arena.address(k) : 0n, value: arena.address(v), flags: BigInt(flags) });
}

/** key undefined: the first key. `key` of the result is the next key (key_size bytes). */
export function bpfMapGetNextKey(m: MapRef, key: Uint8Array | undefined): SysResult & { key: Uint8Array } {
  const { arena, k, v } = elemArena(m, key, m.keySize);
  const r = run(BPF_MAP_GET_NEXT_KEY, BPF_MAP_ELEM_ATTR, arena, { map_fd: m.fd, key: key ? arena.address(k) : 0n, value: arena.address(v) });
  return { ...r, key: arena.slice(v).slice() };
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

/** `name` undefined: a NULL name, the attach of tp_btf/fentry/fexit/fmod_ret/lsm programs (5.5+), whose target came with the load. */
export function bpfRawTracepointOpen(name: string | undefined, progFd: number): SysResult {
  if (name === undefined) return run(BPF_RAW_TRACEPOINT_OPEN, BPF_RAW_TRACEPOINT_OPEN_ATTR, new Arena([BPF_RAW_TRACEPOINT_OPEN_ATTR.size]), { prog_fd: progFd });
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

// BPF_PROG_TEST_RUN (4.12+): run a loaded program once or `repeat` times on given input.

export interface ProgTestRunArgs {
  progFd: number;
  data?: Uint8Array;
  /** Bytes of room for data_out (the kernel writes at most this much and says how much it had). */
  dataOutSize?: number;
  ctx?: Uint8Array;
  ctxOutSize?: number;
  repeat?: number;
  flags?: number;
  cpu?: number;
}

export interface ProgTestRunResult extends SysResult {
  retval: number;
  /** Average run time in ns over the repeats, as the kernel measured it. */
  duration: number;
  dataOut: Uint8Array;
  /** What the kernel had to write (may exceed dataOut's length: ENOSPC). */
  dataSizeOut: number;
  ctxOut: Uint8Array;
  ctxSizeOut: number;
  /** ctx_in as the run left it: a syscall program's context is written back there (5.14), not to ctx_out. */
  ctxInAfter: Uint8Array;
}

export function bpfProgTestRun(a: ProgTestRunArgs): ProgTestRunResult {
  const data = a.data ?? new Uint8Array(0);
  const ctx = a.ctx;
  const dataOutSize = a.dataOutSize ?? 0;
  const ctxOutSize = a.ctxOutSize ?? 0;
  const arena = new Arena([BPF_PROG_TEST_RUN_ATTR.size, data.length, dataOutSize, ctx?.length ?? 0, ctxOutSize]);
  const [din, dout, cin, cout] = [arena.region(1), arena.region(2), arena.region(3), arena.region(4)];
  arena.put(din, data);
  if (ctx) arena.put(cin, ctx);
  // Fields past what is used stay out of the size: 4.12's attr ends at duration.
  const r = run(BPF_PROG_TEST_RUN, BPF_PROG_TEST_RUN_ATTR, arena, {
    prog_fd: a.progFd,
    data_size_in: data.length || undefined,
    data_in: data.length ? arena.address(din) : undefined,
    data_size_out: dataOutSize || undefined,
    data_out: dataOutSize ? arena.address(dout) : undefined,
    repeat: a.repeat || undefined,
    duration: 0, // out: always within the size, so that the kernel writes it back
    ctx_size_in: ctx?.length || undefined,
    ctx_in: ctx?.length ? arena.address(cin) : undefined,
    ctx_size_out: ctxOutSize || undefined,
    ctx_out: ctxOutSize ? arena.address(cout) : undefined,
    flags: a.flags || undefined,
    cpu: a.cpu || undefined,
  });
  const get = (name: FieldName<typeof BPF_PROG_TEST_RUN_ATTR>) => arena.view.getUint32(field(BPF_PROG_TEST_RUN_ATTR, name).offset, true);
  const dataSizeOut = dataOutSize ? get("data_size_out") : 0;
  const ctxSizeOut = ctxOutSize ? get("ctx_size_out") : 0;
  return {
    ...r,
    retval: get("retval"),
    duration: get("duration"),
    dataOut: arena.slice(dout).slice(0, Math.min(dataSizeOut, dataOutSize)),
    dataSizeOut,
    ctxOut: arena.slice(cout).slice(0, Math.min(ctxSizeOut, ctxOutSize)),
    ctxSizeOut,
    ctxInAfter: arena.slice(cin).slice(),
  };
}

// Network/cgroup hooks, object iteration and the remaining element commands (issue 11: net branch).

const BPF_PROG_ATTACH = 8;
const BPF_PROG_DETACH = 9;
const BPF_PROG_GET_NEXT_ID = 11;
const BPF_MAP_GET_NEXT_ID = 12;
const BPF_PROG_GET_FD_BY_ID = 13;
const BPF_MAP_GET_FD_BY_ID = 14;
const BPF_MAP_LOOKUP_AND_DELETE_ELEM = 21;
const BPF_MAP_FREEZE = 22;

export interface LinkCreateArgs {
  progFd: number;
  /** A cgroup or netns fd, or an ifindex (xdp, tcx): the same slot of the attr. */
  target: number;
  attachType: number;
  flags?: number;
  /** tcx (6.6+): BPF_F_BEFORE/AFTER anchor and the expected revision; 0 for none. */
  tcx?: { relativeFd?: number; expectedRevision?: bigint };
  /** netfilter (6.4+). */
  netfilter?: { pf: number; hooknum: number; priority: number; flags?: number };
}

/** BPF_LINK_CREATE for the network and cgroup hooks; the fd closes the link. */
export function bpfLinkCreate(a: LinkCreateArgs): SysResult {
  const arena = new Arena([BPF_LINK_CREATE_HOOK_ATTR.size]);
  return run(BPF_LINK_CREATE, BPF_LINK_CREATE_HOOK_ATTR, arena, {
    prog_fd: a.progFd,
    target_ifindex: a.target,
    attach_type: a.attachType,
    flags: a.flags || undefined,
    "tcx.relative_fd": a.tcx?.relativeFd || undefined,
    "tcx.expected_revision": a.tcx?.expectedRevision || undefined,
    "netfilter.pf": a.netfilter?.pf,
    "netfilter.hooknum": a.netfilter?.hooknum,
    "netfilter.priority": a.netfilter?.priority,
    "netfilter.flags": a.netfilter ? a.netfilter.flags ?? 0 : undefined,
  });
}

/** BPF_PROG_ATTACH (4.10+): cgroups, sockmaps (target = map fd), flow dissector (target = netns fd). */
export function bpfProgAttach(targetFd: number, progFd: number, attachType: number, flags = 0): SysResult {
  const arena = new Arena([BPF_PROG_ATTACH_ATTR.size]);
  return run(BPF_PROG_ATTACH, BPF_PROG_ATTACH_ATTR, arena, { target_fd: targetFd, attach_bpf_fd: progFd, attach_type: attachType, attach_flags: flags || undefined });
}

/** BPF_PROG_DETACH of `progFd` (multi-attach cgroups need the program; others ignore it). */
export function bpfProgDetach(targetFd: number, progFd: number, attachType: number): SysResult {
  const arena = new Arena([BPF_PROG_ATTACH_ATTR.size]);
  return run(BPF_PROG_DETACH, BPF_PROG_ATTACH_ATTR, arena, { target_fd: targetFd, attach_bpf_fd: progFd, attach_type: attachType });
}

function nextId(cmd: number, start: number): SysResult & { id: number } {
  const arena = new Arena([BPF_GET_ID_ATTR.size]);
  const r = run(cmd, BPF_GET_ID_ATTR, arena, { start_id: start, next_id: 0 });
  return { ...r, id: arena.view.getUint32(field(BPF_GET_ID_ATTR, "next_id").offset, true) };
}

/** The id after `start` (0: the first); ENOENT at the end (4.13+). */
export function bpfProgGetNextId(start: number): SysResult & { id: number } {
  return nextId(BPF_PROG_GET_NEXT_ID, start);
}

export function bpfMapGetNextId(start: number): SysResult & { id: number } {
  return nextId(BPF_MAP_GET_NEXT_ID, start);
}

export function bpfProgGetFdById(id: number): SysResult {
  const arena = new Arena([BPF_GET_ID_ATTR.size]);
  return run(BPF_PROG_GET_FD_BY_ID, BPF_GET_ID_ATTR, arena, { start_id: id });
}

export function bpfMapGetFdById(id: number): SysResult {
  const arena = new Arena([BPF_GET_ID_ATTR.size]);
  return run(BPF_MAP_GET_FD_BY_ID, BPF_GET_ID_ATTR, arena, { start_id: id });
}

export function bpfMapDeleteElem(m: MapRef, key: Uint8Array): SysResult {
  const { arena, k } = elemArena(m, key, 0);
  return run(BPF_MAP_DELETE_ELEM, BPF_MAP_ELEM_ATTR, arena, { map_fd: m.fd, key: arena.address(k) });
}

/** Queue/stack pop (4.20+, key NULL) and hash lookup-and-delete (5.14+): the value(s) taken out. */
export function bpfMapLookupAndDeleteElem(m: MapRef, key: Uint8Array | undefined): SysResult & { values: Uint8Array[] } {
  const { arena, k, v } = elemArena(m, key, mapValueBytes(m.type, m.valueSize));
  const r = run(BPF_MAP_LOOKUP_AND_DELETE_ELEM, BPF_MAP_ELEM_ATTR, arena, { map_fd: m.fd, key: key && m.keySize ? arena.address(k) : 0n, value: arena.address(v) });
  return { ...r, values: r.ret < 0 ? [] : splitValues(m, arena.slice(v)) };
}

/** Makes the map read-only from user space (5.2+); programs may still write it. */
export function bpfMapFreeze(fd: number): SysResult {
  const arena = new Arena([BPF_MAP_ELEM_ATTR.size]);
  return run(BPF_MAP_FREEZE, BPF_MAP_ELEM_ATTR, arena, { map_fd: fd });
}

/** The ids of the maps a program uses: BPF_OBJ_GET_INFO_BY_FD with map_ids pointing at `count` slots. */
export function bpfProgGetMapIds(fd: number, count: number): SysResult & { ids: number[] } {
  const arena = new Arena([BPF_OBJ_GET_INFO_BY_FD_ATTR.size, BPF_PROG_INFO.size, Math.max(count, 1) * 4]);
  const [info, ids] = [arena.region(1), arena.region(2)];
  encode(BPF_PROG_INFO, arena.view, info.offset, { nr_map_ids: count, map_ids: arena.address(ids) });
  const r = run(BPF_OBJ_GET_INFO_BY_FD, BPF_OBJ_GET_INFO_BY_FD_ATTR, arena, { bpf_fd: fd, info_len: BPF_PROG_INFO.size, info: arena.address(info) });
  const got = Math.min(count, arena.view.getUint32(info.offset + field(BPF_PROG_INFO, "nr_map_ids").offset, true));
  return { ...r, ids: r.ret < 0 ? [] : Array.from({ length: got }, (_, i) => arena.view.getUint32(ids.offset + i * 4, true)) };
}

const BPF_PROG_QUERY = 16;

/** The ids of the programs attached to `targetFd` for `attachType` (up to `max`). */
export function bpfProgQuery(targetFd: number, attachType: number, max = 64): SysResult & { ids: number[] } {
  const arena = new Arena([BPF_PROG_QUERY_ATTR.size, max * 4]);
  const ids = arena.region(1);
  const r = run(BPF_PROG_QUERY, BPF_PROG_QUERY_ATTR, arena, { target_fd: targetFd, attach_type: attachType, prog_ids: arena.address(ids), prog_cnt: max });
  const n = Math.min(max, arena.view.getUint32(field(BPF_PROG_QUERY_ATTR, "prog_cnt").offset, true));
  return { ...r, ids: r.ret < 0 ? [] : Array.from({ length: n }, (_, i) => arena.view.getUint32(ids.offset + i * 4, true)) };
}

// BTF targets, bpf_link info and iterators (commands of enum bpf_cmd).
const BPF_BTF_GET_FD_BY_ID = 19;
const BPF_BTF_GET_NEXT_ID = 23;
const BPF_ITER_CREATE = 33;

/** The id after `startId` of the kernel's BTF objects (vmlinux, modules, loaded programs'), 5.4+; ENOENT after the last. */
export function bpfBtfGetNextId(startId: number): SysResult & { id: number } {
  return nextId(BPF_BTF_GET_NEXT_ID, startId);
}

export function bpfBtfGetFdById(id: number): SysResult {
  return run(BPF_BTF_GET_FD_BY_ID, BPF_GET_ID_ATTR, new Arena([BPF_GET_ID_ATTR.size]), { start_id: id }); // btf_id shares start_id's place
}

/** struct bpf_btf_info of a BTF fd with its name (module BTF: the module's name, vmlinux: "vmlinux"; 5.11+). */
export function bpfBtfGetInfo(fd: number): SysResult & { id: number; name: string; kernelBtf: boolean } {
  const NAME_LEN = 64;
  const arena = new Arena([BPF_OBJ_GET_INFO_BY_FD_ATTR.size, BPF_BTF_INFO.size, NAME_LEN]);
  const [info, name] = [arena.region(1), arena.region(2)];
  const at = (f: FieldName<typeof BPF_BTF_INFO>) => info.offset + field(BPF_BTF_INFO, f).offset;
  arena.view.setBigUint64(at("name"), BigInt(arena.address(name)), true);
  arena.view.setUint32(at("name_len"), NAME_LEN, true);
  const r = run(BPF_OBJ_GET_INFO_BY_FD, BPF_OBJ_GET_INFO_BY_FD_ATTR, arena, { bpf_fd: fd, info_len: BPF_BTF_INFO.size, info: arena.address(info) });
  return { ...r, id: arena.view.getUint32(at("id"), true), name: arena.cstring(name), kernelBtf: arena.view.getUint32(at("kernel_btf"), true) !== 0 };
}

/** The raw BTF blob of a BTF fd (a loaded program's or map's BTF; freplace reads its target's). */
export function bpfBtfGetData(fd: number): SysResult & { data: Uint8Array } {
  const ask = (size: number) => {
    const arena = new Arena([BPF_OBJ_GET_INFO_BY_FD_ATTR.size, BPF_BTF_INFO.size, Math.max(size, 8)]);
    const [info, blob] = [arena.region(1), arena.region(2)];
    const at = (f: FieldName<typeof BPF_BTF_INFO>) => info.offset + field(BPF_BTF_INFO, f).offset;
    arena.view.setBigUint64(at("btf"), BigInt(arena.address(blob)), true);
    arena.view.setUint32(at("btf_size"), size, true);
    const r = run(BPF_OBJ_GET_INFO_BY_FD, BPF_OBJ_GET_INFO_BY_FD_ATTR, arena, { bpf_fd: fd, info_len: BPF_BTF_INFO.size, info: arena.address(info) });
    return { ...r, size: arena.view.getUint32(at("btf_size"), true), data: arena.slice(blob).slice(0, size) };
  };
  const first = ask(0); // the kernel says the size, then copies that much
  if (first.ret < 0) return { ...first, data: new Uint8Array(0) };
  const r = ask(first.size);
  return { ret: r.ret, errno: r.errno, data: r.data };
}

/** A readable fd of one run of an iterator link (5.8+). */
export function bpfIterCreate(linkFd: number): SysResult {
  return run(BPF_ITER_CREATE, BPF_ITER_CREATE_ATTR, new Arena([BPF_ITER_CREATE_ATTR.size]), { link_fd: linkFd, flags: 0 });
}

/** type, id and prog_id of a bpf_link fd (5.8+). */
export function bpfLinkGetInfo(fd: number): SysResult & { info: DataView } {
  return getInfo(fd, BPF_LINK_INFO);
}

// Maps: creation from a MapSpec (named where the kernel allows), element access, and reading all
// entries back for printing at exit (what samples/bpf's user-space halves did).
import { InvalidArgumentError, NotSupportedError, SyscallError, errnoName, ERRNO } from "../errors.ts";
import { MAP_TYPE_SINCE, newerThan, since } from "../since.ts";
import { hintFor } from "../hints.ts";
import { bpfMapDeleteElem, bpfMapFreeze, bpfMapLookupAndDeleteElem } from "../sys/bpf.ts";
import { bpfMapCreate, bpfMapGetNextKey, bpfMapLookupElem, bpfMapUpdateElem, bpfObjPin, isPerCpuMapType, mapValueCopies, type MapRef } from "../sys/bpf.ts";
import { possibleCpus } from "../sys/cpus.ts";
import { pageSize } from "../sys/mmap.ts";
import { close } from "../sys/fd.ts";
import { MAP_TYPES, type MapTypeName } from "../uapi.ts";
import { ensureMemlockLimit, kernelObjectName, kernelVersion, objectNamesSupported } from "./program.ts";

export { possibleCpus };

const BPF_MAP_TYPE_PERF_EVENT_ARRAY = 4;

export interface MapDefinition {
  name: string;
  type: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  flags: number;
  innerMapFd?: number;
  /** The object's BTF fd and the key/value type ids (key 0: none), for maps the kernel checks against BTF. */
  btfFd?: number;
  btfKeyTypeId?: number;
  btfValueTypeId?: number;
  /** struct_ops maps: the kernel's value type (bpf_struct_ops_<type>) in vmlinux BTF. */
  btfVmlinuxValueTypeId?: number;
}

export interface MapEntry {
  key: Uint8Array;
  /** One value, or one per possible CPU for per-CPU maps. */
  values: Uint8Array[];
}

export class BpfMap {
  constructor(readonly fd: number, readonly def: MapDefinition) {}

  get typeName(): string {
    return MAP_TYPES[this.def.type] ?? `type ${this.def.type}`;
  }

  /** Per-CPU maps hold one value per possible CPU for every key. */
  get perCpu(): boolean {
    return isPerCpuMapType(this.def.type);
  }

  private get ref(): MapRef {
    return { fd: this.fd, type: this.def.type, keySize: this.def.keySize, valueSize: this.def.valueSize };
  }

  /** The value of `key`; per-CPU maps: use lookupValues. */
  lookup(key: Uint8Array): Uint8Array | undefined {
    if (this.perCpu) throw new InvalidArgumentError("key", `map '${this.def.name}' is ${this.typeName}: it has one value per CPU (lookupValues)`);
    return this.lookupValues(key)?.[0];
  }

  /** The value(s) of `key`: one per possible CPU for per-CPU maps (value_size bytes each), else one. */
  lookupValues(key: Uint8Array): Uint8Array[] | undefined {
    this.checkKey(key);
    const r = bpfMapLookupElem(this.ref, key);
    if (r.ret < 0) {
      if (r.errno === ERRNO.ENOENT) return undefined; // no such key
      throw this.error("lookup element", "BPF_MAP_LOOKUP_ELEM", r.errno);
    }
    return r.values;
  }

  /** Per-CPU maps take one value per possible CPU (an array of possibleCpus() values). */
  update(key: Uint8Array, value: Uint8Array | Uint8Array[], flags = 0): void {
    this.checkKey(key);
    const values = Array.isArray(value) ? value : [value];
    const copies = mapValueCopies(this.def.type);
    if (values.length !== copies) {
      throw new InvalidArgumentError("value", `map '${this.def.name}' (${this.typeName}): update needs ${copies} value${copies > 1 ? "s (one per possible CPU)" : ""}, got ${values.length}`);
    }
    for (const v of values) {
      if (v.length > this.def.valueSize) throw new InvalidArgumentError("value", `map '${this.def.name}': a value of ${v.length} bytes for value_size ${this.def.valueSize}`);
    }
    const r = bpfMapUpdateElem(this.ref, key, values, flags);
    if (r.ret < 0) throw this.error("update element", "BPF_MAP_UPDATE_ELEM", r.errno);
  }

  /** Every key, in the kernel's iteration order (arrays: 0..max_entries-1), one at a time. */
  *keys(): Generator<Uint8Array> {
    let key: Uint8Array | undefined;
    for (;;) {
      const r = bpfMapGetNextKey(this.ref, key);
      if (r.ret < 0) {
        if (r.errno === ERRNO.ENOENT) return; // the end
        throw this.error("iterate keys", "BPF_MAP_GET_NEXT_KEY", r.errno);
      }
      key = r.key;
      yield key;
    }
  }

  /** Every entry, streamed: keys deleted while iterating are skipped. */
  *entries(): Generator<MapEntry> {
    for (const key of this.keys()) {
      const values = this.lookupValues(key);
      if (values) yield { key, values };
    }
  }

  /** Values per key: possible CPUs for per-CPU maps, else 1. */
  valueCopies(): number {
    return mapValueCopies(this.def.type);
  }

  pin(path: string): void {
    const r = bpfObjPin(this.fd, path);
    if (r.ret < 0) throw this.error(`pin at ${path}`, "BPF_OBJ_PIN", r.errno);
  }

  /** Removes `key`; false when there was no such key. */
  delete(key: Uint8Array): boolean {
    this.checkKey(key);
    const r = bpfMapDeleteElem(this.ref, key);
    if (r.ret >= 0) return true;
    if (r.errno === ERRNO.ENOENT) return false;
    throw this.error("delete element", "BPF_MAP_DELETE_ELEM", r.errno);
  }

  /** Queue/stack (4.20+): adds a value (an update without a key). */
  push(value: Uint8Array): void {
    this.update(new Uint8Array(0), value);
  }

  /** Queue/stack: takes the next value out; undefined when empty. */
  pop(): Uint8Array | undefined {
    const r = bpfMapLookupAndDeleteElem(this.ref, undefined);
    if (r.ret >= 0) return r.values[0];
    if (r.errno === ERRNO.ENOENT) return undefined;
    throw this.error("pop", "BPF_MAP_LOOKUP_AND_DELETE_ELEM", r.errno);
  }

  /** No more writes from user space (5.2+); programs may still write. */
  freeze(): void {
    const r = bpfMapFreeze(this.fd);
    if (r.ret < 0) throw this.error("freeze", "BPF_MAP_FREEZE", r.errno);
  }

  close(): void {
    if (this.fd >= 0) close(this.fd);
    (this as { fd: number }).fd = -1;
  }

  private checkKey(key: Uint8Array): void {
    if (key.length !== this.def.keySize) throw new InvalidArgumentError("key", `map '${this.def.name}': a key of ${key.length} bytes for key_size ${this.def.keySize}`);
  }

  private error(what: string, call: string, errno: number): SyscallError {
    return new SyscallError(`map '${this.def.name}': ${what}`, call, errno, hintFor(call, errnoName(errno), { euid: process.geteuid?.() ?? 0 }));
  }
}

const BPF_MAP_TYPE_RINGBUF = 27;
const BPF_MAP_TYPE_USER_RINGBUF = 31;

/**
 * libbpf's rules, followed so that objects written for it load here: a perf_event_array with
 * max_entries 0 gets one slot per possible CPU (the kernel itself refuses 0); a ring buffer's size
 * is rounded up to a power of two that is a multiple of the page size (the kernel wants exactly that).
 */
export function effectiveMaxEntries(def: Pick<MapDefinition, "type" | "maxEntries">): number {
  if (def.type === BPF_MAP_TYPE_PERF_EVENT_ARRAY && def.maxEntries === 0) return possibleCpus();
  if ((def.type === BPF_MAP_TYPE_RINGBUF || def.type === BPF_MAP_TYPE_USER_RINGBUF) && def.maxEntries > 0) {
    let size = pageSize();
    while (size < def.maxEntries && size < 0x80000000) size *= 2;
    return size;
  }
  return def.maxEntries;
}

export function createMap(spec: MapDefinition): BpfMap {
  ensureMemlockLimit(); // maps come before programs: the limit must be raised before either
  const def = { ...spec, maxEntries: effectiveMaxEntries(spec) };
  // Names are known from 4.15 on: probed once per process (program.ts), never found out by a refusal.
  const name = objectNamesSupported() ? kernelObjectName(def.name.replace(/^\./, "")) : undefined;
  const r = bpfMapCreate({
    mapType: def.type, keySize: def.keySize, valueSize: def.valueSize, maxEntries: def.maxEntries, flags: def.flags, innerMapFd: def.innerMapFd, name,
    btfFd: def.btfFd, btfKeyTypeId: def.btfKeyTypeId, btfValueTypeId: def.btfValueTypeId, btfVmlinuxValueTypeId: def.btfVmlinuxValueTypeId,
  });
  if (r.ret < 0) {
    const type = MAP_TYPES[def.type] ?? `type ${def.type}`;
    const introduced = MAP_TYPE_SINCE[type as MapTypeName];
    if (r.errno === ERRNO.EINVAL && introduced && newerThan(introduced, kernelVersion().code)) {
      throw new NotSupportedError(`map type ${type}`, since(introduced), `create map '${def.name}'`);
    }
    throw new SyscallError(
      `create map '${def.name}' (${type}, key ${def.keySize} B, value ${def.valueSize} B, ${def.maxEntries} entries)`,
      "BPF_MAP_CREATE",
      r.errno,
      hintFor("BPF_MAP_CREATE", errnoName(r.errno), { euid: process.geteuid?.() ?? 0, kernel: kernelVersion().code, maxEntries: def.maxEntries }),
    );
  }
  return new BpfMap(r.ret, def);
}

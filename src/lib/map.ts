// A map as a test wants it: get/set/delete/has with JavaScript values, async iteration (batched
// on 5.6+), per-CPU values as arrays, queue/stack push/pop, freeze, `using`.
import type { Btf } from "../elf/btf.ts";
import { InvalidArgumentError, SyscallError, errnoName, quote } from "../errors.ts";
import type { BpfMap as KernelMap, MapDefinition } from "../kernel/map.ts";
import type { MapElemCalls } from "../sys/map-elem.ts";
import { MAP_TYPES } from "../uapi.ts";
import type { Codec, Value } from "./codec.ts";
import { lazy } from "./lazy.ts";
import { Closeable, closedError, watchLeak } from "./leaks.ts";

// Loaded when a map is created or opened (lib/lazy.ts), not when "bpfload" is imported.
const kernelMap = lazy(() => require("../kernel/map.ts") as typeof import("../kernel/map.ts"));
const kernelPin = lazy(() => require("../kernel/pin.ts") as typeof import("../kernel/pin.ts"));
const codecs = lazy(() => require("./codec.ts") as typeof import("./codec.ts")); // with the BTF reader: loaded with the first map
const sysBpf = lazy(() => require("../sys/bpf.ts") as typeof import("../sys/bpf.ts"));
const mapElem = lazy(() => require("../sys/map-elem.ts") as typeof import("../sys/map-elem.ts"));
const mapBatch = lazy(() => require("../sys/map-batch.ts") as typeof import("../sys/map-batch.ts"));
const hintFor: typeof import("../hints.ts").hintFor = (...a) => (require("../hints.ts") as typeof import("../hints.ts")).hintFor(...a);

export type { Value } from "./codec.ts";

/**
 * @internal Loads now the modules a BpfMap wrapper needs: `load()` calls it before it creates
 * anything, so that a process near its fd limit hears EMFILE from the kernel (named, exit 1), not
 * from reading a module's source file after its maps took the last descriptors (`bun` from source).
 */
export function loadMapModules(): void {
  codecs();
  mapElem();
  sysBpf();
  kernelMap();
}

/** BPF_ANY (create or replace), BPF_NOEXIST (only create), BPF_EXIST (only replace). */
export type UpdateMode = "any" | "noexist" | "exist";
const UPDATE_FLAGS: Record<UpdateMode, number> = { any: 0, noexist: 1, exist: 2 };

const ENOENT = 2;
const EINVAL = 22;
const ENOSPC = 28;
const EOPNOTSUPP = 95;
const ENOTSUPP = 524;

/** Does this kernel have BPF_MAP_LOOKUP_BATCH (5.6+)? Found by the first batch call (EINVAL before 5.6). */
let kernelHasBatch: boolean | undefined;

/** Tests: play a kernel without batch operations (false), or forget (undefined). */
export function setBatchSupport(answer: boolean | undefined): void {
  kernelHasBatch = answer;
}

export interface MapTypes {
  /** The object's BTF and the key/value type ids, when the map has them: values become objects. */
  btf?: Btf;
  keyTypeId?: number;
  valueTypeId?: number;
}

/**
 * A BPF map. Lifetime: owns one file descriptor until `close()` (or the end of its `using` block,
 * or the end of the Collection it came from); closing twice is harmless. Kernel objects outlive
 * the fd only while something else (a program, a pin) holds them.
 *
 * Keys and values are given as a Uint8Array of exactly key_size/value_size bytes, an integer when
 * the size is 1, 2, 4 (returned as number) or 8 bytes (returned as bigint), or, for maps with BTF
 * key/value types, what the type says (structs as objects, char arrays as strings, enums by name).
 * Per-CPU maps (`perCpu`) return one value per possible CPU and take an array or one value for all.
 * Minimum kernel: 4.9 for get/set/delete/keys (each map type its own: MAP_TYPE_SINCE), 4.20 for
 * push/pop/peek, 5.2 for freeze, 5.6 for batched entries() (per key before), 5.14 for take on hashes.
 *
 *     const counts = coll.maps.get("counts")!;
 *     counts.set(0, 5n);
 *     for await (const [k, v] of counts.entries()) console.log(k, v);
 */
export class BpfMap extends Closeable {
  readonly #inner: KernelMap;
  readonly #release: () => void;
  readonly #key: Codec;
  readonly #value: Codec;
  /** The element calls' buffers, made once (sys/map-elem.ts): a get is one syscall, no allocation. */
  readonly #calls: MapElemCalls;
  readonly #stride: number;
  readonly #copies: number;

  /** Adopts a kernel-level map (its fd is owned from here on). */
  constructor(inner: KernelMap, types: MapTypes = {}) {
    super();
    this.#inner = inner;
    const { btf } = types;
    const { btfCodec, sizeCodec } = codecs();
    this.#key = btf && types.keyTypeId ? btfCodec(btf, types.keyTypeId) : sizeCodec(inner.def.keySize);
    this.#value = btf && types.valueTypeId ? btfCodec(btf, types.valueTypeId) : sizeCodec(inner.def.valueSize);
    this.#calls = new (mapElem().MapElemCalls)({ fd: inner.fd, type: inner.def.type, keySize: inner.def.keySize, valueSize: inner.def.valueSize });
    this.#stride = sysBpf().mapValueStride(inner.def.type, inner.def.valueSize);
    this.#copies = sysBpf().mapValueCopies(inner.def.type);
    this.#release = watchLeak(this, `map '${inner.def.name}'`, () => inner.close());
  }

  /** The file descriptor (-1 once closed): for syscalls of your own, or another program's map-in-map. */
  get fd(): number {
    return this.#inner.fd;
  }
  get name(): string {
    return this.#inner.def.name;
  }
  /** The map type's name: "hash", "percpu_array", "ringbuf"... */
  get type(): string {
    return MAP_TYPES[this.#inner.def.type] ?? `type ${this.#inner.def.type}`;
  }
  get keySize(): number {
    return this.#inner.def.keySize;
  }
  get valueSize(): number {
    return this.#inner.def.valueSize;
  }
  get maxEntries(): number {
    return this.#inner.def.maxEntries;
  }
  get flags(): number {
    return this.#inner.def.flags;
  }
  /** One value per possible CPU for every key (percpu_hash, percpu_array, lru_percpu_hash). */
  get perCpu(): boolean {
    return this.#inner.perCpu;
  }
  /** The kernel-level map (for the low-level API: openEventReader, attach's sockmap option). */
  get raw(): KernelMap {
    this.#check();
    return this.#inner;
  }

  /** The value of `key` (per-CPU maps: one per possible CPU), undefined when absent. */
  get(key: Value): Value | undefined {
    if (!this.#lookup(key)) return undefined;
    if (!this.perCpu) return this.#value.readFrom(this.#calls.valueView, 0);
    const out: Value[] = [];
    for (let c = 0; c < this.#copies; c++) out.push(this.#value.readFrom(this.#calls.valueView, c * this.#stride));
    return out;
  }

  /** Is `key` in the map? (Arrays: every index below max_entries is.) */
  has(key: Value): boolean {
    return this.#lookup(key);
  }

  /** Creates or replaces `key` (`mode` "noexist": only create, EEXIST otherwise; "exist": only replace). Per-CPU maps: an array of one value per possible CPU, or one value for every CPU. */
  set(key: Value, value: Value, mode: UpdateMode = "any"): this {
    if (!Object.hasOwn(UPDATE_FLAGS, mode)) throw new InvalidArgumentError("mode", `map '${this.name}': update mode ${quote(String(mode))} is not "any", "noexist" or "exist"`);
    this.#writeKey(key);
    this.#writeValues(value);
    const r = this.#calls.update(UPDATE_FLAGS[mode]);
    if (r.ret < 0) throw this.#error("update element", "BPF_MAP_UPDATE_ELEM", r.errno);
    return this;
  }

  /** Removes `key`: true when it was there. Arrays refuse (EINVAL): their elements always exist. */
  delete(key: Value): boolean {
    this.#writeKey(key);
    const r = this.#calls.delete();
    if (r.ret >= 0) return true;
    if (r.errno === ENOENT) return false;
    throw this.#error("delete element", "BPF_MAP_DELETE_ELEM", r.errno);
  }

  #writeKey(key: Value): void {
    this.#check();
    if (this.keySize) this.#key.writeTo(key, this.#calls.keyView, 0, `map '${this.name}' key`);
  }

  #lookup(key: Value): boolean {
    this.#writeKey(key);
    const r = this.#calls.lookup();
    if (r.ret >= 0) return true;
    if (r.errno === ENOENT) return false;
    throw this.#error("lookup element", "BPF_MAP_LOOKUP_ELEM", r.errno);
  }

  #writeValues(value: Value): void {
    const what = `map '${this.name}' value`;
    const view = this.#calls.valueView;
    if (!this.perCpu) return this.#value.writeTo(value, view, 0, what);
    this.#calls.value.fill(0);
    // one value per CPU, unless the value type itself is an array of that length (then give an array of arrays)
    if (Array.isArray(value) && value.length === this.#copies) {
      try {
        value.forEach((v, c) => this.#value.writeTo(v, view, c * this.#stride, `${what} (CPU ${c})`));
        return;
      } catch (e) {
        if (!(e instanceof InvalidArgumentError)) throw e;
        this.#calls.value.fill(0);
      }
    }
    for (let c = 0; c < this.#copies; c++) this.#value.writeTo(value, view, c * this.#stride, what);
  }

  #error(what: string, call: string, errno: number): SyscallError {
    return new SyscallError(`map '${this.name}': ${what}`, call, errno, hintFor(call, errnoName(errno), { euid: process.geteuid?.() ?? 0 }));
  }

  /** Every key, one BPF_MAP_GET_NEXT_KEY at a time (keys deleted meanwhile are skipped by the kernel). */
  async *keys(): AsyncGenerator<Value> {
    this.#check();
    for (const k of this.#inner.keys()) yield this.#key.decode(k);
  }

  /**
   * Every [key, value] pair: BPF_MAP_LOOKUP_BATCH (5.6+, hash and array maps) a batch of up to
   * `batchSize` elements per call, else one key at a time. A map changed while it is iterated may
   * give a key twice or miss one, as with the kernel's own iteration.
   */
  async *entries(opts: { batchSize?: number } = {}): AsyncGenerator<[Value, Value]> {
    this.#check();
    const decode = (values: Uint8Array[]) => (this.perCpu ? values.map((v) => this.#value.decode(v)) : this.#value.decode(values[0]!));
    if (kernelHasBatch !== false) {
      const batched = this.#batches(Math.max(1, Math.min(opts.batchSize ?? 256, this.maxEntries || 1)));
      const first = batched.next();
      if (!first.done || first.value) {
        // batches work for this map: go on with them
        let r = first;
        while (!r.done) {
          for (const [k, v] of r.value) yield [this.#key.decode(k), decode(v)];
          r = batched.next();
        }
        return;
      }
    }
    for (const { key, values } of this.#inner.entries()) yield [this.#key.decode(key), decode(values)];
  }

  /** `for await (const [key, value] of map)`: entries(). */
  [Symbol.asyncIterator](): AsyncGenerator<[Value, Value]> {
    return this.entries();
  }

  /** Yields batches; returns false at once when batches cannot be used here (then nothing was yielded). */
  *#batches(count: number): Generator<[Uint8Array, Uint8Array[]][], boolean> {
    let token: Uint8Array | undefined;
    const ref = { fd: this.fd, type: this.#inner.def.type, keySize: this.keySize, valueSize: this.valueSize };
    for (let first = true; ; first = false) {
      const r = mapBatch().bpfMapLookupBatch(ref, token, count);
      if (r.ret < 0 && r.errno === ENOSPC && count < 1 << 16) {
        count *= 2; // a hash bucket holds more elements than one batch: the kernel wants room for all of them
        continue;
      }
      if (r.ret < 0 && r.errno !== ENOENT) {
        if (first && r.errno === EINVAL) kernelHasBatch ??= probeBatchMissing(ref);
        if (first && (r.errno === EINVAL || r.errno === ENOTSUPP || r.errno === EOPNOTSUPP)) return false;
        throw new SyscallError(`map '${this.name}': lookup batch`, "BPF_MAP_LOOKUP_BATCH", r.errno, hintFor("BPF_MAP_LOOKUP_BATCH", errnoName(r.errno), { euid: process.geteuid?.() ?? 0 }));
      }
      kernelHasBatch = true;
      if (r.keys.length) yield r.keys.map((k, i) => [k, r.values[i]!]);
      if (r.ret < 0) return true; // ENOENT: that was the last batch
      token = r.next;
    }
  }

  /** Values per key: the possible CPUs for per-CPU maps (what `get` returns an array of), else 1. */
  get cpus(): number {
    return this.#copies;
  }

  /**
   * Every key as bytes, synchronously, one BPF_MAP_GET_NEXT_KEY at a time (no decoding, no BTF):
   * for a tool that prints keys as the kernel holds them. Minimum kernel: 4.9.
   */
  *rawKeys(): Generator<Uint8Array> {
    this.#check();
    yield* this.#inner.keys();
  }

  /**
   * Every entry as bytes, synchronously, one key at a time: `key`, and `values`: one per possible
   * CPU for per-CPU maps (each `valueSize` bytes, read at the kernel's stride of round_up(value_size,
   * 8)), else one. The raw view of `entries()` (which decodes): for printing maps whatever their
   * types. Keys deleted meanwhile are skipped. Minimum kernel: 4.9.
   *
   *     for (const { key, values } of map.rawEntries()) console.log(key, values.length);
   */
  *rawEntries(): Generator<{ key: Uint8Array; values: Uint8Array[] }> {
    this.#check();
    yield* this.#inner.entries();
  }

  /** Queue/stack maps (4.20+): adds `value`. */
  push(value: Value): void {
    this.#check();
    this.#inner.push(this.#value.encode(value, `map '${this.name}' value`));
  }

  /** Queue/stack maps: takes the next value out (queue: oldest, stack: newest); undefined when empty. */
  pop(): Value | undefined {
    this.#check();
    const v = this.#inner.pop();
    return v && this.#value.decode(v);
  }

  /** Queue/stack maps: the next value without taking it out. */
  peek(): Value | undefined {
    this.#check();
    const v = this.#inner.lookupValues(new Uint8Array(0));
    return v && this.#value.decode(v[0]!);
  }

  /** Lookup and delete of one key in one call (hash maps: 5.14+). */
  take(key: Value): Value | undefined {
    this.#check();
    const ref = { fd: this.fd, type: this.#inner.def.type, keySize: this.keySize, valueSize: this.valueSize };
    const r = sysBpf().bpfMapLookupAndDeleteElem(ref, this.#key.encode(key, `map '${this.name}' key`));
    if (r.ret < 0) {
      if (r.errno === ENOENT) return undefined;
      throw new SyscallError(`map '${this.name}': lookup and delete`, "BPF_MAP_LOOKUP_AND_DELETE_ELEM", r.errno, hintFor("BPF_MAP_LOOKUP_AND_DELETE_ELEM", errnoName(r.errno), { euid: process.geteuid?.() ?? 0 }));
    }
    return this.perCpu ? r.values.map((v) => this.#value.decode(v)) : this.#value.decode(r.values[0]!);
  }

  /** No more writes from user space (5.2+); programs may still write (BPF_MAP_FREEZE). */
  freeze(): void {
    this.#check();
    this.#inner.freeze();
  }

  /** Pins the map at `path` on a BPF filesystem: it outlives this process until the file is removed. */
  pin(path: string): void {
    this.#check();
    this.#inner.pin(path);
  }

  /** Closes the fd (the map goes away unless a program or pin holds it). Twice is harmless. */
  close(): void {
    this.#release();
    this.#inner.close();
  }

  #check(): void {
    if (this.#inner.fd < 0) throw closedError(`map '${this.name}'`);
  }

}

/** A kernel before 5.6 answers EINVAL to an unknown command; 5.6+ answers a bad fd with EBADF. */
function probeBatchMissing(ref: { type: number; keySize: number; valueSize: number }): boolean {
  const r = mapBatch().bpfMapLookupBatch({ ...ref, fd: -1 }, undefined, 1);
  return r.errno === 9 ? true : false;
}

/** A map to create with createMap: the fields of BPF_MAP_CREATE. */
export interface MapOptions {
  name?: string;
  /** A MAP_TYPES name ("hash", "percpu_array", "queue", ...). */
  type: string;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  flags?: number;
}

/**
 * Creates a map of your own (BPF_MAP_CREATE), outside any object: for tests of a map type, or a map
 * to put into an object with `spec.maps.get(name).replaceWith(map)`. Lifetime: as BpfMap. Minimum
 * kernel: 4.9, and the map type's (MAP_TYPE_SINCE: hash/array 3.19, percpu 4.6, queue 4.20, ringbuf
 * 5.8), refused with that version on an older one.
 *
 *     using m = createMap({ type: "percpu_array", keySize: 4, valueSize: 8, maxEntries: 4 });
 */
export function createMap(opts: MapOptions): BpfMap {
  const type = MAP_TYPES.indexOf(opts.type as never);
  if (type < 0) throw new InvalidArgumentError("type", `unknown map type ${quote(String(opts.type))} (${MAP_TYPES.filter(Boolean).join(", ")})`);
  // u32 fields of BPF_MAP_CREATE: a number outside one would be cut to 32 bits and create another map than asked
  for (const f of ["keySize", "valueSize", "maxEntries", "flags"] as const) {
    const n = opts[f] ?? 0;
    if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new InvalidArgumentError(f, `createMap: ${f} must be an integer 0..4294967295, not ${n}`);
  }
  const def: MapDefinition = { name: opts.name ?? opts.type, type, keySize: opts.keySize, valueSize: opts.valueSize, maxEntries: opts.maxEntries, flags: opts.flags ?? 0 };
  return new BpfMap(kernelMap().createMap(def));
}

/**
 * Opens a map pinned on a BPF filesystem (BPF_OBJ_GET; its definition from BPF_OBJ_GET_INFO_BY_FD,
 * 4.13+). Lifetime: as BpfMap; the pin stays. Minimum kernel: 4.13.
 *
 *     using counts = openPinnedMap("/sys/fs/bpf/myapp/counts");
 */
export function openPinnedMap(path: string): BpfMap {
  return new BpfMap(kernelPin().openPinnedMap(path));
}

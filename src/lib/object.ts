// The object model: an object file read into an editable description (programs, maps, global
// variables), then loaded into a Collection of disposable programs and maps.
import { Closeable } from "./leaks.ts";
import type { Btf } from "../elf/btf.ts";
import type { MapSpec as RawMapSpec, ObjectSpec, ProgramSpec as RawProgramSpec } from "../elf/types.ts";
import { BpfloadError, InvalidArgumentError, ObjectError, SyscallError, SystemError } from "../errors.ts";
import { loadFailureMessage } from "../load-failure.ts";
import type { Collection as KernelCollection } from "../kernel/collection.ts";
import type { BpfMap as KernelMap } from "../kernel/map.ts";
import type { AttachOptions } from "../kernel/attach/index.ts";
import type { LoadedStructOps } from "../kernel/struct-ops.ts";
import type { KernelVersion } from "../kernel/features/version.ts";
import type { FieldName } from "../sys/layout.ts";
import { MAP_TYPES, type ProgTypeName } from "../uapi.ts";
import type { Value } from "./codec.ts";
import { lazy } from "./lazy.ts";
import { BpfMap, loadMapModules } from "./map.ts";
import { Program } from "./program.ts";

// Loaded on first use (lib/lazy.ts): importing "bpfload" must stay cheap for every test file.
const elfReader = lazy(() => require("../elf/reader.ts") as typeof import("../elf/reader.ts"));
const elfBtf = lazy(() => require("../elf/btf.ts") as typeof import("../elf/btf.ts"));
const objectOptions = lazy(() => require("../elf/object-options.ts") as typeof import("../elf/object-options.ts"));
const kernelCollection = lazy(() => require("../kernel/collection.ts") as typeof import("../kernel/collection.ts"));
const kernelMap = lazy(() => require("../kernel/map.ts") as typeof import("../kernel/map.ts"));
const kernelPin = lazy(() => require("../kernel/pin.ts") as typeof import("../kernel/pin.ts"));
const targetBtf = lazy(() => require("../kernel/btf/core-target.ts") as typeof import("../kernel/btf/core-target.ts"));
const freplace = lazy(() => require("../kernel/attach/freplace.ts") as typeof import("../kernel/attach/freplace.ts"));
const btfCodec: typeof import("./codec.ts").btfCodec = (...a) => (require("./codec.ts") as typeof import("./codec.ts")).btfCodec(...a);
const sysBpf = lazy(() => require("../sys/bpf.ts") as typeof import("../sys/bpf.ts"));
const sysFiles = lazy(() => require("../sys/files.ts") as typeof import("../sys/files.ts"));
const sysLayout = lazy(() => require("../sys/layout.ts") as typeof import("../sys/layout.ts"));

/** LIBBPF_PIN_BY_NAME: `__uint(pinning, LIBBPF_PIN_BY_NAME)` in a BTF map definition, or `spec.maps.get(n)!.pinning = PIN_BY_NAME` (with `load(spec, { pinPath })`). A constant: pure. */
export const PIN_BY_NAME = 1;

/**
 * A program of an object, before loading: what to load and how. Pure (no fd); lives as long as
 * its CollectionSpec.
 *
 *     spec.programs.get("on_exec")!.autoload = false;
 */
export class ProgramSpec {
  /** Load it (default: yes, except libbpf's "?section" programs). */
  autoload: boolean;
  /** Program type to load it as (default: from the section name). */
  type: ProgTypeName | undefined;
  constructor(readonly raw: RawProgramSpec) {
    this.autoload = raw.autoload !== false;
    this.type = raw.progType;
  }
  get name(): string {
    return this.raw.name;
  }
  get section(): string {
    return this.raw.section;
  }
  /** Where the section says it attaches, in attach-spec syntax ("tracepoint:syscalls:sys_enter_execve"). */
  get attachTo(): string | undefined {
    return this.raw.attach;
  }
  /** Its instructions as in the file (8 bytes each, relocations not applied). */
  get insns(): Uint8Array {
    return this.raw.insns;
  }
}

/**
 * A map of an object, before loading: sizes and flags can change, or an existing map replaces it.
 * Pure (no fd); changes apply to the next `load` of its CollectionSpec.
 *
 *     spec.maps.get("events")!.maxEntries = 1 << 20;
 */
export class MapSpec {
  /** @internal what replaces it at load (a second fd of the user's map, opened at load). */
  replacement?: () => KernelMap;
  constructor(readonly raw: RawMapSpec, private readonly object: ObjectSpec) {}
  get name(): string {
    return this.raw.name;
  }
  /** The map type's name ("hash", "array", "ringbuf"...). */
  get type(): string {
    return MAP_TYPES[this.raw.type] ?? `type ${this.raw.type}`;
  }
  get keySize(): number {
    return this.raw.keySize;
  }
  get valueSize(): number {
    return this.raw.valueSize;
  }
  get maxEntries(): number {
    return this.raw.maxEntries;
  }
  /** max_entries (a ring buffer's byte size: rounded up to a power-of-two number of pages at load). */
  set maxEntries(n: number) {
    this.raw.maxEntries = u32(this.name, "maxEntries", n);
  }
  /** key_size, for a map its object left for user space to size (its BTF key type no longer applies: keys become bytes/integers). */
  set keySize(n: number) {
    this.raw.keySize = u32(this.name, "keySize", n);
    delete this.raw.keyTypeId;
  }
  /** value_size, as keySize; not of a data section (`dataSection`: its value is its variables). */
  set valueSize(n: number) {
    if (this.dataSection) throw new InvalidArgumentError("map.valueSize", `map '${this.name}': the value of a data section is its variables: its valueSize cannot change`);
    this.raw.valueSize = u32(this.name, "valueSize", n);
    delete this.raw.valueTypeId;
  }
  /** A .data/.rodata/.bss/.kconfig section's map: its value holds the object's global variables (`variables`). */
  get dataSection(): boolean {
    return this.raw.kind === "data";
  }
  get flags(): number {
    return this.raw.flags;
  }
  /** map_flags (BPF_F_NO_PREALLOC 1, BPF_F_RDONLY_PROG 0x80, ...). */
  set flags(n: number) {
    this.raw.flags = u32(this.name, "flags", n);
  }
  /** 0: not pinned; 1 (PIN_BY_NAME): load reuses the map pinned as `pinPath/NAME`, or creates and pins it there. */
  get pinning(): number {
    return this.raw.pinning ?? 0;
  }
  set pinning(n: number) {
    this.raw.pinning = n;
  }
  /**
   * Loads the object with this existing map instead of a new one: a BpfMap, a map's fd, or the
   * path of a pinned map (opened at load). Its type, key size and value size must match
   * (max_entries and flags may differ). The map stays yours: the Collection gets its own fd of it
   * (BPF_MAP_GET_FD_BY_ID, 4.13+).
   *
   *     spec.maps.get("counts")!.replaceWith("/sys/fs/bpf/myapp/counts");
   */
  replaceWith(map: BpfMap | number | string): void {
    if (typeof map === "number") {
      const fd = map;
      this.replacement = () => this.#checked(reopenMap(fd, this.name), `fd ${fd}`);
      return;
    }
    if (typeof map === "string") {
      const path = map;
      this.replacement = () => this.#checked(kernelPin().openPinnedMap(path), path);
      return;
    }
    const fd = map.fd;
    this.replacement = () => this.#checked(reopenMap(fd, map.name), `map '${map.name}'`);
  }

  #checked(m: KernelMap, what: string): KernelMap {
    const d = m.def;
    if (d.type !== this.raw.type || d.keySize !== this.raw.keySize || d.valueSize !== this.raw.valueSize) {
      m.close();
      throw new InvalidArgumentError(
        "replaceWith",
        `map '${this.name}' cannot be replaced by ${what}: it is ${MAP_TYPES[d.type]} key ${d.keySize} B value ${d.valueSize} B, the object wants ${this.type} key ${this.keySize} B value ${this.valueSize} B`,
      );
    }
    return m;
  }
}

/** The library's map of a loaded one, typed by its BTF; by its sizes when the BTF types cannot be laid out (the map stays usable as bytes). */
function typedMap(m: KernelMap, types: { btf?: Btf; keyTypeId?: number; valueTypeId?: number }): BpfMap {
  if (!types.btf) return new BpfMap(m);
  try {
    return new BpfMap(m, types);
  } catch {
    return new BpfMap(m);
  }
}

/** A u32 field of BPF_MAP_CREATE: a number outside one would be cut to 32 bits and create another map than asked. */
function u32(map: string, field: string, n: number): number {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new InvalidArgumentError(`map.${field}`, `map '${map}': ${field} must be an integer 0..4294967295, not ${n}`);
  return n;
}

/** A second fd of the map behind `fd` (by its id): the collection closes its own, never yours. */
function reopenMap(fd: number, name: string): KernelMap {
  if (fd < 0) throw new InvalidArgumentError("replaceWith", `map '${name}' is closed: it cannot replace a map of an object`);
  const { bpfMapGetFdById, bpfMapGetInfo } = sysBpf();
  const { BPF_MAP_INFO, field } = sysLayout();
  const info = bpfMapGetInfo(fd);
  if (info.ret < 0) throw new SyscallError(`map '${name}': read its definition`, "BPF_OBJ_GET_INFO_BY_FD", info.errno);
  const u32 = (f: FieldName<typeof BPF_MAP_INFO>) => info.info.getUint32(field(BPF_MAP_INFO, f).offset, true);
  const r = bpfMapGetFdById(u32("id"));
  if (r.ret < 0) throw new SyscallError(`map '${name}': open a second fd of it`, "BPF_MAP_GET_FD_BY_ID", r.errno);
  return new (kernelMap().BpfMap)(r.ret, { name, type: u32("type"), keySize: u32("key_size"), valueSize: u32("value_size"), maxEntries: u32("max_entries"), flags: u32("map_flags") });
}

/**
 * A global variable of .data/.rodata/.bss (`const volatile` knobs included), typed by the object's
 * BTF (objects built with clang -g). Pure: `set` changes the section's initial value that the next
 * `load` puts into the kernel. Minimum kernel (to load it): 5.2 for .data/.bss (global data);
 * .rodata knobs load on older kernels too, folded into the code as constants.
 *
 *     spec.variables.get("target_pid")!.set(process.pid);
 */
export class VariableSpec {
  constructor(readonly name: string, private readonly object: ObjectSpec, private readonly btf: Btf) {}
  #where() {
    return objectOptions().findVariable(this.object, this.btf, this.name);
  }
  /** The section it lives in (".rodata", ".data", ".bss"). */
  get section(): string {
    return this.#where().map.name;
  }
  get size(): number {
    return this.btf.sizeOf(this.#where().type);
  }
  /** Read-only for programs (.rodata, `const volatile`): the verifier treats it as a constant. */
  get constant(): boolean {
    return (this.#where().map.flags & 0x80) !== 0;
  }
  /** The value the object will be loaded with. */
  get(): Value {
    const { map, offset, type } = this.#where();
    const size = this.btf.sizeOf(type);
    const data = map.initialData ?? new Uint8Array(map.valueSize);
    return btfCodec(this.btf, type).decode(data.subarray(offset, offset + size));
  }
  /** Sets the value to load the object with: integers (range-checked), bools, enum names, strings for char arrays, or the bytes. A string for a variable of another type is read as `bpfload --set` reads its text ("42", "0x2a", "true", an enum name). */
  set(v: Value): this {
    if (v instanceof Uint8Array || (typeof v === "object" && v !== null)) {
      const { map, offset, type } = this.#where();
      const bytes = btfCodec(this.btf, type).encode(v, `variable '${this.name}'`);
      const data = map.initialData ? map.initialData.slice() : new Uint8Array(map.valueSize);
      data.set(bytes, offset);
      map.initialData = data;
    } else {
      objectOptions().setVariable(this.object, this.btf, `${this.name}=${String(v)}`); // the --set code: one set of rules
    }
    return this;
  }
}

/**
 * An object file's programs, maps and variables, editable until `load`. Pure: holds no kernel
 * resource (nothing to close; lives as long as you keep it), and can be loaded as many times as you like.
 *
 *     const spec = await readObject("prog.o");
 *     for (const [name, p] of spec.programs) console.log(name, p.section, p.attachTo);
 */
export class CollectionSpec {
  readonly programs = new Map<string, ProgramSpec>();
  readonly maps = new Map<string, MapSpec>();
  readonly variables = new Map<string, VariableSpec>();
  /** The object's BTF, when it has some (clang -g). */
  readonly btf?: Btf;

  /** `object`: the raw ELF description (elf/types.ts); `bytes`: the file's bytes (its BTF goes to the kernel at load). */
  constructor(readonly object: ObjectSpec, readonly bytes: Uint8Array) {
    const s = object.sections.find((x) => x.name === ".BTF");
    if (s) this.btf = new (elfBtf().Btf)(bytes.subarray(s.offset, s.offset + s.size));
    for (const p of object.programs) this.programs.set(p.name, new ProgramSpec(p));
    for (const m of object.maps) this.maps.set(m.name, new MapSpec(m, object));
    if (this.btf) {
      for (const m of object.maps) {
        if (m.kind !== "data") continue;
        for (const si of this.btf.datasec(m.name)?.secinfos ?? []) {
          const v = this.btf.type(si.type);
          if (v.name && !this.variables.has(v.name)) this.variables.set(v.name, new VariableSpec(v.name, object, this.btf));
        }
      }
    }
  }

  /** The file name it was read from (as messages name it). */
  get file(): string {
    return this.object.file;
  }
}

/**
 * Reads an eBPF object file (clang -target bpf) into an editable CollectionSpec. Pure: no
 * privileges needed. A path, or the file's bytes (then `file` names it in messages).
 *
 *     const spec = await readObject("prog.o");
 *     spec.variables.get("target_pid")!.set(process.pid);
 *     spec.maps.get("events")!.maxEntries = 1 << 16;
 *     using coll = load(spec);
 */
export async function readObject(path: string | Uint8Array, file = typeof path === "string" ? path : "object"): Promise<CollectionSpec> {
  const bytes = typeof path === "string" ? sysFiles().readUserFile(path) : path;
  try {
    return new CollectionSpec(await elfReader().readObject(bytes, file), bytes);
  } catch (e) {
    throw asBpfloadError(e, file);
  }
}

/**
 * An object's program sections from its section headers alone (executable, with instructions, of
 * a name libbpf's table knows), each with the attach point its name says: a look before
 * readObject (which reads everything). Pure; a file that is no ELF object throws an ObjectError.
 *
 *     const iteratorsOnly = programSections(bytes).every((s) => s.attachTo?.startsWith("iter:"));
 */
export function programSections(bytes: Uint8Array, file = "object"): { section: string; attachTo?: string }[] {
  const { SHF_EXECINSTR, validateElf } = require("../elf/raw.ts") as typeof import("../elf/raw.ts");
  const { sectionToProgram } = require("../elf/sections.ts") as typeof import("../elf/sections.ts");
  const out: { section: string; attachTo?: string }[] = [];
  for (const s of validateElf(bytes, file).sections) {
    if (!(s.flags & SHF_EXECINSTR) || s.size <= 0) continue;
    const p = sectionToProgram(s.name);
    if (p) out.push({ section: s.name, attachTo: p.attach });
  }
  return out;
}

/**
 * The library's promise that every failure is a BpfloadError: an error of another class from
 * under readObject/load (a malformed object reaching code that did not expect it) becomes an
 * ObjectError naming the file, with the original as `cause` (its stack says where); bpfload's own
 * code failing to load for a system limit (EMFILE, ENOMEM) becomes a SystemError that names it.
 * @internal (exported for its test)
 */
export function asBpfloadError(e: unknown, file: string): unknown {
  if (e instanceof BpfloadError) return e;
  // a module loaded on first use that could not be read (EMFILE at the fd limit): the system's limit, not the object
  const limit = loadFailureMessage(e);
  if (limit !== undefined) return new SystemError(limit, { cause: e });
  const why = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  return new ObjectError(file, `cannot be processed (${why}): malformed, or a bpfload bug (the error's cause has the stack)`, {}, { cause: e });
}

/** How `load` loads a CollectionSpec. */
export interface LoadOptions {
  /** Names of the programs to load (default: every program whose `autoload` is on). */
  programs?: string[];
  license?: string;
  /** Sent as kern_version (kernels before 5.0 check it for kprobes); default: detected. */
  kernVersion?: KernelVersion;
  /** Verifier log level even on success (Program.log). */
  logLevel?: number;
  /** Directory (on a BPF filesystem) for maps with `pinning` PIN_BY_NAME: reused when pinned there, else pinned there. */
  pinPath?: string;
  /**
   * The BTF to resolve CO-RE relocations against, for a kernel without /sys/kernel/btf/vmlinux:
   * raw BTF (BTFHub's `KERNEL.btf`), its `.btf.tar.xz` (unpacked with the system's xz), or a vmlinux
   * ELF with .BTF (`bpfload --btf`). Default: the running kernel's (vmlinux, then modules). Read only
   * for an object with CO-RE relocations, once, before any program is loaded.
   */
  btf?: string;
  /**
   * For freplace programs (SEC("freplace/FUNC")): the loaded program whose global function they
   * replace, `PROG_ID:FUNC` or `PIN_PATH:FUNC` (FUNC from the section when left out), as `bpfload
   * --target` takes it. Held open only while loading. Minimum kernel: 5.6.
   */
  freplaceTarget?: string;
  /** Load the other programs when one fails: its error goes to `Collection.failures` instead of being thrown (what `bpfload load --no-attach` reports program by program). */
  keepGoing?: boolean;
}

/**
 * The maps and programs of a loaded object. Lifetime: everything in it is open until `close()`
 * (or the end of its `using` block); a program or map taken out of it stays usable while the
 * collection is open, and is closed with it. Closing twice is harmless. Minimum kernel: as load.
 *
 *     using coll = load(spec);
 *     const counts = coll.maps.get("counts")!;
 */
export class Collection extends Closeable {
  readonly programs = new Map<string, Program>();
  readonly maps = new Map<string, BpfMap>();
  /** What was decided on the object's behalf (BTF dropped, sizes rounded, CO-RE relocations). */
  readonly notes: string[];
  /** The programs that did not load, with why, when `keepGoing` went on past them (else empty). */
  readonly failures: { name: string; error: BpfloadError }[];
  /** The object's BTF as the kernel took it (undefined when the object has none or the kernel refused it); `progInfo`: func_info/line_info went with the programs (5.0+). */
  readonly btfInKernel?: { progInfo: boolean };
  /**
   * The object's struct_ops maps (SEC(".struct_ops")), kernel-level: `attach({ kind: "struct_ops", map: NAME })`
   * of one of its programs registers one (with `attachOptions()`). Closed with the collection. Minimum kernel: 5.6.
   */
  readonly structOps: readonly LoadedStructOps[];
  #inner: KernelCollection;

  /** Adopts a kernel-level collection (its fds are owned from here on); `load` makes these. */
  constructor(inner: KernelCollection, spec: CollectionSpec) {
    super();
    this.#inner = inner;
    this.notes = inner.notes;
    this.failures = inner.failures.map((f) => ({ name: f.spec.name, error: asBpfloadError(f.error, spec.file) as BpfloadError }));
    this.btfInKernel = inner.btf && { progInfo: inner.btf.progInfo };
    this.structOps = inner.structOps;
    for (const [name, m] of inner.maps) {
      const raw = spec.object.maps.find((x) => x.name === name);
      // BTF maps: keys and values as their types say (a size changed with maxEntries/--map drops the type)
      this.maps.set(name, typedMap(m, raw?.kind === "btf" && spec.btf ? { btf: spec.btf, keyTypeId: raw.keyTypeId, valueTypeId: raw.valueTypeId } : {}));
    }
    for (const p of inner.programs) this.programs.set(p.spec.name, new Program(p.program, p.spec, p.insnCount));
  }

  /**
   * What attaching this collection's programs needs to find its maps by name (usdt argument maps,
   * sockmap/sockhash attach points) and its struct_ops maps: pass it to `Program.attach`.
   *
   *     using link = coll.programs.get("sk_msg_prog")!.attach("sockmap:sock_map", coll.attachOptions());
   */
  attachOptions(): Pick<AttachOptions, "mapFd" | "structOps"> {
    return { mapFd: (name) => this.maps.get(name)?.fd, structOps: (name) => this.structOps.find((so) => so.name === name) };
  }

  /** Closes every program and map of it (links stay until closed: close them first, or use `using`). */
  close(): void {
    for (const p of this.programs.values()) p.close();
    for (const m of this.maps.values()) m.close();
    this.#inner.close();
  }
}

/**
 * Loads an object: its BTF (where the kernel takes it), its maps (data sections filled in from the
 * variables, .rodata frozen), then its programs (BPF_PROG_LOAD each). On any failure everything
 * created so far is closed and the error is thrown (VerifierError with the whole log for a rejected
 * program). Minimum kernel: 4.9 (global data 5.2, BPF-to-BPF calls 4.16, BTF 4.18: each refused
 * with the version when missing). Lifetime: the Collection's, until its close() or the end of its
 * `using` block; the spec can be loaded again.
 *
 *     using coll = load(spec);
 *     using link = coll.programs.get("on_exec")!.attach();
 */
export function load(spec: CollectionSpec, opts: LoadOptions = {}): Collection {
  const wanted = new Set(opts.programs ?? [...spec.programs.values()].filter((p) => p.autoload).map((p) => p.name));
  for (const name of wanted) if (!spec.programs.has(name)) throw new InvalidArgumentError("programs", `${spec.file} has no program '${name}' (it has ${[...spec.programs.keys()].join(", ")})`);
  const types = new Map([...spec.programs.values()].map((p) => [p.raw, p.type]));
  const toPin: { name: string; path: string }[] = [];
  const existing = (raw: RawMapSpec): KernelMap | undefined => {
    const m = spec.maps.get(raw.name);
    if (m?.replacement) return m.replacement();
    if (m && m.pinning === PIN_BY_NAME && opts.pinPath) {
      const path = `${opts.pinPath}/${kernelPin().pinName(raw.name)}`;
      try {
        return kernelPin().openPinnedMap(path);
      } catch (e) {
        if (!(e instanceof BpfloadError) || !/no such file|ENOENT/.test(e.message)) throw e;
        toPin.push({ name: raw.name, path });
      }
    }
    return undefined;
  };
  // per-program types: the kernel loader takes one override, so programs whose type was changed load through it one by one
  let inner: KernelCollection;
  let target: import("../kernel/attach/freplace.ts").FreplaceTarget | undefined;
  try {
    if (opts.freplaceTarget !== undefined) target = freplace().FreplaceTarget.open(opts.freplaceTarget);
    // the CO-RE target is read once, before any program (its error said once, not per program)
    const core = targetBtf().lazyCoreTarget(opts.btf);
    if (spec.object.functions.some((f) => f.coreRelocations)) core.open();
    loadMapModules(); // before any fd is taken (see there)
    inner = kernelCollection().loadCollection(withTypes(spec.object, types), {
      select: (p) => wanted.has(p.name), license: opts.license, kernVersion: opts.kernVersion, logLevel: opts.logLevel, elf: spec.bytes, existingMap: existing,
      keepGoing: opts.keepGoing, targetBtf: core, freplaceTarget: target,
    });
  } catch (e) {
    throw asBpfloadError(e, spec.file); // loadCollection closed what it created
  } finally {
    target?.close(); // a loaded freplace program holds its target itself
  }
  try {
    for (const { name, path } of toPin) kernelPin().pinFd(inner.maps.get(name)!.fd, path, `map '${name}'`);
    return new Collection(inner, spec);
  } catch (e) {
    inner.close(); // what the collection loaded (wrapping it cannot fail short of a bug: typedMap falls back to sizes)
    throw asBpfloadError(e, spec.file);
  }
}

/** The object with each program's type as its ProgramSpec says (a copy of the programs list: the spec stays as read). */
function withTypes(obj: ObjectSpec, types: Map<RawProgramSpec, ProgTypeName | undefined>): ObjectSpec {
  if (obj.programs.every((p) => types.get(p) === p.progType)) return obj;
  return { ...obj, programs: obj.programs.map((p) => (types.get(p) === p.progType ? p : { ...p, progType: types.get(p) })) };
}

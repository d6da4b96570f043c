// Maps: creation from a MapSpec (named where the kernel allows), element access, and reading all
// entries back for printing at exit (what samples/bpf's user-space halves did).
import { NotSupportedError, SyscallError, errnoName } from "../errors.ts";
import { MAP_TYPE_SINCE, newerThan, since } from "../since.ts";
import { hintFor } from "../hints.ts";
import { bpfMapCreate, bpfMapGetNextKey, bpfMapLookupElem, bpfMapUpdateElem, bpfObjPin } from "../sys/bpf.ts";
import { tryReadText } from "../sys/files.ts";
import { close } from "../sys/perf.ts";
import { MAP_TYPES, type MapTypeName } from "../uapi.ts";
import { ensureMemlockLimit, kernelObjectName, kernelVersion } from "./program.ts";

export interface MapDefinition {
  name: string;
  type: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  flags: number;
  innerMapFd?: number;
}

/** Names are known from 4.15 on; the first refusal of a name turns them off for this process. */
let namesSupported = true;

export class BpfMap {
  constructor(readonly fd: number, readonly def: MapDefinition) {}

  get typeName(): string {
    return MAP_TYPES[this.def.type] ?? `type ${this.def.type}`;
  }

  lookup(key: Uint8Array): Uint8Array | undefined {
    const r = bpfMapLookupElem(this.fd, key, this.def.valueSize * this.valueCopies());
    if (r.ret < 0) {
      if (r.errno === 2) return undefined; // ENOENT: no such key
      throw this.error("lookup element", "BPF_MAP_LOOKUP_ELEM", r.errno);
    }
    return r.value;
  }

  update(key: Uint8Array, value: Uint8Array, flags = 0): void {
    const r = bpfMapUpdateElem(this.fd, key, value, flags);
    if (r.ret < 0) throw this.error("update element", "BPF_MAP_UPDATE_ELEM", r.errno);
  }

  /** Every key, in the kernel's iteration order (arrays: 0..max_entries-1). */
  keys(limit = 1 << 20): Uint8Array[] {
    const out: Uint8Array[] = [];
    let key: Uint8Array | undefined;
    while (out.length < limit) {
      const r = bpfMapGetNextKey(this.fd, key, this.def.keySize);
      if (r.ret < 0) {
        if (r.errno === 2) break; // ENOENT: the end
        throw this.error("iterate keys", "BPF_MAP_GET_NEXT_KEY", r.errno);
      }
      key = r.value;
      out.push(key);
    }
    return out;
  }

  /** Per-CPU maps return one value per possible CPU, each rounded up to 8 bytes. */
  valueCopies(): number {
    const name = MAP_TYPES[this.def.type] ?? "";
    return name.includes("percpu") ? possibleCpus() : 1;
  }

  pin(path: string): void {
    const r = bpfObjPin(this.fd, path);
    if (r.ret < 0) throw this.error(`pin at ${path}`, "BPF_OBJ_PIN", r.errno);
  }

  close(): void {
    if (this.fd >= 0) close(this.fd);
    (this as { fd: number }).fd = -1;
  }

  private error(what: string, call: string, errno: number): SyscallError {
    return new SyscallError(`map '${this.def.name}': ${what}`, call, errno, hintFor(call, errnoName(errno), { euid: process.geteuid?.() ?? 0 }));
  }
}

let cpus: number | undefined;
/** Number of possible CPUs (/sys/devices/system/cpu/possible: "0-3" or "0,2-5"). */
export function possibleCpus(): number {
  if (cpus !== undefined) return cpus;
  const text = tryReadText("/sys/devices/system/cpu/possible")?.trim();
  cpus = text
    ? text.split(",").reduce((n, part) => {
        const [a, b] = part.split("-").map(Number);
        return n + (b === undefined ? 1 : b - a! + 1);
      }, 0)
    : 1;
  return cpus;
}

export function createMap(def: MapDefinition): BpfMap {
  ensureMemlockLimit(); // maps come before programs: the limit must be raised before either
  const attempt = (name: string | undefined) =>
    bpfMapCreate({ mapType: def.type, keySize: def.keySize, valueSize: def.valueSize, maxEntries: def.maxEntries, flags: def.flags, innerMapFd: def.innerMapFd, name });
  let r = attempt(namesSupported ? kernelObjectName(def.name.replace(/^\./, "")) : undefined);
  if (r.ret < 0 && namesSupported && (r.errno === 7 || r.errno === 22)) {
    const retry = attempt(undefined);
    if (retry.ret >= 0) namesSupported = false;
    if (retry.ret >= 0 || retry.errno !== r.errno) r = retry;
  }
  if (r.ret < 0) {
    const type = MAP_TYPES[def.type] ?? `type ${def.type}`;
    const introduced = MAP_TYPE_SINCE[type as MapTypeName];
    if (r.errno === 22 && introduced && newerThan(introduced, kernelVersion().code)) {
      throw new NotSupportedError(`map type ${type}`, since(introduced), `create map '${def.name}'`);
    }
    throw new SyscallError(
      `create map '${def.name}' (${type}, key ${def.keySize} B, value ${def.valueSize} B, ${def.maxEntries} entries)`,
      "BPF_MAP_CREATE",
      r.errno,
      hintFor("BPF_MAP_CREATE", errnoName(r.errno), { euid: process.geteuid?.() ?? 0, kernel: kernelVersion().code }),
    );
  }
  return new BpfMap(r.ret, def);
}

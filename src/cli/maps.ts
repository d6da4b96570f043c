// Printing maps: at exit and for `map dump`. Every entry, streamed as the kernel hands them out
// (hex, and integers where the sizes allow); per-CPU maps one value per CPU, plus the sum.
import { BpfMap as LibraryMap, SyscallError, type Collection } from "../index.ts";
import type { BpfMap as KernelMap } from "../kernel/map.ts";
import type { Output } from "./output.ts";

interface MapEntry {
  key: Uint8Array;
  values: Uint8Array[];
}

/** What printing needs of a map: the library's (a loaded object's) or a kernel-level one (`map dump` of a pin or id). */
interface BpfMap {
  typeName: string;
  def: { keySize: number; valueSize: number; maxEntries: number };
  perCpu: boolean;
  valueCopies(): number;
  keys(): Iterable<Uint8Array>;
  entries(): Iterable<MapEntry>;
}

/** The library's map seen as printing sees it (bytes, values per CPU). */
function view(map: LibraryMap | KernelMap): BpfMap {
  if (!(map instanceof LibraryMap)) return map;
  return {
    typeName: map.type,
    def: { keySize: map.keySize, valueSize: map.valueSize, maxEntries: map.maxEntries },
    perCpu: map.perCpu,
    valueCopies: () => map.cpus,
    keys: () => map.rawKeys(),
    entries: () => map.rawEntries(),
  };
}

const hex = (b: Uint8Array) => [...b].map((x) => x.toString(16).padStart(2, "0")).join(" ");

/** Little-endian integer for 1/2/4/8-byte values, else undefined. */
export function asInteger(b: Uint8Array): bigint | undefined {
  if (![1, 2, 4, 8].includes(b.length)) return undefined;
  let v = 0n;
  for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
  return v;
}

/** Sum of integer per-CPU values (what a per-CPU counter counts in all), else undefined. */
export function perCpuSum(values: Uint8Array[]): bigint | undefined {
  let sum = 0n;
  for (const v of values) {
    const n = asInteger(v);
    if (n === undefined) return undefined;
    sum += n;
  }
  return sum;
}

/** Maps whose values are fds or kernel objects cannot be read back as data. */
const UNREADABLE = new Set(["prog_array", "perf_event_array", "reuseport_sockarray", "array_of_maps", "hash_of_maps", "stack_trace", "ringbuf", "user_ringbuf", "sockmap", "sockhash", "devmap", "devmap_hash", "cpumap", "xskmap", "cgroup_array", "struct_ops", "queue", "stack", "bloom_filter", "sk_storage", "inode_storage", "task_storage", "cgrp_storage", "arena"]);

export function readable(map: LibraryMap | KernelMap): boolean {
  return !UNREADABLE.has(view(map).typeName);
}

export function printMaps(out: Output, col: Collection): void {
  for (const [name, map] of col.maps) printMap(out, name, map);
}

/** Arrays have every key: their all-zero entries are counted, not shown. Hashes show every entry. */
function shownEntry(map: BpfMap, e: MapEntry): boolean {
  return map.typeName.includes("hash") || e.values.some((v) => v.some((b) => b !== 0));
}

function entryText(perCpu: boolean, e: MapEntry): string {
  const k = asInteger(e.key);
  const key = k === undefined ? hex(e.key) : `${k} (${hex(e.key)})`;
  const one = (v: Uint8Array) => {
    const n = asInteger(v);
    return n === undefined ? hex(v) : `${n} (${hex(v)})`;
  };
  if (!perCpu) return `  ${key} => ${one(e.values[0]!)}`;
  const sum = perCpuSum(e.values);
  return `  ${key} => ${sum === undefined ? "" : `sum ${sum}: `}[${e.values.map((v, cpu) => `cpu${cpu} ${one(v)}`).join(", ")}]`;
}

function entryJson(perCpu: boolean, e: MapEntry): Record<string, unknown> {
  return {
    key: hex(e.key),
    keyInt: asInteger(e.key),
    values: e.values.map(hex),
    valueInts: e.values.map(asInteger),
    ...(perCpu ? { sum: perCpuSum(e.values) } : {}),
  };
}

/** Entries to announce: arrays have every key; other maps are counted key by key (no values read). */
function countEntries(map: BpfMap): number {
  if (map.typeName.endsWith("array") && !map.typeName.includes("of_maps")) return map.def.maxEntries;
  let n = 0;
  for (const _ of map.keys()) n++;
  return n;
}

/**
 * Every entry of the map. Plain output streams (the count first, then one line per entry, values
 * read one at a time); JSON output is one object per map, so its entries are gathered first.
 */
export function printMap(out: Output, name: string, anyMap: LibraryMap | KernelMap): void {
  const map = view(anyMap);
  if (UNREADABLE.has(map.typeName)) {
    // event maps hold no entries to list: their records were printed as they arrived while watching
    const why = map.typeName === "ringbuf" || map.typeName === "perf_event_array" ? "an event stream (its records are printed while watching), no entries to list" : "not readable as data";
    out.event("map", { name, mapType: map.typeName, entries: null }, `map '${name}' (${map.typeName}): ${why}`);
    return;
  }
  const perCpu = map.perCpu;
  const sizes = `key ${map.def.keySize} B, value ${map.def.valueSize} B${perCpu ? ` per CPU, ${map.valueCopies()} CPUs` : ""}`;
  if (!out.json) out.info(`map '${name}' (${map.typeName}, ${countEntries(map)} entries, ${sizes}):`);
  let total = 0;
  let zero = 0;
  const json: Record<string, unknown>[] = [];
  for (const e of map.entries()) {
    total++;
    if (!shownEntry(map, e)) {
      zero++;
      continue;
    }
    if (out.json) json.push(entryJson(perCpu, e));
    else out.info(entryText(perCpu, e));
  }
  out.event(
    "map",
    { name, mapType: map.typeName, keySize: map.def.keySize, valueSize: map.def.valueSize, ...(perCpu ? { cpus: map.valueCopies() } : {}), count: total, entries: json },
    zero ? `  (${zero} of ${total} entries all-zero, not shown)` : undefined,
  );
}

/**
 * The maps printed after a good load are a courtesy: a map the kernel will not read back to user
 * space (a lookup refused: ENOSPC, EOPNOTSUPP, EPERM...) is said so on its line, and the load stays
 * good. `map dump`, where the user asked for the entries, still fails with the kernel's answer.
 */
export function printMapAtExit(out: Output, name: string, map: LibraryMap | KernelMap): void {
  try {
    printMap(out, name, map);
  } catch (e) {
    if (!(e instanceof SyscallError)) throw e;
    const type = view(map).typeName;
    out.event("map", { name, mapType: type, entries: null, error: e.message }, `map '${name}' (${type}): not readable from user space (${e.message})`);
  }
}

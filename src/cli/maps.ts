// Printing maps at exit: every entry as hex, and as integers when key/value sizes allow.
import type { Collection } from "../kernel/collection.ts";
import type { BpfMap } from "../kernel/map.ts";
import type { Output } from "./output.ts";

const hex = (b: Uint8Array) => [...b].map((x) => x.toString(16).padStart(2, "0")).join(" ");

/** Little-endian integer for 1/2/4/8-byte values, else undefined. */
export function asInteger(b: Uint8Array): bigint | undefined {
  if (![1, 2, 4, 8].includes(b.length)) return undefined;
  let v = 0n;
  for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
  return v;
}

export interface MapEntry {
  key: Uint8Array;
  /** One value, or one per CPU for per-CPU maps. */
  values: Uint8Array[];
}

/** Maps whose values are fds or kernel objects cannot be read back as data. */
const UNREADABLE = new Set(["prog_array", "perf_event_array", "array_of_maps", "hash_of_maps", "stack_trace", "ringbuf", "user_ringbuf", "sockmap", "sockhash", "devmap", "devmap_hash", "cpumap", "xskmap", "cgroup_array", "struct_ops", "queue", "stack", "bloom_filter", "sk_storage", "inode_storage", "task_storage", "cgrp_storage", "arena"]);

export function readEntries(map: BpfMap, limit = 1024): MapEntry[] | undefined {
  if (UNREADABLE.has(map.typeName)) return undefined;
  const copies = map.valueCopies();
  const stride = copies > 1 ? (map.def.valueSize + 7) & ~7 : map.def.valueSize;
  const out: MapEntry[] = [];
  for (const key of map.keys(limit)) {
    const v = map.lookup(key);
    if (!v) continue;
    out.push({ key, values: Array.from({ length: copies }, (_, i) => v.subarray(i * stride, i * stride + map.def.valueSize)) });
  }
  return out;
}

export function printMaps(out: Output, col: Collection): void {
  for (const [name, map] of col.maps) printMap(out, name, map);
}

export function printMap(out: Output, name: string, map: BpfMap): void {
  {
    const entries = readEntries(map);
    if (!entries) {
      out.event("map", { name, mapType: map.typeName, entries: null }, `map '${name}' (${map.typeName}): not readable as data`);
      return;
    }
    const shown = entries.filter((e) => e.values.some((v) => v.some((b) => b !== 0)) || map.typeName.includes("hash"));
    out.event(
      "map",
      {
        name,
        mapType: map.typeName,
        keySize: map.def.keySize,
        valueSize: map.def.valueSize,
        entries: shown.map((e) => ({ key: hex(e.key), keyInt: asInteger(e.key), values: e.values.map(hex), valueInts: e.values.map(asInteger) })),
      },
      `map '${name}' (${map.typeName}, ${entries.length} entries${shown.length < entries.length ? `, ${entries.length - shown.length} all-zero not shown` : ""}):`,
    );
    if (out.json) return;
    for (const e of shown) {
      const k = asInteger(e.key);
      const vals = e.values.map((v) => {
        const n = asInteger(v);
        return n === undefined ? hex(v) : `${n} (${hex(v)})`;
      });
      out.info(`  ${k === undefined ? hex(e.key) : `${k} (${hex(e.key)})`} => ${vals.length > 1 ? `[${vals.join(", ")}]` : vals[0]}`);
    }
  }
}

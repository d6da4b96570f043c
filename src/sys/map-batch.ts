// BPF_MAP_LOOKUP_BATCH (5.6+): many elements of a map per bpf() call. Thin, like sys/bpf.ts: the
// raw result; the library (lib/map.ts) falls back to one key at a time where the kernel or the map
// type lacks it. Value buffers follow the kernel's rule (mapValueBytes: per-CPU stride × CPUs).
import { Arena, syscallWith } from "./arena.ts";
import { NR } from "./arch.ts";
import { mapValueBytes, splitValues, type MapRef } from "./bpf.ts";
import { encode, field, layout } from "./layout.ts";
import type { SysResult } from "./libc.ts";
import { ERRNO } from "../errors.ts";

export const BPF_MAP_LOOKUP_BATCH = 24;

/** struct { in_batch, out_batch, keys, values; count; map_fd; elem_flags; flags } of union bpf_attr (batch). */
export const BPF_MAP_BATCH_ATTR = layout("bpf_attr(BPF_MAP_*_BATCH)", [
  ["in_batch", "u64"],
  ["out_batch", "u64"],
  ["keys", "u64"],
  ["values", "u64"],
  ["count", "u32"],
  ["map_fd", "u32"],
  ["elem_flags", "u64"],
  ["flags", "u64"],
]);

/** The batch cursor: hash maps use a u32 bucket index, arrays a key; 8 bytes or the key size. */
export function batchTokenSize(keySize: number): number {
  return Math.max(8, keySize);
}

export interface BatchResult extends SysResult {
  /** Elements returned by this call (also on ENOENT, the last batch). */
  keys: Uint8Array[];
  values: Uint8Array[][];
  /** The cursor to pass as `token` next time. */
  next: Uint8Array;
}

/** Up to `count` elements after `token` (undefined: from the start). ENOENT: this was the last batch. */
export function bpfMapLookupBatch(m: MapRef, token: Uint8Array | undefined, count: number): BatchResult {
  const tokenSize = batchTokenSize(m.keySize);
  const valueBytes = mapValueBytes(m.type, m.valueSize);
  const arena = new Arena([BPF_MAP_BATCH_ATTR.size, tokenSize, tokenSize, m.keySize * count, valueBytes * count]);
  const [inB, outB, keys, values] = [arena.region(1), arena.region(2), arena.region(3), arena.region(4)];
  if (token) arena.put(inB, token);
  const size = encode(BPF_MAP_BATCH_ATTR, arena.view, 0, {
    in_batch: token ? arena.address(inB) : 0n,
    out_batch: arena.address(outB),
    keys: arena.address(keys),
    values: arena.address(values),
    count,
    map_fd: m.fd,
    elem_flags: 0n,
    flags: 0n,
  });
  const r = syscallWith(arena, NR.bpf, BPF_MAP_LOOKUP_BATCH, arena.base, size);
  // the kernel writes back how many elements it copied (also with ENOENT on the last batch)
  const got = r.ret >= 0 || r.errno === ERRNO.ENOENT ? arena.view.getUint32(field(BPF_MAP_BATCH_ATTR, "count").offset, true) : 0;
  const kb = arena.slice(keys);
  const vb = arena.slice(values);
  const outKeys: Uint8Array[] = [];
  const outValues: Uint8Array[][] = [];
  for (let i = 0; i < got; i++) {
    outKeys.push(kb.slice(i * m.keySize, (i + 1) * m.keySize));
    outValues.push(splitValues(m, vb, i * valueBytes));
  }
  return { ...r, keys: outKeys, values: outValues, next: arena.slice(outB).slice() };
}

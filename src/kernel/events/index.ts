// Readers for the maps programs send events through: one per ringbuf and perf_event_array map.
import type { BpfMap } from "../map.ts";
import { PerfArrayReader, type PerfArrayOptions } from "./perf-array.ts";
import { RingbufReader } from "./ringbuf.ts";
import type { EventReader } from "./types.ts";

export { PerfArrayReader, type PerfArrayOptions } from "./perf-array.ts";
export { RingbufReader, type RingbufOptions } from "./ringbuf.ts";
export { iterateRecords, type EventReader, type EventRecord, type LostRecords } from "./types.ts";
export { decodeRecord, findEventType, formatFields, type DecodedField, type DecodedValue } from "./decode.ts";

export const BPF_MAP_TYPE_PERF_EVENT_ARRAY = 4;
export const BPF_MAP_TYPE_RINGBUF = 27;

export function isEventMap(map: BpfMap): boolean {
  return map.def.type === BPF_MAP_TYPE_PERF_EVENT_ARRAY || map.def.type === BPF_MAP_TYPE_RINGBUF;
}

export interface OpenReadersOptions extends PerfArrayOptions {
  /**
   * A ringbuf program's own count of records it could not reserve: by convention an array map
   * named MAP_dropped / MAP_lost whose first u64 is the count (read at each poll).
   */
  maps?: Map<string, BpfMap>;
}

/** The reader of one event map (ringbuf or perf_event_array). */
export function openEventReader(map: BpfMap, opts: OpenReadersOptions = {}): EventReader {
  if (map.def.type === BPF_MAP_TYPE_RINGBUF) {
    // (a kernel before 5.8 refused the map itself already, naming the version: map.ts)
    const counter = opts.maps && dropCounter(map.def.name, opts.maps);
    return new RingbufReader(map, { dropped: counter });
  }
  if (map.def.type === BPF_MAP_TYPE_PERF_EVENT_ARRAY) return new PerfArrayReader(map, opts);
  throw new RangeError(`map '${map.def.name}' (${map.typeName}) is not a ringbuf or perf_event_array`);
}

/** Readers for every event map of `maps`; all are closed again if one cannot be opened. */
export function openEventReaders(maps: Map<string, BpfMap>, opts: OpenReadersOptions = {}): EventReader[] {
  const readers: EventReader[] = [];
  try {
    for (const map of maps.values()) if (isEventMap(map)) readers.push(openEventReader(map, { ...opts, maps }));
    return readers;
  } catch (e) {
    for (const r of readers) r.close();
    throw e;
  }
}

function dropCounter(ring: string, maps: Map<string, BpfMap>): (() => number | undefined) | undefined {
  const m = maps.get(`${ring}_dropped`) ?? maps.get(`${ring}_lost`);
  if (!m || m.def.type !== 2 /* array */ || m.def.valueSize !== 8) return undefined;
  const key = new Uint8Array(4);
  return () => {
    const v = m.lookup(key);
    return v ? Number(new DataView(v.buffer, v.byteOffset, 8).getBigUint64(0, true)) : undefined;
  };
}

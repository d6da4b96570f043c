// How event records (ringbuf / perf_event_array) are printed: one line per record on stdout,
// decoded with the object's BTF when the record type is known (--decode MAP=TYPE, or the one
// struct named `event` / `*_event`), hex otherwise; --json: one object per record. Losses go to
// stderr as they are reported (and as JSON objects), and their total into the exit line.
import { compileFormatter, decodeRecord, findEventType, formatFields, objectBtf, UsageError, type Btf, type DecodedValue, type LostRecords } from "../index.ts";
import type { EventRecord } from "../kernel/events/types.ts";
import type { Output } from "./output.ts";

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));
/** "01 02 ff": a table lookup per byte (records come by the hundred thousand a second). */
const hex = (b: Uint8Array) => {
  let s = b.length ? HEX[b[0]!]! : "";
  for (let i = 1; i < b.length; i++) s += ` ${HEX[b[i]!]}`;
  return s;
};

/** `--decode events=event` (repeatable, or comma-separated) → map name → struct name. */
export function parseDecodeOptions(values: string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const v of values.flatMap((x) => x.split(","))) {
    const m = /^([^=\s]+)=([A-Za-z_][A-Za-z0-9_]*)$/.exec(v);
    if (!m) throw new UsageError(`bad --decode '${v}': give MAP=TYPE, e.g. --decode events=event (TYPE: a struct of the object's BTF)`);
    out.set(m[1]!, m[2]!);
  }
  return out;
}

/** The object's BTF, or undefined (raw instructions, no .BTF, or BTF this reader cannot parse). */
export { objectBtf };

export interface RecordPrinter {
  record(r: EventRecord): void;
  lost(l: LostRecords): void;
  /** How each map's records are shown ("decoded as struct event", "hex"), for the watching line. */
  describe(map: string): string;
}

export function recordPrinter(out: Output, btf: Btf | undefined, decode: Map<string, string>, maps: string[], file: string): RecordPrinter {
  const types = new Map<string, { id: number; name: string; size: number; text?: (bytes: Uint8Array) => string }>();
  for (const map of maps) {
    const wanted = decode.get(map);
    if (wanted !== undefined && !btf) throw new UsageError(`--decode ${map}=${wanted}: ${file} has no BTF to decode with (build it with clang -g)`);
    const id = btf && findEventType(btf, wanted);
    if (wanted !== undefined && id === undefined) throw new UsageError(`--decode ${map}=${wanted}: ${file}'s BTF has no struct '${wanted}' (or several)`);
    if (btf && id !== undefined) types.set(map, { id, name: btf.type(id).name, size: btf.sizeOf(id), text: compileFormatter(btf, id)?.format });
  }
  for (const name of decode.keys()) if (!maps.includes(name)) throw new UsageError(`--decode ${name}=...: ${file} has no ringbuf or perf_event_array map '${name}' (it has ${maps.join(", ") || "none"})`);
  return {
    record(r) {
      const t = types.get(r.map);
      // perf pads raw data to 8 bytes: a record at least the struct's size is that struct
      const decoded = t && btf && r.data.length >= t.size;
      if (!out.json) {
        // the plain line only: no JSON object built, the text compiled once per type
        const where = r.cpu === undefined ? r.map : `${r.map} cpu ${r.cpu}`;
        out.result(`[${where}] ${decoded ? (t.text ? t.text(r.data) : formatFields(decodeRecord(btf, t.id, r.data))) : hex(r.data)}`, {});
      } else if (decoded) {
        const json: Record<string, DecodedValue> = {};
        for (const f of decodeRecord(btf, t.id, r.data)) json[f.name] = f.value;
        out.result("", { type: "record", map: r.map, cpu: r.cpu, recordType: t.name, fields: json });
      } else {
        out.result("", { type: "record", map: r.map, cpu: r.cpu, data: hex(r.data) });
      }
    },
    lost(l) {
      const where = l.cpu === undefined ? `'${l.map}'` : `'${l.map}' (cpu ${l.cpu})`;
      out.event("lost", { map: l.map, cpu: l.cpu, count: l.count }, `lost ${l.count} record${l.count === 1 ? "" : "s"} of ${where}: the reader fell behind (a bigger buffer, or fewer events)`);
    },
    describe(map) {
      const t = types.get(map);
      return t ? `decoded as struct ${t.name}` : "as hex";
    },
  };
}

// `bpfload map list | show | dump | lookup | update | delete | push | pop | freeze`: maps by id,
// pin path or name:NAME (what bpftool map does, for test VMs without bpftool). Keys and values
// are integers (decimal or 0x hex, little-endian in the key/value size, negative as two's
// complement) or bytes (`hex:01000000`, or the "01 00 00 00" that the dumps print).
import { listMaps, mapInfo, openMap, SystemError, UsageError, type BpfMap, type MapInfo } from "../index.ts";
import { asInteger, perCpuSum, printMap } from "./maps.ts";
import type { Output } from "./output.ts";

const hex = (b: Uint8Array) => [...b].map((x) => x.toString(16).padStart(2, "0")).join(" ");

const USAGE = "bpfload map list | show MAP | dump MAP | lookup MAP KEY | update MAP KEY VALUE | delete MAP KEY | push MAP VALUE | pop MAP | freeze MAP  (MAP: id, pin path or name:NAME)";

/** A key or value argument as exactly `size` bytes. */
export function parseBytes(text: string, size: number, what: string): Uint8Array {
  const bad = (why: string) => new UsageError(`bad ${what} '${text}': ${why} (an integer such as 5, 0x1f, -1, or bytes such as hex:01000000)`);
  const t = text.trim();
  const groups = t.split(/\s+/);
  const hexText = t.startsWith("hex:") ? t.slice(4).replace(/[\s:]/g, "") : groups.length > 1 && groups.every((g) => /^[0-9a-f]{2}$/i.test(g)) ? groups.join("") : undefined;
  if (hexText !== undefined) {
    if (!/^([0-9a-f]{2})*$/i.test(hexText)) throw bad("hex bytes are pairs of hex digits");
    const bytes = new Uint8Array(hexText.length / 2).map((_, i) => parseInt(hexText.slice(i * 2, i * 2 + 2), 16));
    if (bytes.length !== size) throw bad(`${bytes.length} bytes given, the map's ${what} size is ${size}`);
    return bytes;
  }
  const m = t.match(/^(-?)(0x[0-9a-f]+|\d+)$/i);
  if (!m) throw bad("not a number or hex bytes");
  if (size === 0) throw bad("this map has no keys");
  const bits = BigInt(size * 8);
  let v = BigInt(m[2]!);
  if (m[1]) {
    if (v > 1n << (bits - 1n)) throw bad(`out of range for ${size} bytes`);
    v = (1n << bits) - v;
    if (v === 1n << bits) v = 0n;
  } else if (v >= 1n << bits) throw bad(`out of range for ${size} bytes`);
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) out[i] = Number((v >> BigInt(i * 8)) & 0xffn);
  return out;
}

function valueText(v: Uint8Array): string {
  const n = asInteger(v);
  return n === undefined ? hex(v) : `${n} (${hex(v)})`;
}

function infoText(i: MapInfo): string {
  return `${i.id}: ${i.type}  name ${i.name || "-"}  flags 0x${i.flags.toString(16)}\n\tkey ${i.keySize}B  value ${i.valueSize}B  max_entries ${i.maxEntries}${i.btfId ? `  btf_id ${i.btfId}` : ""}`;
}

function infoJson(i: MapInfo): Record<string, unknown> {
  return { id: i.id, mapType: i.type, name: i.name, keySize: i.keySize, valueSize: i.valueSize, maxEntries: i.maxEntries, flags: i.flags, btfId: i.btfId };
}

function withMap<T>(ref: string | undefined, fn: (m: BpfMap) => T): T {
  if (!ref) throw new UsageError(`give the map: ${USAGE}`);
  using map = openMap(ref);
  return fn(map);
}

function need(args: string[], n: number, names: string): void {
  if (args.length !== n) throw new UsageError(`map ${names}: ${args.length < n ? "missing" : "too many"} arguments (${USAGE})`);
}

/** Per-CPU maps: the same value on every CPU. */
function valuesFor(map: BpfMap, text: string): Uint8Array[] {
  const v = parseBytes(text, map.valueSize, "value");
  return Array.from({ length: map.cpus }, () => v);
}

function lookupResult(out: Output, ref: string, key: Uint8Array, values: Uint8Array[], perCpu: boolean): void {
  if (perCpu) {
    const sum = perCpuSum(values);
    out.result(`${valueText(key)} => ${sum === undefined ? "" : `sum ${sum}: `}[${values.map((v, cpu) => `cpu${cpu} ${valueText(v)}`).join(", ")}]`, { map: ref, key: hex(key), keyInt: asInteger(key), values: values.map(hex), valueInts: values.map(asInteger), sum });
  } else {
    out.result(`${valueText(key)} => ${valueText(values[0]!)}`, { map: ref, key: hex(key), keyInt: asInteger(key), value: hex(values[0]!), valueInt: asInteger(values[0]!) });
  }
}

export function runMap(out: Output, action: string, args: string[] = []): number {
  const [ref, ...rest] = args;
  switch (action) {
    case "list": {
      need(args, 0, "list");
      for (const i of listMaps()) out.result(infoText(i), infoJson(i));
      return 0;
    }
    case "show":
      need(args, 1, "show MAP");
      return withMap(ref, (m) => {
        const i = mapInfo(m);
        out.result(infoText(i), infoJson(i));
        return 0;
      });
    case "dump":
      need(args, 1, "dump MAP");
      return withMap(ref, (m) => {
        printMap(out, ref!.startsWith("/") ? ref! : m.name, m);
        return 0;
      });
    case "lookup":
      need(args, 2, "lookup MAP KEY");
      return withMap(ref, (m) => {
        const key = parseBytes(rest[0]!, m.keySize, "key");
        const values = m.raw.lookupValues(key);
        if (!values) throw new SystemError(`map ${ref}: no entry for key ${valueText(key)}`);
        lookupResult(out, ref!, key, values, m.perCpu);
        return 0;
      });
    case "update":
      need(args, 3, "update MAP KEY VALUE");
      return withMap(ref, (m) => {
        const key = parseBytes(rest[0]!, m.keySize, "key");
        const values = valuesFor(m, rest[1]!);
        m.raw.update(key, m.perCpu ? values : values[0]!);
        out.result(`updated ${valueText(key)} => ${valueText(values[0]!)}${m.perCpu ? " on every CPU" : ""}`, { map: ref, updated: hex(key), value: hex(values[0]!) });
        return 0;
      });
    case "delete":
      need(args, 2, "delete MAP KEY");
      return withMap(ref, (m) => {
        const key = parseBytes(rest[0]!, m.keySize, "key");
        if (!m.raw.delete(key)) throw new SystemError(`map ${ref}: no entry for key ${valueText(key)}`);
        out.result(`deleted ${valueText(key)}`, { map: ref, deleted: hex(key) });
        return 0;
      });
    case "push":
      need(args, 2, "push MAP VALUE");
      return withMap(ref, (m) => {
        const v = parseBytes(rest[0]!, m.valueSize, "value");
        m.raw.push(v);
        out.result(`pushed ${valueText(v)}`, { map: ref, pushed: hex(v) });
        return 0;
      });
    case "pop":
      need(args, 1, "pop MAP");
      return withMap(ref, (m) => {
        const v = m.raw.pop();
        if (!v) throw new SystemError(`map ${ref}: empty`);
        out.result(valueText(v), { map: ref, value: hex(v), valueInt: asInteger(v) });
        return 0;
      });
    case "freeze":
      need(args, 1, "freeze MAP");
      return withMap(ref, (m) => {
        m.freeze();
        out.result(`froze map ${ref}: no more writes from user space`, { map: ref, frozen: true });
        return 0;
      });
    default:
      throw new UsageError(`unknown map action '${action}': ${USAGE}`);
  }
}

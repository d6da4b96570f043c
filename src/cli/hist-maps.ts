// --hist and --interval for `load`: the object's histogram maps drawn as bar charts (hist.ts) at
// exit and every S seconds while watching, and the other maps' integer counters as rates.
import { UsageError, type BpfMap, type Collection } from "../index.ts";
import { bucketCounts, linearLabel, log2Label, renderHist, type HistSpec } from "./hist.ts";
import { asInteger, perCpuSum, readable } from "./maps.ts";
import type { Output } from "./output.ts";

const hex = (b: Uint8Array) => [...b].map((x) => x.toString(16).padStart(2, "0")).join(" ");

/** Checks the --hist maps against the loaded object: each must exist and be readable. */
export function checkHistSpecs(specs: HistSpec[], col: Collection | undefined): void {
  for (const s of specs) {
    const map = col?.maps.get(s.map);
    if (!map) throw new UsageError(`--hist ${s.map}: the object has no map '${s.map}'${col ? ` (its maps: ${[...col.maps.keys()].join(", ") || "none"})` : ""}`);
    if (!readable(map)) throw new UsageError(`--hist ${s.map}: a ${map.type} map holds no counts`);
  }
}

function counts(map: BpfMap): Map<number, bigint> | undefined {
  const entries = [...map.rawEntries()].map((e) => ({ key: asInteger(e.key), value: map.perCpu ? perCpuSum(e.values) : asInteger(e.values[0]!) }));
  return bucketCounts(entries);
}

export function printHist(out: Output, spec: HistSpec, map: BpfMap, extra: Record<string, unknown> = {}): void {
  const c = counts(map);
  if (!c) {
    out.event("hist", { name: spec.map, ...extra, error: "not a histogram" }, `map '${spec.map}': keys and values are not integer bucket counts: not drawn as a histogram`);
    return;
  }
  const lines = renderHist(c, spec.kind, spec.step);
  const buckets = [...c].filter(([, n]) => n > 0n).sort(([a], [b]) => a - b).map(([k, n]) => ({ bucket: k, label: spec.kind === "log2" ? log2Label(k) : linearLabel(k, spec.step), count: n }));
  const text = lines.length ? `@${spec.map}:\n${lines.join("\n")}` : `@${spec.map}: (empty)`;
  if (out.json) out.event("hist", { name: spec.map, kind: spec.kind, ...(spec.kind === "linear" ? { step: spec.step } : {}), ...extra, buckets });
  else out.info(text);
}

/** Every `seconds` while watching: the histograms, and the other maps' integer entries with their rate. */
export class IntervalPrinter {
  private timer?: ReturnType<typeof setInterval>;
  private last = new Map<string, bigint>();
  private lastAt = 0;

  constructor(
    private readonly out: Output,
    private readonly col: Collection,
    private readonly specs: HistSpec[],
    private readonly seconds: number,
  ) {}

  start(): void {
    this.lastAt = Date.now();
    this.snapshot(false);
    this.timer = setInterval(() => this.print(), this.seconds * 1000);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private print(): void {
    const now = Date.now();
    const elapsed = (now - this.lastAt) / 1000;
    this.lastAt = now;
    if (!this.out.json) this.out.info(`--- ${new Date(now).toISOString().slice(11, 19)} ---`);
    for (const s of this.specs) printHist(this.out, s, this.col.maps.get(s.map)!, { interval: true });
    this.snapshot(true, elapsed);
  }

  /** Integer counters of the maps that are not histograms: printed with their growth per second. */
  private snapshot(print: boolean, elapsed = 1): void {
    const hists = new Set(this.specs.map((s) => s.map));
    for (const [name, map] of this.col.maps) {
      if (hists.has(name) || !readable(map)) continue;
      for (const e of map.rawEntries()) {
        const v = map.perCpu ? perCpuSum(e.values) : asInteger(e.values[0]!);
        if (v === undefined) continue;
        const id = `${name}\0${hex(e.key)}`;
        const before = this.last.get(id) ?? 0n;
        this.last.set(id, v);
        if (!print || (v === 0n && before === 0n)) continue;
        const key = asInteger(e.key) ?? hex(e.key);
        const rate = Number(v - before) / elapsed;
        this.out.event("counter", { map: name, key, value: v, rate }, `  ${name}[${key}] = ${v} (${rate >= 0 ? "+" : ""}${rate.toFixed(1)}/s)`);
      }
    }
  }
}

// Maps that hold histograms (an array or hash keyed by bucket index, integer counts) drawn as bar
// charts the way bpftrace's hist()/lhist() print them: a label column of 16, the count right-aligned
// in 8, then a bar of up to 52 '@' scaled to the largest bucket, between '|'. Pure.
import { UsageError } from "../index.ts";

export type HistKind = "log2" | "linear";

export interface HistSpec {
  map: string;
  kind: HistKind;
  /** linear: the width of a bucket (bucket k holds [k*step, (k+1)*step)). */
  step: number;
}

/** `MAP`, `MAP:log2`, `MAP:linear` or `MAP:linear:STEP` (default log2; linear step 1). */
export function parseHistSpec(text: string): HistSpec {
  const [map = "", kind = "log2", step, ...more] = text.split(":");
  const bad = (why: string) => new UsageError(`bad --hist '${text}': ${why} (MAP[:log2|linear[:STEP]])`);
  if (!/^[A-Za-z_.][A-Za-z0-9_.]*$/.test(map)) throw bad("give the map's name");
  if (kind !== "log2" && kind !== "linear") throw bad(`unknown kind '${kind}'`);
  if (more.length || (kind === "log2" && step !== undefined)) throw bad("too many parts");
  const n = step === undefined ? 1 : Number(step);
  if (!Number.isSafeInteger(n) || n < 1) throw bad(`the linear step is a positive integer, not '${step}'`);
  return { map, kind, step: n };
}

const BAR = 52;
const SUFFIXES = ["", "K", "M", "G", "T", "P", "E"];

/** 1024 → "1K", 3 << 20 → "3M": bpftrace's spelling of bucket bounds (exact multiples only). */
export function sizeLabel(n: bigint): string {
  let i = 0;
  while (i < SUFFIXES.length - 1 && n >= 1024n && n % 1024n === 0n) {
    n /= 1024n;
    i++;
  }
  return `${n}${SUFFIXES[i]}`;
}

/**
 * Bucket k of a log2 histogram as bcc's bpf_log2l() and the fixture fill it: k = 0 holds 0, k ≥ 1
 * holds [2^(k-1), 2^k) — printed "[0]", "[1]", "[2, 4)", "[1K, 2K)" as bpftrace does.
 */
export function log2Label(k: number): string {
  if (k === 0) return "[0]";
  if (k === 1) return "[1]";
  return `[${sizeLabel(1n << BigInt(k - 1))}, ${sizeLabel(1n << BigInt(k))})`;
}

export function linearLabel(k: number, step: number): string {
  const lo = BigInt(k) * BigInt(step);
  return `[${sizeLabel(lo)}, ${sizeLabel(lo + BigInt(step))})`;
}

/** The log2 bucket of a value (what the kernel side computes), for tests and oracles. */
export function log2Bucket(v: bigint): number {
  let k = 0;
  while (v > 0n) {
    v >>= 1n;
    k++;
  }
  return k;
}

/**
 * The chart's lines: buckets from the first to the last non-zero one (zeros in between shown),
 * none at all when every count is zero.
 */
export function renderHist(counts: ReadonlyMap<number, bigint>, kind: HistKind, step = 1): string[] {
  const used = [...counts].filter(([, n]) => n > 0n).map(([k]) => k);
  if (!used.length) return [];
  const lo = Math.min(...used);
  const hi = Math.max(...used);
  const max = [...counts.values()].reduce((a, b) => (b > a ? b : a), 0n);
  const lines: string[] = [];
  for (let k = lo; k <= hi; k++) {
    const n = counts.get(k) ?? 0n;
    const width = Number((n * BigInt(BAR)) / max);
    const label = kind === "log2" ? log2Label(k) : linearLabel(k, step);
    lines.push(`${label.padEnd(16)}${String(n).padStart(8)} |${"@".repeat(width).padEnd(BAR)}|`);
  }
  return lines;
}

/** Bucket counts from map entries: integer keys (bucket index) and integer values (per-CPU: summed). */
export function bucketCounts(entries: Iterable<{ key: bigint | undefined; value: bigint | undefined }>): Map<number, bigint> | undefined {
  const out = new Map<number, bigint>();
  for (const { key, value } of entries) {
    if (key === undefined || value === undefined || key > 4096n) return undefined; // not a histogram's shape
    out.set(Number(key), (out.get(Number(key)) ?? 0n) + value);
  }
  return out;
}

// The property runner: a seeded PRNG, a per-case seed (so one failing case can be replayed alone),
// a hang detector, and greedy shrinking. No dependency: the generators live next to the properties.
//
//   BPFLOAD_PROPERTY_RUNS  cases per property (default below, sized for < 20 s on 2 cores)
//   BPFLOAD_PROPERTY_SEED  base seed (default fixed, so CI runs the same cases every time)

export const DEFAULT_RUNS = 1000;
export const DEFAULT_SEED = 0x5eed_b9f;
/** A single case taking longer than this is reported as a hang (a detector, not a speed assertion). */
export const HANG_MS = 2000;

export function propertyRuns(fallback = DEFAULT_RUNS): number {
  const v = Number(process.env.BPFLOAD_PROPERTY_RUNS);
  return Number.isInteger(v) && v > 0 ? v : fallback;
}

export function propertySeed(): number {
  const raw = process.env.BPFLOAD_PROPERTY_SEED;
  const v = raw === undefined ? NaN : Number(raw);
  return Number.isFinite(v) ? v >>> 0 : DEFAULT_SEED;
}

/** Deterministic PRNG (sfc32, seeded through splitmix32): fast, good enough for test inputs. */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  constructor(seed: number) {
    let s = seed >>> 0;
    const mix = () => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = mix();
    this.b = mix();
    this.c = mix();
    this.d = mix();
    for (let i = 0; i < 12; i++) this.u32();
  }
  u32(): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0;
    this.d = (this.d + 1) >>> 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) >>> 0;
    this.c = ((this.c << 21) | (this.c >>> 11)) >>> 0;
    this.c = (this.c + t) >>> 0;
    return t;
  }
  /** [0, 1) */
  float(): number {
    return this.u32() / 0x1_0000_0000;
  }
  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.float() * n);
  }
  /** Integer in [lo, hi]. */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }
  bool(p = 0.5): boolean {
    return this.float() < p;
  }
  pick<T>(a: readonly T[]): T {
    return a[this.int(a.length)]!;
  }
  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.u32() & 0xff;
    return out;
  }
  /** A value that tends to hit edges: 0, 1, all ones, powers of two, near the top of the width. */
  edgy(bits: 8 | 16 | 32 | 64): bigint {
    const max = (1n << BigInt(bits)) - 1n;
    switch (this.int(6)) {
      case 0: return 0n;
      case 1: return BigInt(this.int(4));
      case 2: return max - BigInt(this.int(4));
      case 3: return 1n << BigInt(this.int(bits));
      case 4: return (max >> 1n) + BigInt(this.int(3)) - 1n; // around the signed boundary
      default: return BigInt.asUintN(bits, (BigInt(this.u32()) << 32n) | BigInt(this.u32()));
    }
  }
}

/** A property that does not hold (as opposed to a crash: any other exception out of the code under test). */
export class Violation extends Error {}

/** Seed of case `i` of a property: independent of how many cases ran before it. */
export function caseSeed(seed: number, name: string, i: number): number {
  let h = (seed ^ 0x811c9dc5) >>> 0;
  for (const ch of `${name}#${i}`) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193) >>> 0;
  return h;
}

/**
 * A property: `gen` builds an input from a PRNG; `check` throws when the property is violated and
 * otherwise returns an outcome label ("parsed", "rejected", ...) that the campaign counts.
 */
export interface Property<T> {
  name: string;
  /** Row of the campaign table this property's inputs count under. */
  kind: string;
  gen(r: Rng): T;
  check(input: T): string | Promise<string>;
  /** Smaller candidates of a failing input, most aggressive first. */
  shrink?(input: T): Iterable<T>;
  show?(input: T): string;
}

export interface Failure {
  property: string;
  seed: number;
  caseIndex: number;
  caseSeed: number;
  hang: boolean;
  error: string;
  minimal: string;
}

export interface RunStats {
  runs: number;
  outcomes: Map<string, number>;
  /** The first few failures (the first one shrunk). */
  failures: Failure[];
  /** All failing cases, by class. */
  crashes: number;
  hangs: number;
  violations: number;
  /** Longest single case, ms. */
  slowest: number;
}

async function attempt<T>(p: Property<T>, input: T, hangMs = HANG_MS): Promise<{ outcome?: string; error?: string; ms: number }> {
  const t0 = performance.now();
  try {
    const outcome = await p.check(input);
    const ms = performance.now() - t0;
    if (ms > hangMs) return { error: `hang: one case took ${ms.toFixed(0)} ms (> ${hangMs} ms)`, ms };
    return { outcome, ms };
  } catch (e) {
    return { error: describe(e), ms: performance.now() - t0 };
  }
}

function describe(e: unknown): string {
  if (!(e instanceof Error)) return `threw a non-Error: ${String(e)}`;
  const frame = e.stack?.split("\n").find((l) => l.includes("/src/")) ?? "";
  return `${e.constructor.name}: ${e.message.slice(0, 500)}${frame ? `\n  ${frame.trim()}` : ""}`;
}

/** Greedy shrinking: take the first smaller candidate that still fails, until none does or time runs out. */
async function shrink<T>(p: Property<T>, input: T, budgetMs: number): Promise<T> {
  if (!p.shrink) return input;
  const deadline = performance.now() + budgetMs;
  let cur = input;
  for (let progress = true; progress && performance.now() < deadline; ) {
    progress = false;
    for (const cand of p.shrink(cur)) {
      if (performance.now() > deadline) break;
      const r = await attempt(p, cand);
      if (r.error !== undefined && !r.error.startsWith("hang")) {
        cur = cand;
        progress = true;
        break;
      }
    }
  }
  return cur;
}

export function formatFailure(f: Failure): string {
  return [
    `property '${f.property}' failed${f.hang ? " (hang)" : ""} at case ${f.caseIndex} (BPFLOAD_PROPERTY_SEED=${f.seed}, case seed ${f.caseSeed})`,
    `  ${f.error.replace(/\n/g, "\n  ")}`,
    `  minimal input: ${f.minimal}`,
  ].join("\n");
}

/** Runs `runs` cases; stops at the first failure unless `keepGoing` (the campaign counts them all). */
export async function runProperty<T>(
  p: Property<T>,
  opts: { runs: number; seed: number; keepGoing?: boolean; shrinkMs?: number; hangMs?: number },
): Promise<RunStats> {
  const stats: RunStats = { runs: 0, outcomes: new Map(), failures: [], crashes: 0, hangs: 0, violations: 0, slowest: 0 };
  const show = p.show ?? ((x: T) => JSON.stringify(x));
  for (let i = 0; i < opts.runs; i++) {
    const cs = caseSeed(opts.seed, p.name, i);
    const input = p.gen(new Rng(cs));
    const r = await attempt(p, input, opts.hangMs);
    stats.runs++;
    stats.slowest = Math.max(stats.slowest, r.ms);
    if (r.error === undefined) {
      stats.outcomes.set(r.outcome!, (stats.outcomes.get(r.outcome!) ?? 0) + 1);
      continue;
    }
    const hang = r.error.startsWith("hang");
    if (hang) stats.hangs++;
    else if (r.error.startsWith("Violation:")) stats.violations++;
    else stats.crashes++;
    if (stats.failures.length < 5) {
      // shrink the first failure only: a campaign may see thousands of the same one
      const minimal = hang || stats.failures.length > 0 ? input : await shrink(p, input, opts.shrinkMs ?? 5000);
      const again = minimal === input ? r : await attempt(p, minimal);
      stats.failures.push({ property: p.name, seed: opts.seed, caseIndex: i, caseSeed: cs, hang, error: again.error ?? r.error, minimal: show(minimal) });
    }
    if (!opts.keepGoing) break;
  }
  return stats;
}

/** For bun:test: run the property and throw one readable message on failure. */
export async function assertProperty<T>(p: Property<T>, runs = propertyRuns()): Promise<RunStats> {
  const seed = propertySeed();
  const stats = await runProperty(p, { runs, seed });
  const f = stats.failures[0];
  if (f) throw new Error(formatFailure(f));
  return stats;
}

// --- shrinking helpers

/** Shorter and simpler byte arrays: halves, chunks removed, bytes zeroed. */
export function* shrinkBytes(b: Uint8Array, minLen = 0): Iterable<Uint8Array> {
  for (let cut = b.length >> 1; cut >= 1; cut >>= 1) {
    for (let at = 0; at + cut <= b.length; at += cut) {
      if (b.length - cut < minLen) continue;
      const c = new Uint8Array(b.length - cut);
      c.set(b.subarray(0, at));
      c.set(b.subarray(at + cut), at);
      yield c;
    }
  }
}

/** Shorter strings: chunks removed, then characters replaced by 'a'. */
export function* shrinkString(s: string): Iterable<string> {
  const chars = [...s];
  for (let cut = chars.length >> 1; cut >= 1; cut >>= 1) {
    for (let at = 0; at + cut <= chars.length; at += cut) yield [...chars.slice(0, at), ...chars.slice(at + cut)].join("");
  }
  for (let i = 0; i < chars.length; i++) if (chars[i] !== "a") yield [...chars.slice(0, i), "a", ...chars.slice(i + 1)].join("");
}

/** A string as a JSON literal with everything outside printable ASCII escaped (U+2028 is invisible otherwise). */
export function quote(s: string, max = 600): string {
  const cut = s.length > max ? `${s.slice(0, max)}...(${s.length} chars)` : s;
  return JSON.stringify(cut).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/** Shorter byte arrays that stay a whole number of `unit`-byte slots (instruction streams). */
export function* shrinkUnits(b: Uint8Array, unit: number): Iterable<Uint8Array> {
  const n = b.length / unit;
  for (let cut = n >> 1; cut >= 1; cut >>= 1) {
    for (let at = 0; at + cut <= n; at += cut) {
      if (n - cut < 1) continue;
      const c = new Uint8Array(b.length - cut * unit);
      c.set(b.subarray(0, at * unit));
      c.set(b.subarray((at + cut) * unit), at * unit);
      yield c;
    }
  }
}

/** Bytes as hex, cut when long (the case seed replays the whole input). */
export function hexOf(b: Uint8Array, max = 512): string {
  const h = Buffer.from(b.subarray(0, max)).toString("hex");
  return `${b.length} bytes: ${h}${b.length > max ? "..." : ""}`;
}

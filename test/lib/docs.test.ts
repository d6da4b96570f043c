// Every export of "bpfload" (src/index.ts) and "bpfload/test" (src/test.ts) has a doc comment where
// it is declared (re-exports followed to the module that declares it), and every disposable class
// (and every function returning one) says its lifetime, and every value export says either that
// it is pure or its minimum kernel, which for the exports below must agree with since.ts (the
// table messages use). Parses the sources: pure.
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { FEATURE_SINCE, MAP_TYPE_SINCE, PROG_TYPE_SINCE, since, type FeatureKey } from "../../src/since.ts";
import type { MapTypeName, ProgTypeName } from "../../src/uapi.ts";
import { REPO } from "../support.ts";

/** The oldest kernel bpfload supports (README: "Kernels 4.9 → 6.x"): no export's minimum is stated below it. */
const FLOOR = "4.9";

type Row = { feature: FeatureKey } | { prog: ProgTypeName } | { map: MapTypeName };
const version = (r: Row): string => {
  const v = "feature" in r ? FEATURE_SINCE[r.feature] : "prog" in r ? PROG_TYPE_SINCE[r.prog] : MAP_TYPE_SINCE[r.map];
  if (!v) throw new Error(`since.ts has no row for ${JSON.stringify(r)}`);
  return since(v as [number, number]);
};
const code = (v: string) => v.split(".").reduce((n, part) => n * 256 + Number(part), 0);
const newer = (a: string, b: string) => code(a) > code(b);

/**
 * Exports that need a kernel feature: `gate` rows (any one of them: the export works from the
 * earliest) set the minimum kernel its doc must state, never below FLOOR; `named` rows are versions
 * the doc gives for parts of it. Each row's version must be in the doc as since.ts has it.
 */
const KERNEL_DOCS: Record<string, { gate?: Row[]; named?: Row[] }> = {
  load: { named: [{ feature: "global data (.data/.rodata/.bss)" }, { feature: "BPF-to-BPF calls" }, { feature: "BTF" }] },
  loadCollection: { named: [{ feature: "global data (.data/.rodata/.bss)" }, { feature: "BPF-to-BPF calls" }, { feature: "BTF" }] },
  VariableSpec: { gate: [{ feature: "global data (.data/.rodata/.bss)" }] },
  Program: { named: [{ prog: "kprobe" }, { prog: "tracepoint" }, { prog: "raw_tracepoint" }, { prog: "tracing" }] },
  loadProgram: { named: [{ prog: "kprobe" }, { prog: "tracepoint" }, { prog: "raw_tracepoint" }, { prog: "tracing" }] },
  attach: { named: [{ prog: "tracepoint" }, { feature: "kprobe/uprobe perf PMU" }, { feature: "raw tracepoints" }, { prog: "tracing" }, { feature: "bpf_link" }] },
  Link: { named: [{ feature: "kprobe/uprobe perf PMU" }, { feature: "bpf_link" }] },
  testRun: { gate: [{ feature: "BPF_PROG_TEST_RUN" }], named: [{ feature: "BPF_PROG_TEST_RUN for tracing programs" }, { feature: "BPF_PROG_TEST_RUN ctx_in for raw_tracepoint" }] },
  BpfMap: { named: [{ map: "queue" }] },
  createMap: { named: [{ map: "hash" }, { map: "percpu_array" }, { map: "queue" }, { map: "ringbuf" }] },
  openPinnedMap: { gate: [{ feature: "program and map ids" }] },
  listMaps: { gate: [{ feature: "program and map ids" }] },
  listPrograms: { gate: [{ feature: "program and map ids" }] },
  openMap: { gate: [{ feature: "program and map ids" }] },
  openProgram: { gate: [{ feature: "program and map ids" }] },
  mapInfo: { gate: [{ feature: "program and map ids" }] },
  programInfo: { gate: [{ feature: "program and map ids" }] },
  openEvents: { gate: [{ map: "ringbuf" }, { map: "perf_event_array" }], named: [{ map: "ringbuf" }] },
  EventReader: { gate: [{ map: "ringbuf" }, { map: "perf_event_array" }], named: [{ map: "ringbuf" }] },
  openEventReader: { gate: [{ map: "ringbuf" }, { map: "perf_event_array" }], named: [{ map: "ringbuf" }] },
  openEventReaders: { gate: [{ map: "ringbuf" }, { map: "perf_event_array" }], named: [{ map: "ringbuf" }] },
  RingbufReader: { gate: [{ map: "ringbuf" }] },
  PerfArrayReader: { gate: [{ map: "perf_event_array" }] },
  setup: { named: [{ feature: "memcg accounting instead of RLIMIT_MEMLOCK" }] },
};

/** The minimum kernel a doc states ("Minimum kernel: 5.8", "Minimum kernel (to load it): 5.2"), when it states one. */
function statedMinimum(doc: string): string | undefined {
  return /Minimum\s+kernel[^:]*:\s*(\d+\.\d+)/.exec(doc.replace(/\s*\n\s*\*\s*/g, " "))?.[1];
}

/** What is wrong with `doc` for an export of KERNEL_DOCS: a missing or wrong minimum, a version that disagrees with since.ts. */
function kernelDocProblems(name: string, doc: string): string[] {
  const want = KERNEL_DOCS[name];
  if (!want) return [];
  const text = doc.replace(/\s*\n\s*\*\s*/g, " ");
  const out: string[] = [];
  const gates = (want.gate ?? []).map(version);
  const earliest = gates.reduce((a, b) => (newer(a, b) ? b : a), gates[0] ?? FLOOR);
  const min = newer(FLOOR, earliest) ? FLOOR : earliest;
  const stated = statedMinimum(doc);
  if (stated !== min) out.push(`${name}: states ${stated ? `"Minimum kernel: ${stated}"` : "no minimum kernel"}, since.ts says ${min}`);
  for (const row of [...(want.gate ?? []), ...(want.named ?? [])]) {
    const v = version(row);
    if (!new RegExp(`(^|[^\\d.])${v.replace(".", "\\.")}(?![\\d])`).test(text)) out.push(`${name}: does not give ${Object.values(row)[0]}'s version ${v} (since.ts)`);
  }
  return out;
}

const DISPOSABLE = new Set(["Program", "Link", "BpfMap", "Collection", "TraceReader", "EventReader"]);

interface Found {
  file: string;
  doc?: string;
  line: string;
}

const sources = new Map<string, string>();
const read = (file: string) => sources.get(file) ?? sources.set(file, readFileSync(file, "utf8")).get(file)!;

/** The names a module exports, each with the name it has where it comes from and that module (undefined: declared here). */
function exportsOf(file: string): { name: string; original: string; from?: string }[] {
  const src = read(file).replace(/\/\/[^\n]*|\/\*[\s\S]*?\*\//g, (c) => (c.startsWith("/**") ? c : ""));
  const out: { name: string; original: string; from?: string }[] = [];
  for (const m of src.matchAll(/export\s+(type\s+)?\{([^}]*)\}\s*(from\s*"([^"]+)")?/g)) {
    for (const part of m[2]!.split(",").map((p) => p.trim()).filter(Boolean)) {
      const [original, name = original] = part.replace(/^type\s+/, "").split(/\s+as\s+/);
      out.push({ name: name!, original: original!, from: m[4] ? resolve(dirname(file), m[4]) : undefined });
    }
  }
  for (const m of src.matchAll(/^export\s+(?:declare\s+)?(?:abstract\s+)?(?:async\s+)?(?:function\*?|class|interface|type|const|let|enum)\s+([A-Za-z_$][\w$]*)/gm)) {
    out.push({ name: m[1]!, original: m[1]! });
  }
  return out;
}

/** Where `name` is declared, following re-exports, with the doc comment right above it. */
function declaration(file: string, name: string, depth = 0): Found | undefined {
  const src = read(file);
  const decl = new RegExp(`^export\\s+(?:declare\\s+)?(?:abstract\\s+)?(?:async\\s+)?(?:function\\*?|class|interface|type|const|let|enum)\\s+${name.replace("$", "\\$")}\\b.*$`, "m").exec(src);
  if (decl) {
    // the doc comment: a /** ... */ block ending on the line above the declaration (overloads: the first one)
    const before = src.slice(0, decl.index).trimEnd();
    const doc = before.endsWith("*/") ? before.slice(before.lastIndexOf("/**")) : undefined;
    return { file, doc: doc?.startsWith("/**") ? doc : undefined, line: decl[0] };
  }
  if (depth > 4) return undefined;
  const found = reexported(file, name, depth);
  // a doc comment on this module's own re-export of it counts (index.ts documents some that way)
  const here = reexportDocs(file).get(name);
  return found && here ? { ...found, doc: here } : found;
}

function reexported(file: string, name: string, depth: number): Found | undefined {
  const src = read(file);
  // exported by a bare `export { name }` of something imported: follow the import
  for (const m of src.matchAll(/import\s+(?:type\s+)?\{([^}]*)\}\s*from\s*"([^"]+)"/g)) {
    for (const part of m[1]!.split(",").map((p) => p.trim().replace(/^type\s+/, ""))) {
      const [original, local = original] = part.split(/\s+as\s+/);
      if (local === name && m[2]!.startsWith(".")) return declaration(resolve(dirname(file), m[2]!), original!, depth + 1);
    }
  }
  for (const e of exportsOf(file)) {
    if (e.name !== name) continue;
    if (!e.from) continue;
    // a doc comment on the re-export line itself counts (index.ts documents some that way)
    const f = declaration(e.from, e.original, depth + 1);
    if (f) return f;
  }
  return undefined;
}

/** Doc comments written on index.ts's own re-export lines ("/** ... *\/ export { x } from"). */
function reexportDocs(file: string): Map<string, string> {
  const docs = new Map<string, string>();
  for (const m of read(file).matchAll(/(\/\*\*(?:(?!\*\/)[\s\S])*\*\/)\s*export\s+(?:type\s+)?\{([^}]*)\}/g)) {
    const parts = m[2]!.split(",").map((p) => p.trim()).filter(Boolean);
    if (parts.length !== 1) continue; // one comment documents one export, not a block of them
    const [original, name = original] = parts[0]!.replace(/^type\s+/, "").split(/\s+as\s+/);
    docs.set(name!, m[1]!);
  }
  return docs;
}

for (const entry of ["src/index.ts", "src/test.ts"]) {
  test(`every export of ${entry} has a doc comment; disposables say their lifetime`, () => {
    const file = `${REPO}/${entry}`;
    const own = reexportDocs(file);
    const missing: string[] = [];
    const noLifetime: string[] = [];
    const names = exportsOf(file);
    expect(names.length).toBeGreaterThan(entry === "src/index.ts" ? 80 : 10); // the parser found them
    for (const e of names) {
      const found = declaration(e.from ?? file, e.original);
      if (!found) {
        missing.push(`${e.name} (declaration not found)`);
        continue;
      }
      const doc = own.get(e.name) ?? found.doc;
      if (!doc) missing.push(`${e.name} (${found.file.replace(`${REPO}/`, "")})`);
      const returnsDisposable = /^export\s+(async\s+)?function/.test(found.line) && [...DISPOSABLE].some((c) => new RegExp(`\\):\\s*(Promise<)?${c}\\b`).test(found.line));
      if (doc && (DISPOSABLE.has(e.original) || returnsDisposable) && !/lifetime/i.test(doc)) noLifetime.push(e.name);
    }
    expect(missing).toEqual([]);
    expect(noLifetime).toEqual([]);
  });

  test(`every value export of ${entry} says it is pure or its minimum kernel, as since.ts has it`, () => {
    const file = `${REPO}/${entry}`;
    const own = reexportDocs(file);
    const unstated: string[] = [];
    const wrong: string[] = [];
    const seen = new Set<string>();
    for (const e of exportsOf(file)) {
      const found = declaration(e.from ?? file, e.original);
      if (!found) continue; // the test above reports it
      const doc = own.get(e.name) ?? found.doc ?? "";
      const isType = /^export\s+(?:declare\s+)?(interface|type)\s/.test(found.line) || new RegExp(`export\\s+type\\s+\\{[^}]*\\b${e.name}\\b`).test(read(file));
      if (isType) continue; // types hold nothing: no kernel to state
      if (seen.has(e.name)) continue; // overloads: the first one's doc
      seen.add(e.name);
      if (!/\bpure\b/i.test(doc) && !statedMinimum(doc) && !/Minimum\s+kernel/.test(doc)) unstated.push(e.name);
      wrong.push(...kernelDocProblems(e.name, doc));
    }
    expect(unstated).toEqual([]);
    expect(wrong).toEqual([]);
    if (entry === "src/index.ts") expect(Object.keys(KERNEL_DOCS).filter((n) => !seen.has(n))).toEqual([]); // the table names real exports
  });
}

test("the kernel-doc check catches a wrong or missing minimum and a version that disagrees with since.ts", () => {
  expect(kernelDocProblems("RingbufReader", "/** Reads a ring buffer. Minimum kernel: 5.8. */")).toEqual([]);
  expect(kernelDocProblems("RingbufReader", "/** Reads a ring buffer. Minimum kernel: 5.7. */")).toEqual(['RingbufReader: states "Minimum kernel: 5.7", since.ts says 5.8', "RingbufReader: does not give ringbuf's version 5.8 (since.ts)"]);
  expect(kernelDocProblems("RingbufReader", "/** Reads a ring buffer (5.8+). */")).toEqual(["RingbufReader: states no minimum kernel, since.ts says 5.8"]);
  // below the floor: the floor is stated
  expect(kernelDocProblems("PerfArrayReader", "/** Minimum kernel: 4.9 (the map type 4.3). */")).toEqual([]);
  expect(kernelDocProblems("testRun", "/** Minimum kernel: 4.12 (tracing 5.5, raw_tracepoint 5.1). */")).toEqual(["testRun: does not give BPF_PROG_TEST_RUN ctx_in for raw_tracepoint's version 5.10 (since.ts)"]);
});

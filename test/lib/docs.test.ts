// Every export of "bpfload" (src/index.ts) and "bpfload/test" (src/test.ts) has a doc comment where
// it is declared (re-exports followed to the module that declares it), and every disposable class
// (and every function returning one) says its lifetime. Parses the sources: pure.
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { REPO } from "../support.ts";

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
}

// Layers below cli/ speak the library's language: no module under src/kernel, src/elf, src/btf,
// src/net, src/sys, src/lib or src/asm (nor attach-spec.ts, hints.ts, test.ts, numbers.ts) imports UsageError (the CLI's own parse errors) or has a string literal that
// names a CLI flag ("--btf", "--target"). They throw InvalidArgumentError and name options with
// opt(); the CLI's error printer (cli/flags.ts) puts the flag there. A source check, as
// test/sys/keep-alive.test.ts does for bun:ffi: a flag in a kernel message is seen by every library
// user, and no run-time test reaches every message.
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { FLAG_FOR_OPTION } from "../../src/cli/flags.ts";

const SRC = join(import.meta.dir, "../../src");
const LAYERS = ["kernel", "elf", "btf", "net", "sys", "lib", "asm"];
// Pure modules the library shares with the CLI, held to the same rule.
const SHARED = ["attach-spec.ts", "hints.ts", "test.ts", "numbers.ts"];

/** Every flag the CLI defines (its cac option table in cli/index.ts), and the ones cli/flags.ts maps to. */
function cliFlags(): string[] {
  const index = readFileSync(join(SRC, "cli/index.ts"), "utf8");
  const flags = new Set<string>(["--no-attach", ...Object.values(FLAG_FOR_OPTION)]);
  for (const m of index.matchAll(/\.option\("([^"]+)"/g)) for (const f of m[1]!.matchAll(/--[a-z][a-z0-9-]*/g)) flags.add(f[0]);
  return [...flags];
}

const transpiler = new Bun.Transpiler({ loader: "ts" });

/** The string literals of a TypeScript source (comments and types gone): their text, template parts included. */
export function stringLiterals(source: string): string[] {
  const code = transpiler.transformSync(source);
  return [...code.matchAll(/"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'|`(?:[^`\\]|\\.)*`/g)].map((m) => m[0].slice(1, -1));
}

/** The flags among `flags` that `source`'s string literals name ("--btf" in "use --btf FILE", not "--btf-dir"). */
export function flagsNamed(source: string, flags: string[]): string[] {
  const out = new Set<string>();
  for (const s of stringLiterals(source)) for (const f of flags) if (new RegExp(`${f}(?![a-z0-9-])`).test(s)) out.add(f);
  return [...out];
}

/** `source` imports UsageError (a value or a type), or refers to it at all outside comments. */
export function usesUsageError(source: string): boolean {
  if (/import\s[^;]*\bUsageError\b[^;]*from/.test(source)) return true;
  return /\bUsageError\b/.test(transpiler.transformSync(source));
}

function modules(): { path: string; source: string }[] {
  const out: { path: string; source: string }[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith(".ts")) out.push({ path: p.slice(SRC.length + 1), source: readFileSync(p, "utf8") });
    }
  };
  for (const layer of LAYERS) walk(join(SRC, layer));
  for (const file of SHARED) out.push({ path: file, source: readFileSync(join(SRC, file), "utf8") });
  return out;
}

describe("the check (its own oracle)", () => {
  const flags = ["--btf", "--target", "--pin"];
  test("sees a flag in a double-quoted, single-quoted and template string", () => {
    expect(flagsNamed(`throw new SystemError("no BTF: use --btf FILE");`, flags)).toEqual(["--btf"]);
    expect(flagsNamed(`const h = 'give --target 12:f';`, flags)).toEqual(["--target"]);
    expect(flagsNamed("throw new X(`${a}: --pin ${dir}: not a directory`);", flags)).toEqual(["--pin"]);
  });
  test("not in comments, not a longer flag, not an option's name", () => {
    expect(flagsNamed(`// from --btf FILE\n/** for --target */\nconst x = "btf"; /* --pin */`, flags)).toEqual([]);
    expect(flagsNamed(`const a = "--btf-dir";`, flags)).toEqual([]);
    expect(flagsNamed("throw new InvalidArgumentError(\"btf\", optionText`use ${opt(\"btf\", \"FILE\")}`);", flags)).toEqual([]);
  });
  test("sees UsageError imported or used, not mentioned in a comment", () => {
    expect(usesUsageError(`import { quote, UsageError } from "../errors.ts";`)).toBe(true);
    expect(usesUsageError(`import type { UsageError } from "../errors.ts";`)).toBe(true);
    expect(usesUsageError(`import * as E from "../errors.ts";\nthrow new E.UsageError("x");`)).toBe(true);
    expect(usesUsageError(`// not a UsageError: the CLI's own\nimport { InvalidArgumentError } from "../errors.ts";`)).toBe(false);
  });
  test("knows the CLI's flags from its option table", () => {
    const all = cliFlags();
    for (const f of ["--btf", "--target", "--pin", "--kern-version", "--probe-api", "--set", "--map", "--ctx", "--no-attach", "--attach"]) expect(all).toContain(f);
  });
});

describe("layers below cli/", () => {
  const all = modules();
  const flags = cliFlags();
  test("read every module of src/kernel, src/elf, src/btf, src/net, src/sys", () => {
    for (const layer of LAYERS) expect(all.some((m) => m.path.startsWith(`${layer}/`))).toBe(true);
    for (const file of SHARED) expect(all.some((m) => m.path === file)).toBe(true);
    expect(all.length).toBeGreaterThan(50);
  });
  test("never import or throw UsageError (they throw InvalidArgumentError)", () => {
    expect(all.filter((m) => usesUsageError(m.source)).map((m) => m.path)).toEqual([]);
  });
  test("have no string literal naming a CLI flag (they name options with opt())", () => {
    const offenders = all.map((m) => ({ path: m.path, flags: flagsNamed(m.source, flags) })).filter((o) => o.flags.length);
    expect(offenders).toEqual([]);
  });
});

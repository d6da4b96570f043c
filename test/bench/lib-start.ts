// Benchmark (not a timed test): `bun test` of the example project, time from spawn to the start of
// its first test, against Bun's own floor (`bun test` of a file with one empty test). The example's
// first test imports bpfload and bpfload/test and runs through kernelTest (privilege and version
// checks, the leak check's snapshot). As root: npx bun test/bench/lib-start.ts [OTHER_CHECKOUT]
// With another checkout of bpfload (a directory with src/ and package.json, e.g. `git archive` of an
// older commit), its example runs interleaved with this one's: on a shared machine the noise between
// two separate runs is larger than a few milliseconds of difference.
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";

const REPO = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");
const dir = mkdtempSync(`${tmpdir()}/bpfload-bench-start-`);
mkdirSync(`${dir}/node_modules`);
symlinkSync(REPO, `${dir}/node_modules/bpfload`); // as installed: the package by name
const OTHER = process.argv[2];
if (OTHER) {
  mkdirSync(`${dir}/other/node_modules`, { recursive: true });
  symlinkSync(OTHER, `${dir}/other/node_modules/bpfload`);
  writeFileSync(`${dir}/other/package.json`, JSON.stringify({ name: "bench-other", private: true, type: "module" }));
}
writeFileSync(`${dir}/package.json`, JSON.stringify({ name: "bench", private: true, type: "module" }));
const stamp = `console.log("START " + (performance.timeOrigin + performance.now()))`;
writeFileSync(`${dir}/floor.test.ts`, `import { test } from "bun:test";\ntest("first", () => { ${stamp}; });\n`);
writeFileSync(
  `${dir}/example.test.ts`,
  `import { load, readObject } from "bpfload";\nimport { kernelTest } from "bpfload/test";\nkernelTest("first", { minKernel: "5.2" }, () => { void [load, readObject]; ${stamp}; });\n`,
); // the imports used: Bun drops a TypeScript import nothing uses, and bpfload would never be loaded
if (OTHER) writeFileSync(`${dir}/other/example.test.ts`, await Bun.file(`${dir}/example.test.ts`).text());

async function firstTestMs(file: string): Promise<number> {
  const t0 = performance.timeOrigin + performance.now();
  const p = Bun.spawn([process.execPath, "test", `./${file}`], { cwd: dir, stdout: "pipe", stderr: "pipe" });
  const [out, err] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  const m = /START (\d+(\.\d+)?)/.exec(out + err);
  if (!m) throw new Error(`${file}: no START line: ${out}${err}`);
  return Number(m[1]) - t0;
}

// The same with a feature probe: syscallTracepoints attaches and detaches a program (the
// kernel's detach waits for an RCU grace period), what a `feature:` option costs at registration.
writeFileSync(
  `${dir}/feature.test.ts`,
  `import { kernelTest } from "bpfload/test";\nkernelTest("first", { feature: "syscallTracepoints" }, () => { ${stamp}; });\n`,
);

const RUNS = 30;
const withFeature: number[] = [];
const floor: number[] = [], example: number[] = [], other: number[] = [];
for (let i = 0; i < RUNS + 3; i++) {
  const f = await firstTestMs("floor.test.ts");
  const e = await firstTestMs("example.test.ts");
  const w = await firstTestMs("feature.test.ts");
  const o = OTHER ? await firstTestMs("other/example.test.ts") : 0;
  if (i >= 3) floor.push(f), example.push(e), withFeature.push(w), other.push(o); // the first runs warm the page cache and Bun's transpiler cache
}
rmSync(dir, { recursive: true, force: true });
const median = (xs: number[]) => xs.sort((a, b) => a - b)[xs.length >> 1]!;
const [f, e] = [median(floor), median(example)];
console.log(`bun test, spawn to the first test's start (median of ${RUNS}):`);
console.log(`  Bun's floor (one empty test)                 ${f.toFixed(1)} ms`);
console.log(`  the example (bpfload, bpfload/test, kernelTest) ${e.toFixed(1)} ms   +${(e - f).toFixed(1)} ms`);
if (OTHER) console.log(`  the example with ${OTHER}  ${median(other).toFixed(1)} ms   +${(median(other) - f).toFixed(1)} ms`);
console.log(`  bpfload/test alone, kernelTest with a feature probe ${median(withFeature).toFixed(1)} ms   +${(median(withFeature) - f).toFixed(1)} ms`);

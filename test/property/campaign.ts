// The property suite at a large count, by hand:
//   bun test/property/campaign.ts --runs 100000 [--seed N] [--faults N]
// Runs every generator,
// then prints the table for the README: inputs tried by kind, crashes (an exception other than the
// expected error type), hangs (one case > 2 s), property violations, leftovers (probe events and
// bpffs entries that were not there before; with --faults N, as root, also after N signal runs at
// random phases) and injections (accepted attach specs with whitespace/control characters in a field).

import { existsSync, readdirSync, readFileSync } from "node:fs";
import { canUseKernel } from "../support.ts";
import { ASM_PROPERTIES, liveObjdump } from "./asm-props.ts";
import { BTF_PROPERTIES, ELF_PROPERTIES } from "./elf-props.ts";
import { DEFAULT_SEED, formatFailure, runProperty, type Property, type RunStats } from "./lib.ts";
import { attachSpecInjection, TEXT_PROPERTIES } from "./text-props.ts";
import { llvmVersion } from "../asm/llvm.ts";

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : NaN;
  return Number.isFinite(v) ? v : fallback;
}
const runs = arg("runs", 100_000);
const seed = arg("seed", DEFAULT_SEED) >>> 0;
const faults = arg("faults", 0);

/** Probe events of bpfload and bpffs entries, to tell what a run left behind. */
function kernelState(): Set<string> {
  const out = new Set<string>();
  for (const t of ["/sys/kernel/tracing", "/sys/kernel/debug/tracing"]) {
    for (const f of ["kprobe_events", "uprobe_events"]) {
      try {
        for (const l of readFileSync(`${t}/${f}`, "utf8").split("\n")) if (l.includes("bpfload")) out.add(`${f}: ${l}`);
      } catch {}
    }
  }
  try {
    for (const e of readdirSync("/sys/fs/bpf")) out.add(`bpffs: ${e}`);
  } catch {}
  return out;
}

const props: { p: Property<unknown>; n: number; injection?: boolean }[] = [
  ...[...ELF_PROPERTIES, ...BTF_PROPERTIES].map((p) => ({ p: p as Property<unknown>, n: runs })),
  ...ASM_PROPERTIES.map((p) => ({ p: p as Property<unknown>, n: runs })),
  ...TEXT_PROPERTIES.map((p) => ({ p: p as Property<unknown>, n: runs, injection: p === attachSpecInjection })),
];
if (llvmVersion() === 14) props.push({ p: liveObjdump as Property<unknown>, n: Math.max(1, Math.ceil(runs / 500)) });
else console.error("llvm-objdump 14 is not installed: the live oracle is left out");

const before = kernelState();
const rows = new Map<string, { inputs: number; crashes: number; hangs: number; violations: number }>();
let injections = 0;
const reports: string[] = [];
const t0 = performance.now();
for (const { p, n, injection } of props) {
  const t = performance.now();
  const s: RunStats = await runProperty(p, { runs: n, seed, keepGoing: true, shrinkMs: 3000 });
  const row = rows.get(p.kind) ?? { inputs: 0, crashes: 0, hangs: 0, violations: 0 };
  row.inputs += s.runs;
  row.crashes += s.crashes;
  row.hangs += s.hangs;
  row.violations += s.violations;
  if (injection) injections += s.violations;
  rows.set(p.kind, row);
  const outcomes = [...s.outcomes].map(([k, v]) => `${k} ${v}`).join(", ");
  console.error(`${((performance.now() - t) / 1000).toFixed(1)} s  ${p.name}: ${outcomes}${s.crashes + s.hangs + s.violations ? `; FAILED ${s.crashes + s.hangs + s.violations}` : ""}`);
  for (const f of s.failures.slice(0, 1)) reports.push(formatFailure(f));
}

// --- signal runs at random phases (root): what they leave behind
let faultRuns = 0;
let faultLeftovers = 0;
if (faults > 0 && canUseKernel) {
  const { makeWorkDir, probeEventsOf, runWith, settledPrograms, sweepLeftovers } = await import("../fault/support.ts");
  const { PHASES, PROBE_WRITTEN, TRACEPOINT, UPROBE } = await import("../fault/scenarios.ts");
  const work = makeWorkDir();
  const phases = [...PHASES, PROBE_WRITTEN];
  for (let i = 0; i < faults; i++) {
    const phase = phases[i % phases.length]!;
    // only a uprobe prints "probe event"; a tracepoint would wait for that line forever
    const target = i % 2 && phase !== PROBE_WRITTEN ? TRACEPOINT : UPROBE;
    const sig = (["SIGINT", "SIGTERM", "SIGHUP"] as const)[i % 3]!;
    const r = await runWith(["load", work.seed, ...target.args, "--verbose"], { at: phase.at, delayMs: phase.delayMs ?? (i * 7) % 120, act: (pr) => pr.kill(sig) });
    faultRuns++;
    if (r.code === -1) reports.push(`signal run ${i} (${target.name}, ${sig} during ${phase.name}) did not end in 30 s (a hang)`);
    const left = probeEventsOf(r.pid).length + (await settledPrograms()).length;
    if (left) {
      faultLeftovers++;
      reports.push(`signal run ${i} (${target.name}, ${sig} during ${phase.name}) left ${left} things behind`);
      sweepLeftovers();
    }
  }
  work.cleanup();
} else if (faults > 0) {
  console.error("--faults needs root and a usable bpf(): skipped");
}
const after = kernelState();
const leftovers = [...after].filter((x) => !before.has(x));

const total = [...rows.values()].reduce((a, r) => ({ inputs: a.inputs + r.inputs, crashes: a.crashes + r.crashes, hangs: a.hangs + r.hangs, violations: a.violations + r.violations }), { inputs: 0, crashes: 0, hangs: 0, violations: 0 });
console.log(`\nProperty campaign: seed ${seed}, ${runs} cases per property, ${((performance.now() - t0) / 1000).toFixed(0)} s\n`);
console.log("| inputs tried | count | crashes | hangs | property violations |");
console.log("|---|---:|---:|---:|---:|");
for (const [kind, r] of rows) console.log(`| ${kind} | ${r.inputs.toLocaleString("en")} | ${r.crashes} | ${r.hangs} | ${r.violations} |`);
console.log(`| **total** | **${total.inputs.toLocaleString("en")}** | **${total.crashes}** | **${total.hangs}** | **${total.violations}** |`);
console.log(`\ncrashes ${total.crashes}, hangs ${total.hangs}, leftovers ${leftovers.length + faultLeftovers}${faultRuns ? ` (after ${faultRuns} signal runs: ${faultLeftovers})` : ""}, injections ${injections}`);
if (reports.length) console.log(`\nFirst failure of each failing property (minimal input):\n\n${reports.join("\n\n")}`);
for (const l of leftovers) console.log(`leftover: ${l}`);
process.exitCode = total.crashes + total.hangs + leftovers.length + faultLeftovers ? 1 : 0;

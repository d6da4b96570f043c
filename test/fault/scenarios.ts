// The signal and resource-limit scenarios, shared by signals.test.ts, rlimits.test.ts and campaign.ts.
import { expect } from "bun:test";
import { LIBC, PROG_NAME, errorLines, hasStackTrace, probeEventsOf, runWith, settledPrograms } from "./support.ts";

export const SIGNALS = { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 } as const;
export type Sig = keyof typeof SIGNALS;

export interface Target {
  name: string;
  args: string[];
}
export const UPROBE: Target = { name: "tracefs uprobe", args: ["--attach", `uprobe:${LIBC}:getpid`, "--probe-api", "tracefs"] };
export const TRACEPOINT: Target = { name: "tracepoint", args: ["--attach", "tracepoint:syscalls:sys_enter_getpid"] };

/** Where the signal goes: on a stderr line (`at`), or `delayMs` after spawn. */
export interface Phase {
  name: string;
  at?: RegExp;
  delayMs?: number;
  /** A second signal right after the first, so it arrives while bpfload detaches. */
  second?: Sig;
  /** The watch handles it: exit 0. */
  handled?: boolean;
}

export const PHASES: Phase[] = [
  { name: "start-up (at spawn)", delayMs: 0 },
  { name: "start-up (modules loading)", delayMs: 40 },
  { name: "loading", at: /^kern_version / },
  { name: "attaching (program loaded)", at: /^loaded '/ },
  { name: "watching", at: /^watching trace_pipe/, handled: true },
  { name: "detaching", at: /^watching trace_pipe/, second: "SIGTERM" },
];

/**
 * Between the uprobe_events write and the attach (tracefs probes only: the tracepoint prints no
 * "probe event" line). The removal is registered before the write and the signal hook before any
 * command runs, so the event goes even here.
 */
export const PROBE_WRITTEN: Phase = { name: "attaching (probe event written)", at: /^probe event / };

export async function signalScenario(seed: string, target: Target, phase: Phase, sig: Sig): Promise<void> {
  const r = await runWith(["load", seed, ...target.args, "--verbose"], {
    at: phase.at,
    delayMs: phase.delayMs,
    act: (p) => {
      p.kill(sig);
      if (phase.second) p.kill(phase.second);
    },
  });
  const context = `exit ${r.code}, trigger ${JSON.stringify(r.trigger)}, stderr:\n${r.stderr}`;
  expect(r.code, `hang: ${context}`).not.toBe(-1);
  if (phase.handled) {
    expect(r.code, context).toBe(0);
    expect(r.stderr, context).toContain(`detached (${sig})`);
  } else {
    const allowed = [0, 128 + SIGNALS[sig], ...(phase.second ? [128 + SIGNALS[phase.second]] : [])];
    expect(allowed, context).toContain(r.code);
  }
  expect(errorLines(r.stderr).length, context).toBeLessThanOrEqual(1);
  expect(hasStackTrace(r.stderr), context).toBe(false);
  expect(probeEventsOf(r.pid), context).toEqual([]);
  expect(await settledPrograms(), context).toEqual([]);
}

// ------------------------------------------------------------------ resource limits

export interface LimitCase {
  name: string;
  prefix: string[];
  args: (seed: string) => string[];
}

/** The invariants of a run under a limit; returns the run for further checks. */
/**
 * A line Bun itself prints under a tiny RLIMIT_NOFILE, from its module resolver (it found the
 * module anyway: the run goes on and may succeed). bpfload cannot suppress it; it is left out of
 * the checks, and only it: the lines of bpfload's own still follow every rule.
 */
export const BUN_RESOLVER_LINE = /^error: Cannot read file "[^"]*": (EMFILE|ENFILE)\n?$/gm;

export async function limitRun(c: LimitCase, seed: string) {
  const run = await runWith(c.args(seed), { prefix: c.prefix, timeoutMs: 60_000 });
  const r = { ...run, stderr: run.stderr.replace(BUN_RESOLVER_LINE, "") };
  const context = `${c.prefix.join(" ")} ${c.args(seed).join(" ")}: exit ${r.code}, stderr:\n${r.stderr}`;
  expect(r.code, `hang: ${context}`).not.toBe(-1);
  expect([0, 1], context).toContain(r.code);
  expect(hasStackTrace(r.stderr), context).toBe(false);
  const errors = errorLines(r.stderr);
  for (const l of errors) expect(l, context).toMatch(/^bpfload: /);
  if (r.code !== 0) expect(errors.length, context).toBeGreaterThan(0);
  expect(probeEventsOf(r.pid), context).toEqual([]);
  const loaded = [...r.stderr.matchAll(/^loaded '([^']+)'/gm)].map((m) => m[1]!);
  for (const name of new Set([PROG_NAME, ...loaded])) expect(await settledPrograms(name), context).toEqual([]);
  return { ...r, errors, context };
}


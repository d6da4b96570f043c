// Shared by the fault tests: run the CLI with a stderr watcher (to act at a phase), and the oracles
// for "nothing left behind": tracefs probe events of that pid, programs of our name (bpftool).
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { kernelSkipReason, MAIN, SEED, tracefsDir } from "../support.ts";

/** File name = program name: unique to these tests, so bpftool can tell our programs from others'. */
export const PROG_NAME = "bpfload_fault";
export const LIBC = ["/lib/x86_64-linux-gnu/libc.so.6", "/lib/aarch64-linux-gnu/libc.so.6", "/usr/lib64/libc.so.6"].find((p) => existsSync(p));

export function makeWorkDir(): { dir: string; seed: string; cleanup: () => void } {
  const dir = `/tmp/bpfload-fault-${process.pid}`;
  mkdirSync(dir, { recursive: true });
  const seed = `${dir}/${PROG_NAME}`;
  writeFileSync(seed, SEED);
  return { dir, seed, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface Run {
  code: number;
  pid: number;
  stderr: string;
  stdout: string;
  /** The stderr line that triggered the action, if one did. */
  trigger?: string;
}

/**
 * Spawns `prefix... bun src/main.ts args...`; when a stderr line matches `at` (or after `delayMs`
 * when `at` is undefined) calls `act(proc)` once. A run that does not end in `timeoutMs` is killed
 * with SIGKILL and reported as a hang (code -1).
 */
export async function runWith(
  args: string[],
  opts: { prefix?: string[]; at?: RegExp; delayMs?: number; act?: (p: { kill(sig: NodeJS.Signals): void; pid: number }) => void; timeoutMs?: number } = {},
): Promise<Run> {
  const proc = Bun.spawn([...(opts.prefix ?? []), process.execPath, MAIN, ...args], { stdout: "pipe", stderr: "pipe", stdin: "ignore" });
  const target = { pid: proc.pid, kill: (sig: NodeJS.Signals) => proc.kill(sig) };
  let acted = false;
  let trigger: string | undefined;
  const act = (line?: string) => {
    if (acted || !opts.act) return;
    acted = true;
    trigger = line;
    opts.act(target);
  };
  if (opts.act && !opts.at) setTimeout(() => act(), opts.delayMs ?? 0);
  let stderr = "";
  const readErr = (async () => {
    const dec = new TextDecoder();
    for await (const chunk of proc.stderr) {
      stderr += dec.decode(chunk, { stream: true });
      if (opts.at && !acted) {
        const line = stderr.split("\n").find((l) => opts.at!.test(l));
        if (line !== undefined) act(line);
      }
    }
  })();
  let hung = false;
  const timer = setTimeout(() => {
    hung = true;
    proc.kill("SIGKILL");
  }, opts.timeoutMs ?? 30_000);
  const [stdout, code] = await Promise.all([new Response(proc.stdout).text(), proc.exited, readErr]);
  clearTimeout(timer);
  return { code: hung ? -1 : code, pid: proc.pid, stderr, stdout, trigger };
}

/**
 * Probe events of process `pid` still in tracefs. bpfload names them `bpfload2_<pid>_<start>_...`
 * with the numbers in base 36 (older versions: `bpfload_<pid>_<seq>_...`, decimal); the pid is read
 * back here on its own, not with bpfload's parser.
 */
export function probeEventsOf(pid: number): string[] {
  const t = tracefsDir();
  if (!t) return [];
  const mine = (s: string) => s.includes(`bpfload2_${pid.toString(36)}_`) || s.includes(`bpfload_${pid}_`);
  const lines = ["kprobe_events", "uprobe_events"]
    .filter((f) => existsSync(`${t}/${f}`))
    .flatMap((f) => readFileSync(`${t}/${f}`, "utf8").split("\n").filter(mine));
  const dirs = existsSync(`${t}/events/bpfload`) ? readdirSync(`${t}/events/bpfload`).filter(mine) : [];
  return [...lines, ...dirs];
}

/** Loaded programs named like ours, by bpftool (the independent oracle). */
export function programsNamed(name = PROG_NAME): string[] {
  const r = Bun.spawnSync(["bpftool", "prog", "show", "--json"]);
  if (r.exitCode !== 0) throw new Error(`bpftool prog show failed: ${r.stderr.toString().slice(0, 300)}`);
  const progs = JSON.parse(r.stdout.toString() || "[]") as { id: number; name?: string }[];
  return progs.filter((p) => p.name === name.slice(0, 15)).map((p) => `id ${p.id} ${p.name}`);
}

/** Programs are freed a little after their last fd closes (RCU): wait up to a few seconds for that. */
export async function settledPrograms(name = PROG_NAME): Promise<string[]> {
  let left = programsNamed(name);
  for (let i = 0; i < 40 && left.length; i++) {
    await Bun.sleep(100);
    left = programsNamed(name);
  }
  return left;
}

export const bpftoolAvailable = Bun.spawnSync(["sh", "-c", "command -v bpftool"]).exitCode === 0;

/** Why the fault tests cannot run here, or undefined. */
export const faultSkipReason: string | undefined =
  kernelSkipReason ??
  (!bpftoolAvailable ? "bpftool is not installed (it is the oracle for loaded programs)"
    : !tracefsDir() ? "tracefs is not mounted"
    : !LIBC ? "no libc.so.6 to put a uprobe on"
    : Bun.spawnSync(["sh", "-c", "command -v prlimit"]).exitCode !== 0 ? "prlimit (util-linux) is not installed"
    : undefined);

/** Removes probe events of dead bpfload processes (what a failing run may leave), via the CLI. */
export function sweepLeftovers(): void {
  Bun.spawnSync([process.execPath, MAIN, "cleanup"], { stdout: "ignore", stderr: "ignore" });
}

/** Lines bpfload prints on the way (not errors). */
const PROGRESS = [/^map '/, /^\s/, /^kern_version /, /^loaded '/, /^file offset /, /^probe event /, /^probe created /, /^attached '/, /^watching trace_pipe/, /^detached \(/, /^loaded only/];

/** stderr lines that are not progress: at most one is allowed (the error), and no stack trace. */
export function errorLines(stderr: string): string[] {
  return stderr.split("\n").filter((l) => l.trim() !== "" && !PROGRESS.some((p) => p.test(l)));
}

export function hasStackTrace(s: string): boolean {
  return /^\s+at .*(\(|:\d+)/m.test(s) || /^error: /m.test(s) || /Bun v\d/.test(s);
}

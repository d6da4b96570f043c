// Possible CPUs: how many per-CPU copies of a value the kernel keeps (num_possible_cpus()).
import { tryReadText } from "./files.ts";

/** Counts the CPUs of a kernel CPU list ("0-3", "0,2-5", "0"). */
export function countCpuList(text: string): number {
  let n = 0;
  for (const part of text.trim().split(",")) {
    if (!part) continue;
    const [a, b] = part.split("-").map(Number);
    n += b === undefined ? 1 : b - a! + 1;
  }
  return n;
}

let cpus: number | undefined;

/** Number of possible CPUs, from /sys/devices/system/cpu/possible (read once per process). */
export function possibleCpus(): number {
  if (cpus !== undefined) return cpus;
  const text = tryReadText("/sys/devices/system/cpu/possible");
  cpus = text ? countCpuList(text) || 1 : 1;
  return cpus;
}

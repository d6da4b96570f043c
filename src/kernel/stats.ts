// How often a program ran, for the live status line. The perf event's counter is no run count: it
// only counts runs whose program returned non-zero (a tracepoint/kprobe program returning 0 — like
// the seed's — discards the event), so it said "0 runs" while trace lines arrived. The only true
// count is bpf_prog_info.run_cnt (5.1+), which the kernel keeps only while statistics are on:
// BPF_ENABLE_STATS (5.8+) turns them on for as long as its fd stays open; before 5.8 only the
// global sysctl kernel.bpf_stats_enabled does, and bpfload never flips a system-wide switch — it
// counts only when someone already turned it on. Otherwise the status line shows trace lines only.
import { bpfEnableStats, bpfProgGetInfo } from "../sys/bpf.ts";
import { tryReadText } from "../sys/files.ts";
import { BPF_PROG_INFO, field } from "../sys/layout.ts";
import { close } from "../sys/fd.ts";
import { BPF_STATS_RUN_TIME } from "../uapi.ts";
import { onCleanup } from "./cleanup.ts";
import { sumKnown } from "./attach/perf-link.ts";
import type { Program } from "./program.ts";

export const BPF_STATS_SYSCTL = "/proc/sys/kernel/bpf_stats_enabled";

/** Where run counts come from: our own BPF_ENABLE_STATS fd, the sysctl someone else enabled, or nowhere. */
export type RunCountSource = "enable-stats" | "sysctl" | "none";

/**
 * The decision, pure: `statsFd` is BPF_ENABLE_STATS' return (fd, or -errno before 5.8), `sysctlText`
 * the content of kernel.bpf_stats_enabled (undefined before 5.1, where run_cnt does not exist either).
 */
export function runCountSource(statsFd: number, sysctlText: string | undefined): RunCountSource {
  if (statsFd >= 0) return "enable-stats";
  if (sysctlText !== undefined && sysctlText.trim() !== "" && sysctlText.trim() !== "0") return "sysctl";
  return "none";
}

/** The live status line: runs only when they are really counted, never a made-up 0. */
export function statusLine(runs: bigint | undefined, lines: number, what: "trace" | "trace and record" = "trace"): string {
  const l = what === "trace" ? `${lines} trace ${lines === 1 ? "line" : "lines"}` : `${lines} ${lines === 1 ? "line or record" : "lines and records"}`;
  return runs === undefined ? `  ${l} (Ctrl-C to stop)` : `  ${runs} runs of the program, ${l} (Ctrl-C to stop)`;
}

export interface RunCounter {
  source: Exclude<RunCountSource, "none">;
  /** Total run_cnt of the programs (undefined when the kernel does not answer). */
  count(): bigint | undefined;
  stop(): void;
}

/** Starts counting runs of `programs`, or undefined when this kernel cannot count them without a global switch. */
export function startRunCounter(programs: Program[]): RunCounter | undefined {
  const r = bpfEnableStats(BPF_STATS_RUN_TIME);
  const source = runCountSource(r.ret, r.ret >= 0 ? undefined : tryReadText(BPF_STATS_SYSCTL));
  if (source === "none") return undefined;
  let closed = false;
  const stop = () => {
    if (closed || source !== "enable-stats") return;
    closed = true;
    close(r.ret);
    unregister();
  };
  const unregister = source === "enable-stats" ? onCleanup(stop) : () => {};
  return { source, count: () => sumKnown(programs.map(runCount)), stop };
}

/** run_cnt of a program (0 while statistics are off), or undefined when the kernel cannot tell. */
export function runCount(prog: Program): bigint | undefined {
  const r = bpfProgGetInfo(prog.fd);
  return r.ret < 0 ? undefined : r.info.getBigUint64(field(BPF_PROG_INFO, "run_cnt").offset, true);
}

// How often a program ran. The perf event's counter only counts runs whose program returned
// non-zero (a tracepoint/kprobe program returning 0 — like the seed's — discards the event), so
// the run count comes from bpf_prog_info.run_cnt, which the kernel keeps while statistics are
// enabled: BPF_ENABLE_STATS (5.8+) turns them on for as long as its fd stays open.
import { bpfEnableStats, bpfProgGetInfo } from "../sys/bpf.ts";
import { BPF_PROG_INFO, field } from "../sys/layout.ts";
import { close } from "../sys/perf.ts";
import { BPF_STATS_RUN_TIME } from "../uapi.ts";
import { onCleanup } from "./cleanup.ts";
import type { Program } from "./program.ts";

/** Enables run statistics until the returned function is called; undefined before 5.8. */
export function enableRunStats(): (() => void) | undefined {
  const r = bpfEnableStats(BPF_STATS_RUN_TIME);
  if (r.ret < 0) return undefined;
  let closed = false;
  const stop = () => {
    if (closed) return;
    closed = true;
    close(r.ret);
    unregister();
  };
  const unregister = onCleanup(stop);
  return stop;
}

/** run_cnt of a program (0 while statistics are off), or undefined when the kernel cannot tell. */
export function runCount(prog: Program): bigint | undefined {
  const r = bpfProgGetInfo(prog.fd);
  return r.ret < 0 ? undefined : r.info.getBigUint64(field(BPF_PROG_INFO, "run_cnt").offset, true);
}

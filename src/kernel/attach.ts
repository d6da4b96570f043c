// One entry point from an attach spec to the attach function of its kind.
import type { AttachSpec } from "../attach-spec.ts";
import { attachIter } from "./attach/iter.ts";
import { attachTracing } from "./attach/tracing.ts";
import { attachKprobe, type KprobeAttachInfo } from "./kprobe.ts";
import { attachPerfEvent, attachRawTracepoint, attachSocket } from "./other-attach.ts";
import type { Link } from "./perf-link.ts";
import type { ProbeApi } from "./probe-pmu.ts";
import type { Program } from "./program.ts";
import { attachTracepoint } from "./tracepoint.ts";
import { attachUprobe } from "./uprobe.ts";

export interface AttachOptions {
  /** Force the kprobe/uprobe mechanism (default: the PMU where the kernel has it). */
  probeApi?: ProbeApi;
  /** kretprobe instances (tracefs kprobe_events, 4.12+). */
  maxactive?: number;
  /** perf_event programs: samples per second per CPU. */
  freq?: number;
  /** Told which symbol and event a probe went to (syscall names differ between kernels). */
  onProbe?: (info: { symbol?: string; offset?: number; event: string }) => void;
}

export const DEFAULT_FREQ = 49;

export function attach(prog: Program, spec: AttachSpec, opts: AttachOptions = {}): Link {
  switch (spec.kind) {
    case "kprobe":
    case "kretprobe":
      return attachKprobe(prog, spec, { api: opts.probeApi, maxactive: opts.maxactive, onInfo: opts.onProbe as (i: KprobeAttachInfo) => void });
    case "uprobe":
    case "uretprobe":
      return attachUprobe(prog, spec, { api: opts.probeApi, onInfo: opts.onProbe });
    case "tracepoint":
      return attachTracepoint(prog, spec);
    case "raw_tracepoint":
      return attachRawTracepoint(prog, spec);
    case "perf_event":
      return attachPerfEvent(prog, spec, opts.freq ?? DEFAULT_FREQ);
    case "socket":
      return attachSocket(prog, spec);
    case "iter":
      return attachIter(prog, spec);
    case "tp_btf": case "fentry": case "fexit": case "fmod_ret": case "lsm":
      return attachTracing(prog, spec);
  }
}

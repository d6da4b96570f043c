// One entry point from an attach spec to the attach function of its kind.
import { formatAttachSpec, type AttachSpec } from "../../attach-spec.ts";
import { InvalidArgumentError } from "../../errors.ts";
import { ifindexOf } from "./common.ts";
import { attachFreplace } from "./freplace.ts";
import { attachIter } from "./iter.ts";
import { attachTracing } from "./tracing.ts";
import { attachKprobe, type KprobeAttachInfo } from "./kprobe.ts";
import { attachPerfEvent } from "./perf-event.ts";
import { attachRawTracepoint } from "./raw-tracepoint.ts";
import { attachSocket } from "./socket.ts";
import type { Link } from "./perf-link.ts";
import type { ProbeApi } from "./probe-pmu.ts";
import type { Program } from "../program.ts";
import { attachTracepoint } from "./tracepoint.ts";
import { attachUprobe } from "./uprobe.ts";
import { attachCgroup, attachFlowDissector } from "./cgroup.ts";
import { attachNetfilter } from "./netfilter.ts";
import { attachSkLookup } from "./netns.ts";
import { attachTc } from "./tc.ts";
import { attachXdp, type NetApi } from "./xdp.ts";
import { sweepNetRecords } from "./sweep-net.ts";
import { attachSockmap } from "./sockmap.ts";
import { attachKprobeMulti } from "./kprobe-multi.ts";
import { attachUprobeMulti } from "./uprobe-multi.ts";
import { attachUsdt } from "./usdt.ts";
import type { LoadedStructOps } from "../struct-ops.ts";

export interface AttachOptions {
  /** Force the kprobe/uprobe mechanism (default: the PMU where the kernel has it). */
  probeApi?: ProbeApi;
  /** kretprobe instances (tracefs kprobe_events, 4.12+). */
  maxactive?: number;
  /** perf_event programs: samples per second per CPU. */
  freq?: number;
  /** Told which symbol and event a probe went to (syscall names differ between kernels). */
  onProbe?: (info: { symbol?: string; offset?: number; event: string }) => void;
  /** xdp, tc, cgroup hooks: force bpf_link or the old way (netlink, BPF_PROG_ATTACH); default: link, else the old way. */
  netApi?: NetApi;
  /** sk_msg/sk_skb: the fd of the object's map of that name. */
  mapFd?: (name: string) => number | undefined;
  /** struct_ops: the object's struct_ops map of that name. */
  structOps?: (name: string) => LoadedStructOps | undefined;
}

export const DEFAULT_FREQ = 49;

/** What a network hook can be refused for before anything is loaded: an interface that is not there. */
export function checkHookTarget(spec: AttachSpec): void {
  if (spec.kind === "xdp" || spec.kind === "tc") ifindexOf(spec.iface, `attach to ${formatAttachSpec(spec)}`);
}

let swept = false;

/** Before the first network/cgroup attach: undo what dead bpfload runs left attached (records.ts). */
function sweepOnce(): void {
  if (swept) return;
  swept = true;
  sweepNetRecords();
}

export function attach(prog: Program, spec: AttachSpec, opts: AttachOptions = {}): Link {
  if (spec.kind === "xdp" || spec.kind === "tc" || spec.kind === "cgroup") sweepOnce();
  switch (spec.kind) {
    case "kprobe":
    case "kretprobe":
    case "ksyscall":
    case "kretsyscall":
      return attachKprobe(prog, spec, { api: opts.probeApi, maxactive: opts.maxactive, onInfo: opts.onProbe as (i: KprobeAttachInfo) => void });
    case "uprobe":
    case "uretprobe":
      return attachUprobe(prog, spec, { api: opts.probeApi, onInfo: opts.onProbe });
    case "kprobe.multi":
    case "kretprobe.multi":
      return attachKprobeMulti(prog, spec);
    case "uprobe.multi":
    case "uretprobe.multi":
      return attachUprobeMulti(prog, spec, opts.onProbe);
    case "usdt":
      return attachUsdt(prog, spec, { api: opts.probeApi, mapFd: opts.mapFd, onInfo: opts.onProbe });
    case "tracepoint":
      return attachTracepoint(prog, spec);
    case "raw_tracepoint":
      return attachRawTracepoint(prog, spec);
    case "perf_event":
      return attachPerfEvent(prog, spec, opts.freq ?? DEFAULT_FREQ);
    case "socket":
      return attachSocket(prog, spec);
    case "xdp":
      return attachXdp(prog, spec, opts.netApi);
    case "tc":
      return attachTc(prog, spec, opts.netApi);
    case "cgroup":
      return attachCgroup(prog, spec, opts.netApi);
    case "flow_dissector":
      return attachFlowDissector(prog, spec, opts.netApi);
    case "sk_lookup":
      return attachSkLookup(prog, spec);
    case "netfilter":
      return attachNetfilter(prog, spec);
    case "sk_msg":
    case "sk_skb":
      return attachSockmap(prog, spec, opts.mapFd);
    case "iter":
      return attachIter(prog, spec);
    case "tp_btf": case "fentry": case "fexit": case "fmod_ret": case "lsm":
      return attachTracing(prog, spec);
    case "freplace":
      return attachFreplace(prog, spec);
    case "struct_ops": {
      const so = opts.structOps?.(spec.map);
      if (!so) throw new InvalidArgumentError("attach", `attach '${prog.name}' to struct_ops:${spec.map}: the object has no struct_ops variable '${spec.map}'`);
      return so.register();
    }
  }
}

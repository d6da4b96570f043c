// The kprobe and uprobe perf PMUs (4.17+): a probe created by perf_event_open itself, with no
// tracefs event to name, write or remove — it vanishes when its fd closes, so a crash cannot leave
// it behind. Older kernels only have the tracefs kprobe_events/uprobe_events path.
import { tryReadText } from "../../sys/files.ts";
import { InvalidArgumentError, NotSupportedError, opt, optionText } from "../../errors.ts";
import { FEATURE_SINCE, since } from "../../since.ts";

export interface ProbePmu {
  /** perf_event_attr.type of the PMU. */
  type: number;
  /** Bit of `config` that makes it a return probe (format/retprobe: "config:0"). */
  retprobeBit: number;
}

export type ProbeApi = "pmu" | "tracefs";

const cache = new Map<string, ProbePmu | null>();

export function probePmu(kind: "kprobe" | "uprobe"): ProbePmu | undefined {
  if (!cache.has(kind)) {
    const dir = `/sys/bus/event_source/devices/${kind}`;
    const type = tryReadText(`${dir}/type`);
    const bit = tryReadText(`${dir}/format/retprobe`)?.match(/config:(\d+)/);
    cache.set(kind, type !== undefined && Number.isInteger(Number(type.trim())) && bit ? { type: Number(type.trim()), retprobeBit: Number(bit[1]) } : null);
  }
  return cache.get(kind) ?? undefined;
}

export function parseProbeApi(text: string | undefined): ProbeApi | undefined {
  if (text === undefined || text === "auto") return undefined;
  if (text === "pmu" || text === "tracefs") return text;
  throw new InvalidArgumentError("probeApi", optionText`bad ${opt("probeApi")} '${text}': pmu (perf kprobe/uprobe PMU, 4.17+), tracefs (kprobe_events/uprobe_events) or auto`);
}

/** Which path to take: the PMU when the kernel has it, unless told otherwise (or maxactive is wanted). */
export function chooseProbeApi(kind: "kprobe" | "uprobe", forced: ProbeApi | undefined, needsTracefs = false): { api: ProbeApi; pmu?: ProbePmu } {
  const pmu = probePmu(kind);
  if (forced === "pmu" && !pmu) throw new NotSupportedError(optionText`the ${kind} perf PMU (${opt("probeApi", "pmu")})`, since(FEATURE_SINCE["kprobe/uprobe perf PMU"]), `no /sys/bus/event_source/devices/${kind}`);
  if (forced === "tracefs" || needsTracefs || !pmu) return { api: "tracefs" };
  return { api: "pmu", pmu };
}

// `bpfload probe`'s report: what this kernel offers, found out by trying: tiny programs and maps are
// loaded and created (and closed at once), files in /proc and /sys are read. The loader's own
// decisions ask the cached probes of features/probes.ts, which this report lists too.
import { exists, tryReadText } from "../../sys/files.ts";
import { errnoName, ERRNO } from "../../errors.ts";
import { helperNames, MAP_TYPES, PROG_TYPES, type ProgTypeName } from "../../uapi.ts";
import { bpfMapCreate, bpfProgLoad } from "../../sys/bpf.ts";
import { close } from "../../sys/fd.ts";
import { probePmu } from "../attach/probe-pmu.ts";
import { liveKernel } from "./kernel.ts";
import { hasFeature, probeFeatures, type FeatureAnswer, type FeatureId } from "./probes.ts";
import { kernelVersion } from "../program.ts";
import { mountPointsOf } from "../mounts.ts";
import { hasControl, tracefs } from "../tracefs/tracefs.ts";

/** r0 = 0; exit */
const RETURN_0 = new Uint8Array([0xb7, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0]);

/** Program types that only load with an expected attach type or flag (values from the uapi enums). */
const LOAD_WITH: Partial<Record<ProgTypeName, { expectedAttachType?: number; progFlags?: number }>> = {
  cgroup_sock_addr: { expectedAttachType: 8 /* BPF_CGROUP_INET4_BIND */ },
  cgroup_sockopt: { expectedAttachType: 21 /* BPF_CGROUP_GETSOCKOPT */ },
  sk_lookup: { expectedAttachType: 36 /* BPF_SK_LOOKUP */ },
  syscall: { progFlags: 16 /* BPF_F_SLEEPABLE */ },
};
/** Program types that need a BTF attach target: a probe without one can only prove they exist. */
const NEEDS_BTF_TARGET = new Set<ProgTypeName>(["tracing", "struct_ops", "ext", "lsm", "netfilter"]);
const { ENOTSUPP } = ERRNO;

export interface Probe {
  supported: boolean | "unknown";
  /** errno name or a reason when not supported / not probed. */
  detail?: string;
}

function tryLoad(progType: number, insns = RETURN_0, extra: { expectedAttachType?: number; progFlags?: number } = {}): { ok: boolean; errno: number; log: string } {
  const r = bpfProgLoad({ progType, insns, license: "GPL", kernVersion: kernelVersion().code, logLevel: 1, logSize: 4096, ...extra });
  if (r.ret >= 0) close(r.ret);
  return { ok: r.ret >= 0, errno: r.errno, log: r.log };
}

export function probeProgramTypes(): Record<string, Probe> {
  const out: Record<string, Probe> = {};
  PROG_TYPES.forEach((name, type) => {
    if (type === 0) return;
    const r = tryLoad(type, RETURN_0, LOAD_WITH[name]);
    if (r.ok) out[name] = { supported: true };
    else if (NEEDS_BTF_TARGET.has(name) && r.errno === ENOTSUPP) out[name] = { supported: true, detail: "known (needs a BTF attach target to load)" };
    else if (NEEDS_BTF_TARGET.has(name)) out[name] = { supported: "unknown", detail: `needs a BTF attach target to probe (${errnoName(r.errno)})` };
    else out[name] = { supported: false, detail: errnoName(r.errno) };
  });
  return out;
}

/** Smallest valid parameters per map type (key, value, entries, flags); undefined: needs BTF. */
function mapParams(name: string): [number, number, number, number] | undefined {
  switch (name) {
    case "lpm_trie":
      return [8, 8, 1, 1 /* BPF_F_NO_PREALLOC */];
    case "stack_trace":
      return [4, 8, 1, 0];
    case "queue":
    case "stack":
    case "bloom_filter":
      return [0, 4, 1, 0];
    case "ringbuf":
    case "user_ringbuf":
      return [0, 0, 4096, 0];
    case "cgroup_storage":
    case "percpu_cgroup_storage":
      return [16, 8, 0, 0];
    case "sk_storage":
    case "inode_storage":
    case "task_storage":
    case "cgrp_storage":
    case "struct_ops":
    case "arena":
      return undefined;
    case "array_of_maps":
    case "hash_of_maps":
      return [4, 4, 1, 0];
    default:
      return [4, 4, 1, 0];
  }
}

export function probeMapTypes(): Record<string, Probe> {
  const out: Record<string, Probe> = {};
  const inner = bpfMapCreate({ mapType: 2, keySize: 4, valueSize: 4, maxEntries: 1 });
  MAP_TYPES.forEach((name, type) => {
    if (type === 0) return;
    const p = mapParams(name);
    if (!p) {
      out[name] = { supported: "unknown", detail: "needs BTF to probe" };
      return;
    }
    const innerMapFd = name.endsWith("_of_maps") && inner.ret >= 0 ? inner.ret : undefined;
    const r = bpfMapCreate({ mapType: type, keySize: p[0], valueSize: p[1], maxEntries: p[2], flags: p[3], innerMapFd });
    if (r.ret >= 0) {
      close(r.ret);
      out[name] = { supported: true };
    } else {
      out[name] = { supported: false, detail: errnoName(r.errno) };
    }
  });
  if (inner.ret >= 0) close(inner.ret);
  return out;
}

/** Helpers a program type may call: the verifier names unknown or forbidden helpers in its log. */
export function probeHelpers(progType: ProgTypeName): string[] {
  const type = PROG_TYPES.indexOf(progType);
  const usable: string[] = [];
  helperNames().forEach((name, id) => {
    if (id === 0) return;
    // call id; r0 = 0; exit
    const insns = new Uint8Array([0x85, 0, 0, 0, id & 0xff, (id >> 8) & 0xff, 0, 0, 0xb7, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0]);
    const r = tryLoad(type, insns);
    if (r.ok || !/invalid func|unknown func|cannot use helper|cannot call|not supported|helper call is not allowed/i.test(r.log)) usable.push(name);
  });
  return usable;
}

function sysctl(path: string): string | undefined {
  return tryReadText(path)?.trim();
}

function mountPoint(fstype: string): string | undefined {
  return mountPointsOf(fstype)[0];
}

/** Can a tracepoint program attach to syscalls:sys_enter_* here (4.14+)? Tried for real. */
function syscallTracepointsUsable(): Probe {
  if (hasFeature("syscallTracepoints")) return { supported: true };
  return { supported: false, detail: liveKernel.syscallTracepointRefusal() };
}

export interface KernelReport {
  kernel: { release: string; versionCode: number; version: string; source: string; arch: string };
  paths: { tracefs?: string; debugfs?: string; bpffs?: string };
  jit: { enabled?: number; harden?: number };
  unprivilegedBpf?: { disabled: number; meaning: string };
  probes: {
    kprobePmu: boolean;
    kprobeEvents: boolean;
    uprobePmu: boolean;
    uprobeEvents: boolean;
    rawTracepoints: Probe;
    syscallTracepoints: Probe;
    btf: boolean;
    bpfLink: Probe;
    memlock: string;
  };
  programTypes: Record<string, Probe>;
  mapTypes: Record<string, Probe>;
  helpers: Record<string, string[]>;
  /** Every feature the loader decides on, as its probe answered, with the version that brought it. */
  features: Record<FeatureId, FeatureAnswer>;
}

const UNPRIV = ["allowed for unprivileged users", "disabled for unprivileged users (permanent until reboot)", "disabled for unprivileged users (admin may re-enable)"];

export function probeKernel(opts: { helperTypes?: ProgTypeName[] } = {}): KernelReport {
  const kv = kernelVersion();
  const code = kv.code;
  const programTypes = probeProgramTypes();
  let tracefsPath: string | undefined;
  try {
    tracefsPath = tracefs();
  } catch {
    tracefsPath = undefined;
  }
  const unpriv = sysctl("/proc/sys/kernel/unprivileged_bpf_disabled");
  const memlockLimit = sysctl("/proc/self/limits")?.split("\n").find((l) => l.startsWith("Max locked memory"));
  return {
    kernel: {
      release: sysctl("/proc/sys/kernel/osrelease") ?? "?",
      versionCode: code,
      version: `${code >>> 16}.${(code >>> 8) & 0xff}.${code & 0xff}`,
      source: kv.source,
      arch: process.arch === "arm64" ? "aarch64" : "x86_64",
    },
    paths: { tracefs: tracefsPath, debugfs: mountPoint("debugfs"), bpffs: mountPoint("bpf") },
    jit: { enabled: numberOrUndefined(sysctl("/proc/sys/net/core/bpf_jit_enable")), harden: numberOrUndefined(sysctl("/proc/sys/net/core/bpf_jit_harden")) },
    unprivilegedBpf: unpriv === undefined ? undefined : { disabled: Number(unpriv), meaning: UNPRIV[Number(unpriv)] ?? "unknown" },
    probes: {
      kprobePmu: !!probePmu("kprobe"),
      kprobeEvents: !!tracefsPath && hasControl("kprobe_events"),
      uprobePmu: !!probePmu("uprobe"),
      uprobeEvents: !!tracefsPath && hasControl("uprobe_events"),
      rawTracepoints: programTypes.raw_tracepoint ?? { supported: false },
      syscallTracepoints: tracefsPath ? syscallTracepointsUsable() : { supported: false, detail: "no tracefs" },
      btf: exists("/sys/kernel/btf/vmlinux"),
      bpfLink: hasFeature("bpfLink") ? { supported: true } : { supported: false, detail: errnoName(liveKernel.linkCreateErrno()) },
      memlock: hasFeature("memcgAccounting") ? "memcg accounting (5.11+): RLIMIT_MEMLOCK not used" : `charged to RLIMIT_MEMLOCK (${memlockLimit?.replace(/\s+/g, " ").trim() ?? "limit unknown"}); bpfload raises it`,
    },
    programTypes,
    mapTypes: probeMapTypes(),
    helpers: Object.fromEntries((opts.helperTypes ?? ["kprobe", "tracepoint", "socket_filter"]).map((t) => [t, programTypes[t]?.supported === true ? probeHelpers(t) : []])),
    features: probeFeatures(),
  };
}

function numberOrUndefined(s: string | undefined): number | undefined {
  return s === undefined ? undefined : Number(s);
}

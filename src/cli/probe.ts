// `bpfload probe`: what this kernel offers, grouped for a tester; --json for CI.
import { probeKernel, tracefsMountPoint, type FeatureAnswer, type Probe } from "../index.ts";
import type { Output } from "./output.ts";

/** Not mounted, or mounted where this user cannot read it (mode 0700 for root on newer kernels). */
function tracefsAbsence(): string {
  const at = tracefsMountPoint();
  return at ? `mounted at ${at} but not readable by this user (run as root)` : "not mounted";
}

const yes = (b: boolean | Probe) => {
  const p = typeof b === "boolean" ? { supported: b } : b;
  return p.supported === true ? "yes" : p.supported === false ? `no${p.detail ? ` (${p.detail})` : ""}` : `? (${p.detail ?? "not probed"})`;
};

function list(title: string, probes: Record<string, Probe>): string[] {
  const ok = Object.entries(probes).filter(([, p]) => p.supported === true).map(([k]) => k);
  const no = Object.entries(probes).filter(([, p]) => p.supported === false).map(([k, p]) => `${k} (${p.detail})`);
  const unknown = Object.entries(probes).filter(([, p]) => p.supported === "unknown").map(([k]) => k);
  return [
    `${title}: ${ok.length} of ${Object.keys(probes).length}`,
    `  yes: ${ok.join(" ")}`,
    ...(no.length ? [`  no:  ${no.join(" ")}`] : []),
    ...(unknown.length ? [`  not probed (need BTF): ${unknown.join(" ")}`] : []),
  ];
}

/** The loader's features, each with the version that brought it (what a refusal would name). */
function featureLines(features: Record<string, FeatureAnswer>): string[] {
  const all = Object.entries(features);
  const tag = ([id, f]: [string, FeatureAnswer]) => `${id}(${f.since}${f.configured === false && !f.supported ? ", not configured" : ""})`;
  // A kernel new enough for a feature it was built without (kretprobe maxactive without kprobes)
  // has it in no usable sense: its own group, not "yes".
  const unconfigured = all.filter(([, f]) => f.supported === true && f.configured === false);
  const ok = all.filter(([, f]) => f.supported === true && f.configured !== false);
  const no = all.filter(([, f]) => f.supported === false);
  const unknown = all.filter(([, f]) => f.supported === "unknown");
  return [
    `features (probed): ${ok.length} of ${all.length}`,
    `  yes: ${ok.map(tag).join(" ")}`,
    ...(unconfigured.length ? [`  not configured in this kernel: ${unconfigured.map(tag).join(" ")}`] : []),
    ...(no.length ? [`  no:  ${no.map(tag).join(" ")}`] : []),
    ...unknown.map(([id, f]) => `  not probed: ${id}(${f.since}): ${f.how}`),
  ];
}

export function runProbe(out: Output): number {
  const r = probeKernel();
  if (out.json) {
    out.result("", { type: "probe", ...r });
    return 0;
  }
  const p = r.probes;
  const lines = [
    `kernel ${r.kernel.release} (${r.kernel.arch}): LINUX_VERSION_CODE ${r.kernel.version} = 0x${r.kernel.versionCode.toString(16)} (from ${r.kernel.source})`,
    "",
    "paths",
    `  tracefs   ${r.paths.tracefs ?? tracefsAbsence()}`,
    `  debugfs   ${r.paths.debugfs ?? "not mounted"}`,
    `  bpffs     ${r.paths.bpffs ?? "not mounted (bpfload mounts /sys/fs/bpf for --pin)"}`,
    "",
    "bpf",
    `  JIT                    ${r.jit.enabled === undefined ? "unknown" : r.jit.enabled ? `on${r.jit.enabled === 2 ? " (debug)" : ""}` : "off (interpreter)"}${r.jit.harden ? `, hardening ${r.jit.harden}` : ""}`,
    `  unprivileged BPF       ${r.unprivilegedBpf ? `${r.unprivilegedBpf.disabled}: ${r.unprivilegedBpf.meaning}` : "unknown"}`,
    `  memory accounting      ${p.memlock}`,
    `  BTF (vmlinux)          ${yes(p.btf)}`,
    `  bpf_link               ${yes(p.bpfLink)}`,
    "",
    "attach points",
    `  kprobes                ${p.kprobePmu ? "perf PMU" : ""}${p.kprobePmu && p.kprobeEvents ? " + " : ""}${p.kprobeEvents ? "tracefs kprobe_events" : ""}${!p.kprobePmu && !p.kprobeEvents ? "no (CONFIG_KPROBES off)" : ""}`,
    `  uprobes                ${p.uprobePmu ? "perf PMU" : ""}${p.uprobePmu && p.uprobeEvents ? " + " : ""}${p.uprobeEvents ? "tracefs uprobe_events" : ""}${!p.uprobePmu && !p.uprobeEvents ? "no" : ""}`,
    `  raw tracepoints        ${yes(p.rawTracepoints)}`,
    `  BPF on syscalls:*      ${yes(p.syscallTracepoints)}`,
    "",
    ...featureLines(r.features),
    "",
    ...list("program types", r.programTypes),
    "",
    ...list("map types", r.mapTypes),
    "",
    "helpers",
    ...Object.entries(r.helpers).map(([t, h]) => `  ${t}: ${h.length} usable`),
    "  (names: bpfload probe --json)",
  ];
  out.result(lines.join("\n"), {});
  return 0;
}

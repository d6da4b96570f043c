// `bpfload probe --json`: its schema, and its answers against what tracefs/sysfs show and what
// bpftool's own feature probe says (independent oracles).
import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { canUseKernel, runCli, tracefsDir } from "../support.ts";

describe.skipIf(!canUseKernel)("bpfload probe", async () => {
  const r = canUseKernel ? await runCli(["probe", "--json"], { timeoutMs: 30000 }) : undefined;
  const report = r ? JSON.parse(r.stdout) : undefined;

  test("one JSON object with every group", () => {
    expect(r!.code).toBe(0);
    expect(r!.stdout.trim().split("\n")).toHaveLength(1);
    expect(report.type).toBe("probe");
    for (const key of ["kernel", "paths", "jit", "probes", "programTypes", "mapTypes", "helpers"]) expect(report).toHaveProperty(key);
    expect(typeof report.kernel.versionCode).toBe("number");
    expect(["vdso", "version_signature", "uname -v", "uname -r"]).toContain(report.kernel.source);
    for (const p of Object.values(report.programTypes) as { supported: boolean | string }[]) expect([true, false, "unknown"]).toContain(p.supported);
  });

  test("features: each with its answer and the version that brought it, agreeing with the table (the VM rig's check)", () => {
    const [major, minor] = [report.kernel.versionCode >>> 16, (report.kernel.versionCode >>> 8) & 0xff];
    const ids = Object.keys(report.features);
    expect(ids).toContain("globalData");
    expect(ids.length).toBeGreaterThanOrEqual(20);
    for (const [id, f] of Object.entries(report.features) as [string, { supported: unknown; since: string; configured?: boolean }][]) {
      expect([id, typeof f.since, [true, false, "unknown"].includes(f.supported as never)]).toEqual([id, "string", true]);
      const [sMajor, sMinor] = f.since.split(".").map(Number) as [number, number];
      const byVersion = major > sMajor || (major === sMajor && minor >= sMinor);
      if (f.configured !== false) expect([id, f.supported]).toEqual([id, byVersion]);
    }
    expect(report.features.kprobePmu.supported).toBe(existsSync("/sys/bus/event_source/devices/kprobe/type"));
  });

  test("answers agree with tracefs and sysfs", () => {
    const t = tracefsDir()!;
    expect(report.paths.tracefs).toBe(t);
    expect(report.kernel.release).toBe(readFileSync("/proc/sys/kernel/osrelease", "utf8").trim());
    expect(report.probes.kprobeEvents).toBe(existsSync(`${t}/kprobe_events`));
    expect(report.probes.uprobeEvents).toBe(existsSync(`${t}/uprobe_events`));
    expect(report.probes.kprobePmu).toBe(existsSync("/sys/bus/event_source/devices/kprobe/type"));
    expect(report.probes.uprobePmu).toBe(existsSync("/sys/bus/event_source/devices/uprobe/type"));
    expect(report.probes.btf).toBe(existsSync("/sys/kernel/btf/vmlinux"));
    expect(report.jit.enabled).toBe(Number(readFileSync("/proc/sys/net/core/bpf_jit_enable", "utf8")));
    expect(report.unprivilegedBpf.disabled).toBe(Number(readFileSync("/proc/sys/kernel/unprivileged_bpf_disabled", "utf8")));
    expect(report.helpers.kprobe).toContain("trace_printk");
    expect(report.helpers.kprobe).not.toContain("redirect"); // a networking helper
    expect(report.helpers.socket_filter).toContain("skb_load_bytes");
  });

  const bpftool = Bun.which("bpftool");
  test.skipIf(!bpftool)("program and map types agree with bpftool feature probe wherever both give a yes/no", () => {
    const bt = JSON.parse(Bun.spawnSync([bpftool!, "feature", "probe", "kernel", "-j"]).stdout.toString());
    let compared = 0;
    for (const [name, p] of Object.entries(report.programTypes) as [string, { supported: unknown }][]) {
      const theirs = bt.program_types?.[`have_${name}_prog_type`];
      if (typeof theirs === "boolean" && typeof p.supported === "boolean") {
        expect([name, p.supported]).toEqual([name, theirs]);
        compared++;
      }
    }
    for (const [name, p] of Object.entries(report.mapTypes) as [string, { supported: unknown }][]) {
      const theirs = bt.map_types?.[`have_${name}_map_type`];
      if (typeof theirs === "boolean" && typeof p.supported === "boolean") {
        expect([name, p.supported]).toEqual([name, theirs]);
        compared++;
      }
    }
    expect(compared).toBeGreaterThan(40);
  });

  test("plain output fits a screen and names the kernel", async () => {
    const plain = await runCli(["probe"], { timeoutMs: 30000 });
    expect(plain.code).toBe(0);
    expect(plain.stdout).toContain(`kernel ${report.kernel.release}`);
    expect(plain.stdout).toMatch(/^features \(probed\): \d+ of \d+$/m);
    expect(plain.stdout).toContain(`globalData(5.2)`);
    expect(plain.stdout.split("\n").length).toBeLessThan(45);
    // A feature the kernel is new enough for but was built without is never listed as "yes"
    // (kretprobeMaxactive on a kernel without kprobes).
    const lines = plain.stdout.split("\n");
    const yesLine = lines[lines.findIndex((l) => l.startsWith("features (probed)")) + 1]!;
    expect(yesLine).toStartWith("  yes: ");
    const ids = (line: string) => line.split(" ").map((t) => t.replace(/\(.*$/, "")).filter(Boolean);
    for (const [id, f] of Object.entries(report.features) as [string, { supported: unknown; configured?: boolean }][]) {
      expect([id, ids(yesLine).includes(id)]).toEqual([id, f.supported === true && f.configured !== false]);
    }
  });
});

// The feature probes (src/kernel/features/): each against what real kernels answered (recorded on
// the rig's 4.9, 4.19 and 5.4 and on the 6.18 host: features/recorded.ts), with the version table
// as the oracle for a vanilla kernel; the loader's decisions following the probe, not the version;
// and, on the running kernel, every probe agreeing with the table.
import { afterEach, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { parseAttachSpec } from "../../src/attach-spec.ts";
import { readObject } from "../../src/elf/index.ts";
import { NotSupportedError } from "../../src/errors.ts";
import { probeKernel } from "../../src/kernel/features/report.ts";
import { attachKprobe } from "../../src/kernel/attach/kprobe.ts";
import { attachRawTracepoint } from "../../src/kernel/attach/raw-tracepoint.ts";
import { loadCollection } from "../../src/kernel/collection.ts";
import { FEATURE_IDS, FEATURES, probeFeatures, requireFeature, setFeatureAnswer, type FeatureId } from "../../src/kernel/features/probes.ts";
import { kernelVersion, loadProgram, Program } from "../../src/kernel/program.ts";
import { FEATURE_SINCE, newerThan } from "../../src/since.ts";
import { kernelVersionCode } from "../../src/uapi.ts";
import { canUseKernel, REPO } from "../support.ts";
import { cliText } from "../cli-text.ts";
import { RECORDED, type Recording } from "./features/recorded.ts";
import { replayKernel } from "./features/replay.ts";

/** What a vanilla kernel of this version has, by the table. */
const byTable = (id: FeatureId, versionCode: number) => !newerThan(FEATURE_SINCE[FEATURES[id].since], versionCode);
const recording = (kernel: string): Recording => RECORDED.find((r) => r.kernel.startsWith(kernel))!;

describe("each probe against recorded kernel answers", () => {
  for (const rec of RECORDED) {
    test(`${rec.kernel} (${rec.where}): every probe answers what the table says a vanilla ${rec.kernel} has`, () => {
      let compared = 0;
      for (const id of FEATURE_IDS) {
        const calls = rec.features[id]!.calls;
        const k = replayKernel(calls, rec.versionCode);
        const answer = FEATURES[id].probe?.(k);
        const configured = FEATURES[id].configured?.(k) ?? true;
        expect([id, "unasked", k.unasked()]).toEqual([id, "unasked", 0]); // asked exactly what was recorded
        if (!configured) continue; // built without it (the host's CONFIG_KPROBES off): the version says nothing
        expect([id, answer]).toEqual([id, byTable(id, rec.versionCode)]);
        compared++;
      }
      expect(compared).toBeGreaterThanOrEqual(FEATURE_IDS.length - 2); // the host: no kprobes at all
    });
  }

  test("the old kernels' answers, in words (4.9: names E2BIG, calls/global data/raw tracepoints EINVAL, no BTF_LOAD)", () => {
    const f = recording("4.9").features;
    expect(f.programNames!.calls[0]).toMatchObject({ ok: false, errno: 7 }); // prog_name lies past 4.9's 48-byte attr
    expect(f.expectedAttachType!.calls[0]).toMatchObject({ ok: false, errno: 7 });
    expect(f.bpfToBpfCalls!.calls[0]).toMatchObject({ ok: false, errno: 22 });
    expect(f.globalData!.calls.map((c) => c.ok)).toEqual([true, false]); // the map is created, the program refused
    expect(f.rawTracepoints!.calls[0]).toMatchObject({ progType: 17, ok: false, errno: 22 });
    expect(f.btf!.calls[0]).toMatchObject({ ok: false, errno: 22 }); // no BPF_BTF_LOAD command
    expect(f.bpfLink!.calls[0]).toMatchObject({ errno: 22 });
    expect(f.kretprobeMaxactive!.calls[0]!.log).toContain("p|r[:"); // 4.9's README: no maxactive in the syntax
  });

  test("4.19 loads BTF but not its FUNC, VAR or later kinds; 5.4 has FUNC and DATASEC but not global FUNC", () => {
    const f19 = recording("4.19").features;
    expect(f19.btf!.calls[0]!.ok).toBe(true);
    expect(f19.btfFunc!.calls[0]).toMatchObject({ ok: false, errno: 22, log: "[2] Invalid kind:13" });
    expect(f19.btfDatasec!.calls[0]!.log).toBe("[2] Invalid kind:14");
    const f54 = recording("5.4").features;
    expect([f54.btfFunc!.calls[0]!.ok, f54.btfDatasec!.calls[0]!.ok]).toEqual([true, true]);
    expect(f54.btfFuncGlobal!.calls[0]!.log).toBe("[3] FUNC f type_id=2 vlen != 0");
  });

  test("log_true_size: only 6.4+ writes it back; older kernels take the whole attr (zero tail) and leave it 0", () => {
    for (const kernel of ["4.9", "4.19", "5.4"]) expect(recording(kernel).features.logTrueSize!.calls[0]).toMatchObject({ ok: true, logTrueSize: 0 });
    expect(recording("6.18").features.logTrueSize!.calls[0]!.logTrueSize).toBeGreaterThan(0);
  });

  test("the verifier log cap: 4.9 and 4.19 refuse log_size UINT_MAX >> 2 (EINVAL), 5.4 takes it", () => {
    expect(recording("4.9").features.bigVerifierLog!.calls[0]).toMatchObject({ ok: false, errno: 22 });
    expect(recording("4.19").features.bigVerifierLog!.calls[0]).toMatchObject({ ok: false, errno: 22 });
    expect(recording("5.4").features.bigVerifierLog!.calls[0]!.ok).toBe(true);
  });

  test("a backported feature is used: a 4.18 kernel whose probes say yes (RHEL 8) is not refused", () => {
    const rhel8 = kernelVersionCode(4, 18, 0);
    const f = recording("5.4").features;
    for (const id of ["globalData", "btfFunc", "btfDatasec"] as const) {
      expect(newerThan(FEATURE_SINCE[FEATURES[id].since], rhel8)).toBe(true); // the old gate would have refused
      expect(() => requireFeature(id, id, undefined, replayKernel(f[id]!.calls, rhel8))).not.toThrow();
    }
    expect(() => requireFeature("globalData", "global data", undefined, replayKernel(recording("4.19").features.globalData!.calls, rhel8))).toThrow("requires Linux >= 5.2");
  });

  test("maxactive: a README that documents no kprobe_events syntax leaves the table to answer", () => {
    const silent = [{ call: "readTracefsFile" as const, kind: "README", ok: true, errno: 0, log: "" }];
    expect(FEATURES.kretprobeMaxactive.probe!(replayKernel(silent, kernelVersionCode(4, 11, 0)))).toBe(false);
    expect(FEATURES.kretprobeMaxactive.probe!(replayKernel(silent, kernelVersionCode(4, 12, 0)))).toBe(true);
  });

  test("a recording only answers the question it was made for", () => {
    const k = replayKernel(recording("5.4").features.btf!.calls, 0);
    expect(() => FEATURES.programNames.probe!(k)).toThrow(/probe asked progLoad/);
  });
});

describe("the loader's decisions follow the probe", () => {
  afterEach(() => {
    for (const id of FEATURE_IDS) setFeatureAnswer(id, undefined);
  });
  const fakeProgram = () => new Program(-1, "p", "kprobe", kernelVersion(), "");

  test("kretprobe maxactive is refused before kprobe_events is written when the probe says no", () => {
    setFeatureAnswer("kretprobeMaxactive", false);
    expect(() => attachKprobe(fakeProgram(), parseAttachSpec("kretprobe:do_sys_open") as never, { maxactive: 5, api: "tracefs" })).toThrow(
      new NotSupportedError("kretprobe maxactive", "4.12", "leave out maxactive"),
    );
    expect(cliText(() => attachKprobe(fakeProgram(), parseAttachSpec("kretprobe:do_sys_open") as never, { maxactive: 5, api: "tracefs" }))).toBe(
      "kretprobe maxactive is not supported by this kernel (requires Linux >= 4.12): leave out --maxactive",
    );
  });

  describe.skipIf(!canUseKernel)("on the running kernel", () => {
    const FIX = `${REPO}/test/fixtures`;
    test("global data is refused naming 5.2 when the probe says no, whatever the version", async () => {
      setFeatureAnswer("globalData", false);
      const obj = await readObject(readFileSync(`${FIX}/globals.o`), "globals.o");
      expect(() => loadCollection(obj, { type: "tracepoint" }).close()).toThrow(/global data \(\.data\/\.rodata\/\.bss\) is not supported by this kernel \(requires Linux >= 5\.2\): program .* uses .*a writable variable/);
    });

    test("BPF-to-BPF calls are refused naming 4.16 when the probe says no", async () => {
      setFeatureAnswer("bpfToBpfCalls", false);
      const obj = await readObject(readFileSync(`${FIX}/calls.o`), "calls.o");
      expect(() => loadCollection(obj, { select: (p) => p.section === "kprobe/sys_getpid" }).close()).toThrow(/BPF-to-BPF calls \(program '\w+'\) is not supported by this kernel \(requires Linux >= 4\.16\)/);
    });

    test("bpfload probe's memory accounting line follows the memcg probe, not the version", () => {
      expect(probeKernel({ helperTypes: [] }).probes.memlock).toStartWith("memcg accounting (5.11+)");
      setFeatureAnswer("memcgAccounting", false);
      expect(probeKernel({ helperTypes: [] }).probes.memlock).toStartWith("charged to RLIMIT_MEMLOCK");
    });

    test("a failed raw tracepoint attach says 'not supported' only when the probe says no", () => {
      const prog = loadProgram({ name: "rtp", type: "raw_tracepoint", insns: new Uint8Array([0xb7, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0]) });
      try {
        const spec = parseAttachSpec("raw_tracepoint:no_such_tracepoint_xyz") as never;
        expect(() => attachRawTracepoint(prog, spec)).toThrow(/unknown tracepoint 'no_such_tracepoint_xyz'/);
        setFeatureAnswer("rawTracepoints", false);
        expect(() => attachRawTracepoint(prog, spec)).toThrow("raw tracepoints is not supported by this kernel (requires Linux >= 4.17)");
      } finally {
        prog.close();
      }
    });
  });
});

describe.skipIf(!canUseKernel)("probe/table agreement on the running kernel", () => {
  test("every probe's answer is the table's for this (vanilla) kernel's version, unless it was built without it", () => {
    const code = kernelVersion().code;
    const features = probeFeatures();
    const disagree = Object.entries(features).filter(([id, f]) => f.configured !== false && f.supported !== byTable(id as FeatureId, code));
    expect(disagree).toEqual([]);
  });
});

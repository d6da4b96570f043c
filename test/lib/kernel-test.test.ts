// bpfload/test in use, each in a subprocess as a user's `bun test` would run it: kernelTest skips
// unprivileged (setpriv to nobody) with the reason, fails when a feature probe lies, and the leak
// check fails tests that leave an fd, a pin or a probe event behind.
import { describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { kernelTestVerdict, setFeatureAnswer } from "../../src/test.ts";
import { canUseKernel, kernelSkipReason, REPO } from "../support.ts";

const BUN = process.execPath;

async function runCase(name: string, opts: { asNobody?: boolean; env?: Record<string, string> } = {}) {
  const cmd = [BUN, "test", `./test/lib/cases/${name}.case.ts`];
  const argv = opts.asNobody ? ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", ...cmd] : cmd;
  const p = Bun.spawn(argv, { cwd: REPO, stdout: "pipe", stderr: "pipe", env: { ...process.env, HOME: "/tmp", ...opts.env } });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  return { code, text: out + err };
}

const isRoot = process.geteuid?.() === 0;

describe.skipIf(!isRoot || !existsSync("/usr/bin/setpriv"))("kernelTest unprivileged (needs root to drop to nobody with setpriv)", () => {
  test("every kernel test is skipped with the reason, none fails", async () => {
    const r = await runCase("kernel-test", { asNobody: true });
    expect(r.text).toContain("makes a map (skipped: not root (euid 65534)");
    expect(r.text).toContain("uses bpf_link (skipped: not root");
    expect(r.text).toMatch(/\b0 pass/);
    expect(r.text).toMatch(/\b3 skip/);
    expect(r.text).toMatch(/\b0 fail/);
    expect(r.code).toBe(0);
  }, 30_000);
});

describe.skipIf(!canUseKernel)(`kernelTest on this kernel${kernelSkipReason ? ` (${kernelSkipReason})` : ""}`, () => {
  test("runs what this kernel has; skips a future minKernel with the reason", async () => {
    const r = await runCase("kernel-test");
    expect(r.text).toContain("(pass) makes a map");
    expect(r.text).toContain("(pass) uses bpf_link");
    expect(r.text).toMatch(/needs a future kernel \(skipped: needs Linux >= 99\.0, this is \d+\.\d+/);
    expect(r.code).toBe(0);
  }, 30_000);

  test("a lying feature probe (bpf_link reported missing on a kernel >= 5.7) FAILS the test instead of skipping it", async () => {
    const r = await runCase("kernel-test", { env: { BPFLOAD_CASE_LIE: "1" } });
    expect(r.text).toContain("(fail) uses bpf_link");
    expect(r.text).toMatch(/the kernel probe says 'bpfLink' \(bpf_link\) is missing, but Linux \S+ should have it \(since 5\.7\)/);
    expect(r.text).toContain("(pass) makes a map");
    expect(r.code).not.toBe(0);
  }, 30_000);

  test("the verdict without a subprocess: a missing feature newer than the kernel skips", () => {
    setFeatureAnswer("bpfLink", false);
    try {
      expect(kernelTestVerdict({ feature: "bpfLink" })).toEqual({ fail: expect.stringContaining("should have it (since 5.7)") });
    } finally {
      setFeatureAnswer("bpfLink", undefined);
    }
    expect(kernelTestVerdict({ feature: "bpfLink" })).toEqual({ run: true });
  });

  test("the leak check fails the tests that leave an fd, a pin or a probe event behind, passes the clean one", async () => {
    const r = await runCase("leak");
    expect(r.text).toMatch(/the test left 1 resource behind: fd \d+ \(anon_inode:bpf-map\)/);
    expect(r.text).toMatch(/the test left 1 resource behind: pin \/sys\/fs\/bpf\/bpfload-leakcase-\d+\/left/);
    expect(r.text).toMatch(/fd \d+ \(anon_inode:\[perf_event\]\), probe event bpfload\/bpfload2_\w+/);
    expect(r.text).toContain("(pass) cleans up");
    expect(r.text).toMatch(/\b1 pass/);
    expect(r.text).toMatch(/\b3 fail/);
    // the probe event the leaking test left, the leak check removed; the pin, the case's afterAll
    const events = require("node:fs").readFileSync("/sys/kernel/tracing/uprobe_events", "utf8") as string;
    expect(events).not.toMatch(/bpfload.*off_1000/);
    expect(require("node:fs").readdirSync("/sys/fs/bpf").filter((n: string) => n.startsWith("bpfload-leakcase-"))).toEqual([]);
  }, 30_000);
});

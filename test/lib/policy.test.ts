// No hidden process-wide policy: loading and attaching through the library installs no signal
// handler and leaves RLIMIT_MEMLOCK alone; setup() does both when asked; a missing tracefs is
// an error naming setup({ mounts: true }), not a mount behind the caller's back.
import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { canUseKernel, kernelSkipReason, REPO } from "../support.ts";

async function run(argv: string[]) {
  const p = Bun.spawn(argv, { cwd: REPO, stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  if (code !== 0) throw new Error(`${argv.join(" ")}: exit ${code}: ${err}`);
  return JSON.parse(out.trim().split("\n").pop()!);
}

describe.skipIf(!canUseKernel)(`process policy${kernelSkipReason ? ` (${kernelSkipReason})` : ""}`, () => {
  test("load + attach change nothing process-wide; setup({ memlock, signals }) does", async () => {
    // a small memlock limit, as on older distributions: the library must leave it as it is
    const hard = /^Max locked memory\s+\S+\s+(\S+)/m.exec(readFileSync("/proc/self/limits", "utf8"))![1]!;
    const r = await run(["prlimit", `--memlock=65536:${hard}`, process.execPath, "test/lib/cases/policy.case.ts"]);
    expect(r.memlockBefore).toBe("65536");
    expect(r.listenersWhileAttached).toBe("0,0,0");
    expect(r.memlockAfterLoad).toBe("65536");
    expect(r.listenersAfterSetup).toBe("1,1,1");
    expect(r.memlockAfterSetup).toBe(hard); // raised: to the hard limit without CAP_SYS_RESOURCE
  }, 30_000);

  test.skipIf(!existsSync("/usr/bin/unshare"))("tracefs missing: a SystemError naming setup({ mounts: true }), nothing mounted", async () => {
    const script = `umount /sys/kernel/tracing 2>/dev/null; umount /sys/kernel/debug 2>/dev/null; exec ${process.execPath} test/lib/cases/policy.case.ts tracefs`;
    const r = await run(["unshare", "-m", "--propagation", "private", "sh", "-c", script]);
    expect(r.tracefs).toContain("tracefs is not mounted: mount it (mount -t tracefs nodev /sys/kernel/tracing), or let bpfload mount it: setup({ mounts: true })");
  }, 30_000);
});

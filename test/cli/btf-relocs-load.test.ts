// CO-RE loads on this kernel through the CLI: core_tracing.o relocated against /sys/kernel/btf/vmlinux
// prints each exec's pid and real parent's tgid, compared with what the exec'ing shell itself says
// ($$ and $PPID: the independent oracle); --btf FILE reaches the loader (the relocated offsets are
// that file's, as the rig's README lists them); BPFLOAD_BTF is read only for an object with CO-RE.
// Real kernel: run under the shared lock (flock /tmp/bpfload-kernel.lock), as root.
import { describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { kernelSkipReason, MAIN, REPO, tracefsDir } from "../support.ts";

const OBJ = `${REPO}/test/fixtures/core_tracing.o`;
const VM = `${REPO}/../shared/vm-kernels`;
const skip = kernelSkipReason ?? (!existsSync("/sys/kernel/btf/vmlinux") ? "no /sys/kernel/btf/vmlinux" : !tracefsDir() ? "no tracefs" : undefined);
if (skip) console.warn(`[skip] CO-RE loads through the CLI: ${skip}`);

function bpfload(args: string[], env: Record<string, string> = {}) {
  const p = Bun.spawnSync([process.execPath, MAIN, ...args], { env: { ...process.env, BPFLOAD_BTF: "", ...env }, stdout: "pipe", stderr: "pipe", timeout: 30000 });
  return { code: p.exitCode, stdout: p.stdout.toString(), stderr: p.stderr.toString() };
}

describe.skipIf(!!skip)("CO-RE objects load and run on this kernel", () => {
  test("core_exec prints the pid and parent tgid the exec'ing shell reports for itself", async () => {
    const p = Bun.spawn([process.execPath, MAIN, "load", OBJ, "--program", "core_exec", "--duration", "20"], { env: { ...process.env, BPFLOAD_BTF: "" }, stdout: "pipe", stderr: "pipe" });
    const stderr = p.stderr.getReader();
    let err = "";
    while (!err.includes("attached 'core_exec'")) {
      const c = await stderr.read();
      if (c.done) break;
      err += new TextDecoder().decode(c.value);
    }
    expect(err).toContain("attached 'core_exec' to tracepoint:sched:sched_process_exec");
    const own: string[] = [];
    for (let i = 0; i < 3; i++) {
      const sh = Bun.spawnSync(["sh", "-c", 'echo "pid=$$ ppid=$PPID"; exec true']);
      own.push(sh.stdout.toString().trim());
    }
    await Bun.sleep(300);
    p.kill("SIGTERM");
    const out = await new Response(p.stdout).text();
    expect(await p.exited).toBe(0);
    for (const line of own) expect(out).toMatch(new RegExp(`bpfload core ${line}$`, "m"));
  }, 40000);

  test("--btf FILE: the relocations are that file's (4.9: task_struct.pid at 1128, real_parent at 1136)", () => {
    if (!existsSync(`${VM}/btf-4.9.229`)) return console.warn(`[skip] no ${VM}/btf-4.9.229`);
    const r = bpfload(["load", OBJ, "--no-attach", "--verbose", "--btf", `${VM}/btf-4.9.229`]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/struct task_struct\.pid .*in \S+btf-4\.9\.229: 0 -> 1128$/m);
    expect(r.stderr).toMatch(/struct task_struct\.real_parent .*in \S+btf-4\.9\.229: 8 -> 1136$/m);
    const env = bpfload(["load", OBJ, "--no-attach", "--verbose"], { BPFLOAD_BTF: `${VM}/btf-4.9.229` });
    expect(env.code).toBe(0);
    expect(env.stderr).toMatch(/struct task_struct\.pid .*: 0 -> 1128$/m);
  });

  test("BPFLOAD_BTF naming a missing file: refused for a CO-RE object (exit 2, one line), never read for another", () => {
    const bad = "/nonexistent/bpfload-test.btf";
    const core = bpfload(["load", OBJ, "--no-attach"], { BPFLOAD_BTF: bad });
    expect(core.code).toBe(2);
    expect(core.stderr.trim()).toBe(`bpfload: ${bad}: --btf: no such file (ENOENT)`);
    const plain = bpfload(["load", `${REPO}/test/fixtures/xdp_drop.o`, "--no-attach"], { BPFLOAD_BTF: bad }); // no map pinned by name
    expect(plain.stderr).not.toContain(bad);
    expect(plain.code).toBe(0);
  });

  test("load takes one --btf: two are a usage error", () => {
    const r = bpfload(["load", OBJ, "--no-attach", "--btf", "a.btf", "--btf", "b.btf"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--btf is given 2 times: give it once");
  });
});

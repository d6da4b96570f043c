// tp_btf, fentry/fexit and lsm programs on the running kernel: the BTF target resolved at load,
// attached through a bpf_link, observed in trace_pipe, detached on the way out. bpftool is the
// oracle: `bpftool link show` lists the link while bpfload runs, and after it nothing of ours
// stays loaded. Run with the shared kernel lock (flock /tmp/bpfload-kernel.lock).
import { describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { canUseKernel, MAIN, REPO, runCli } from "../support.ts";

const FIX = `${REPO}/test/fixtures`;
const bpftool = Bun.which("bpftool");
const hasVmlinuxBtf = existsSync("/sys/kernel/btf/vmlinux");
const skip = !canUseKernel ? "kernel tests need root" : !hasVmlinuxBtf ? "no /sys/kernel/btf/vmlinux (CONFIG_DEBUG_INFO_BTF)" : !bpftool ? "no bpftool (the oracle)" : undefined;
if (skip) console.warn(`[skip] BTF tracing tests: ${skip}`);

/** Does libbpf (bpftool) load this fixture here? Some kernels refuse trampolines (EPERM: lockdown, a security module). */
function bpftoolLoads(obj: string): string | undefined {
  if (skip) return skip;
  const pin = `/sys/fs/bpf/bpfload_trc_probe_${process.pid}`;
  const r = Bun.spawnSync([bpftool!, "prog", "load", obj, pin]);
  rmSync(pin, { force: true });
  if (r.exitCode === 0) return undefined;
  const why = r.stderr.toString().match(/load failed: ([^\n]+)/)?.[1] ?? `exit ${r.exitCode}`;
  return `this kernel refuses ${obj.split("/").pop()} to libbpf too (bpftool prog load: ${why})`;
}

const fentrySkip = bpftoolLoads(`${FIX}/fentry.o`);
if (fentrySkip && !skip) console.warn(`[skip] fentry/fexit tests: ${fentrySkip}`);
const lsmList = existsSync("/sys/kernel/security/lsm") ? readFileSync("/sys/kernel/security/lsm", "utf8") : "";
const lsmSkip = skip ?? (lsmList.split(",").includes("bpf") ? undefined : `BPF LSM not active (/sys/kernel/security/lsm: ${lsmList.trim() || "absent"})`);
if (lsmSkip && !skip) console.warn(`[skip] lsm test: ${lsmSkip}`);

interface Link {
  id: number;
  type: string;
  prog_id: number;
}
const links = (): Link[] => JSON.parse(Bun.spawnSync([bpftool!, "link", "show", "-j"]).stdout.toString() || "[]");
const progNames = (): string[] => (JSON.parse(Bun.spawnSync([bpftool!, "prog", "show", "-j"]).stdout.toString() || "[]") as { name?: string }[]).map((p) => p.name ?? "");

/** The kernel frees a closed program or link a little later (RCU, a work queue): wait for it. */
async function eventually(gone: () => boolean, ms = 3000): Promise<boolean> {
  const end = Date.now() + ms;
  while (!gone()) {
    if (Date.now() > end) return false;
    await Bun.sleep(50);
  }
  return true;
}

/** Starts the CLI and lets the test wait for its stderr to say something. */
function startCli(args: string[]) {
  const proc = Bun.spawn([process.execPath, MAIN, ...args], { stdout: "pipe", stderr: "pipe", stdin: "ignore", timeout: 30000 });
  let stderr = "";
  let stdout = "";
  const reading = Promise.all([
    (async () => {
      const dec = new TextDecoder();
      for await (const chunk of proc.stderr as unknown as AsyncIterable<Uint8Array>) stderr += dec.decode(chunk);
    })(),
    (async () => {
      const dec = new TextDecoder();
      for await (const chunk of proc.stdout as unknown as AsyncIterable<Uint8Array>) stdout += dec.decode(chunk);
    })(),
  ]);
  return {
    proc,
    stderr: () => stderr,
    stdout: () => stdout,
    async waitFor(re: RegExp, ms = 15000): Promise<RegExpMatchArray> {
      const end = Date.now() + ms;
      for (;;) {
        const m = stderr.match(re);
        if (m) return m;
        if (Date.now() > end || proc.exitCode !== null) throw new Error(`no ${re} in stderr: ${stderr}`);
        await Bun.sleep(20);
      }
    },
    async done() {
      const [code] = await Promise.all([proc.exited, reading]);
      return { stdout, code, stderr };
    },
  };
}

/**
 * Loads `program` of tracing.o, checks its bpf_link while attached (bpftool), runs `trigger` until
 * the marker line came, stops the run with SIGTERM, and checks that neither link nor program remain.
 * (No --count: any exec on the machine — bpftool's own — is a line for an exec tracepoint program.)
 */
async function traceOne(program: string, marker: string, trigger: () => void, extra: string[] = []) {
  const run = startCli(["load", `${FIX}/tracing.o`, "--program", program, "--duration", "25", "--verbose", ...extra]);
  const linkId = Number((await run.waitFor(/bpf_link id (\d+)/))[1]);
  await run.waitFor(/watching trace_pipe/);
  const link = links().find((l) => l.id === linkId);
  expect(link).toBeDefined();
  expect(progNames()).toContain(program);
  const end = Date.now() + 15000;
  while (!run.stdout().includes(marker) && Date.now() < end && run.proc.exitCode === null) {
    trigger();
    await Bun.sleep(100);
  }
  run.proc.kill("SIGTERM");
  const r = await run.done();
  expect(r.stderr).not.toContain("bpfload:");
  expect(r.code).toBe(0);
  expect(r.stderr).toContain("detached (SIGTERM)");
  expect(r.stdout).toContain(marker);
  expect(await eventually(() => !links().some((l) => l.id === linkId))).toBe(true);
  expect(await eventually(() => !progNames().includes(program))).toBe(true);
  return { ...r, link: link! };
}

describe.skipIf(!!skip)("BTF-target programs on the running kernel", () => {
  test("tp_btf/sched_process_exec: attach_btf_id resolved, attached as a bpf_link, a trace line per exec, then gone", async () => {
    const r = await traceOne("on_exec", "bpfload tp_btf exec", () => Bun.spawnSync(["/bin/true"]));
    expect(r.link.type).toBe("raw_tracepoint"); // what bpftool calls a BPF_RAW_TRACEPOINT_OPEN link
    expect(r.stderr).toContain("attached 'on_exec' to tp_btf:sched_process_exec");
  });

  test("SIGTERM while attached: the link goes away with bpfload", async () => {
    const run = startCli(["load", `${FIX}/tracing.o`, "--program", "on_exec", "--verbose"]);
    const linkId = Number((await run.waitFor(/bpf_link id (\d+)/))[1]);
    await run.waitFor(/watching trace_pipe/);
    expect(links().some((l) => l.id === linkId)).toBe(true);
    run.proc.kill("SIGTERM");
    const r = await run.done();
    expect(r.stderr).not.toContain("bpfload:");
    expect(await eventually(() => !links().some((l) => l.id === linkId))).toBe(true);
    expect(await eventually(() => !progNames().includes("on_exec"))).toBe(true);
  });

  test("raw instructions with --attach tp_btf:NAME are loaded against that tracepoint", async () => {
    const dir = mkdtempSync(`${tmpdir()}/bpfload-trc-`);
    try {
      writeFileSync(`${dir}/ret0.bin`, new Uint8Array([0xb7, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0]));
      const r = await runCli(["load", `${dir}/ret0.bin`, "--attach", "tp_btf:sched_switch", "--duration", "0"]);
      expect(r.stderr).toContain("loaded 'ret0' as a tracing program");
      expect(r.stderr).toContain("attached 'ret0' to tp_btf:sched_switch");
      expect(r.code).toBe(0);
      // no target: refused before any load with how to name one, exit 2
      const bare = await runCli(["load", `${dir}/ret0.bin`, "--type", "tracing", "--no-attach"]);
      expect(bare.stderr).toContain("program type tracing needs a BTF target (attach_btf_id): name the kernel function");
      expect(bare.stderr).not.toContain("verifier log");
      expect(bare.code).toBe(2);
      // a function this kernel does not have: one line, the near names, exit 1
      const typo = await runCli(["load", `${dir}/ret0.bin`, "--attach", "fentry:do_sys_opena", "--no-attach"]);
      expect(typo.stderr).toMatch(/^bpfload: no kernel function 'do_sys_opena' in this kernel's BTF .*did you mean .*'do_sys_openat2'/m);
      expect(typo.code).toBe(1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("--attach naming another target than the program was loaded against: refused before attaching, exit 2", async () => {
    const r = await runCli(["load", `${FIX}/tracing.o`, "--program", "on_exec", "--attach", "tp_btf:sched_switch", "--duration", "0"]);
    expect(r.stderr).toContain("bpfload: --attach tp_btf:sched_switch does not fit program 'on_exec': it was loaded against 'btf_trace_sched_process_exec'");
    expect(r.stderr).not.toContain("attached");
    expect(r.code).toBe(2);
    const same = await runCli(["load", `${FIX}/tracing.o`, "--program", "on_exec", "--attach", "tp_btf:sched_process_exec", "--duration", "0"]);
    expect(same.stderr).toContain("attached 'on_exec' to tp_btf:sched_process_exec");
    expect(same.code).toBe(0);
  });

  test.skipIf(!!fentrySkip)("fentry and fexit on do_nanosleep: a line per sleep from each", async () => {
    const sleep = () => Bun.spawnSync(["sleep", "0.05"]);
    await traceOne("enter_nanosleep", "bpfload fentry do_nanosleep", sleep);
    await traceOne("exit_nanosleep", "bpfload fexit do_nanosleep ret=", sleep);
  });

  test.skipIf(!!lsmSkip)("lsm/file_open: a line per open, the open allowed", async () => {
    await traceOne("check_open", "bpfload lsm file_open", () => readFileSync("/etc/hostname"));
  });

  test.skipIf(!fentrySkip)("where the kernel refuses fentry (as it does libbpf), bpfload says EPERM on one line, exit 1, nothing left", async () => {
    const r = await runCli(["load", `${FIX}/fentry.o`, "--no-attach"]);
    expect(r.stderr).toMatch(/^bpfload: load program 'on_nanosleep': BPF_PROG_LOAD: EPERM/m);
    expect(r.stderr).not.toContain("needs a BTF target");
    // not "denied BPF to root" (this kernel loads the other programs): the trampoline is what it refuses
    expect(r.stderr.split("\n")[0]).toContain("refuses fentry/fexit/fmod_ret/lsm ones, which run through BPF trampolines");
    expect(r.code).toBe(1);
    expect(await eventually(() => !progNames().includes("on_nanosleep"))).toBe(true);
  });
});

describe("BTF attach specs (pure)", () => {
  const { parseAttachSpec, formatAttachSpec, progTypeFor, btfLoadTarget } = require("../../src/attach-spec.ts") as typeof import("../../src/attach-spec.ts");
  const { sectionToProgram } = require("../../src/elf/sections.ts") as typeof import("../../src/elf/sections.ts");
  const cases: [string, string, string, string][] = [
    ["tp_btf:sched_switch", "tracing", "BPF_TRACE_RAW_TP", "btf_trace_sched_switch"],
    ["fentry:do_unlinkat", "tracing", "BPF_TRACE_FENTRY", "do_unlinkat"],
    ["fexit:do_unlinkat", "tracing", "BPF_TRACE_FEXIT", "do_unlinkat"],
    ["fmod_ret:security_file_open", "tracing", "BPF_MODIFY_RETURN", "security_file_open"],
    ["lsm:file_open", "lsm", "BPF_LSM_MAC", "bpf_lsm_file_open"],
    ["iter:task", "tracing", "BPF_TRACE_ITER", "bpf_iter_task"],
  ];
  for (const [text, progType, attachType, btfTarget] of cases) {
    test(`${text}: program type ${progType}, ${attachType} against '${btfTarget}', and back to text`, () => {
      const spec = parseAttachSpec(text);
      expect(formatAttachSpec(spec)).toBe(text);
      expect(progTypeFor(spec)).toBe(progType as never);
      expect(btfLoadTarget(spec as never)).toEqual({ attachType: attachType as never, btfTarget });
      // the section of the same name gives the same attach point and BTF target
      const [kind, name] = text.split(":");
      const sp = sectionToProgram(`${kind}/${name}`)!;
      expect(sp.attach).toBe(text);
      expect(sp.btfTarget).toBe(btfTarget);
      expect(sp.expectedAttachTypeName).toBe(attachType as never);
    });
  }
  test("bad BTF attach points are usage errors naming the expected form", () => {
    expect(() => parseAttachSpec("fentry:")).toThrow(/give the kernel function \(fentry:do_unlinkat\)/);
    expect(() => parseAttachSpec("iter:task/file")).toThrow(/give the iterator target/);
    expect(() => parseAttachSpec("lsm:a.b")).toThrow(/give the LSM hook/);
  });
  test("sleepable sections attach the same way", () => {
    expect(sectionToProgram("fentry.s/do_unlinkat")!.attach).toBe("fentry:do_unlinkat");
    expect(sectionToProgram("lsm.s/file_open")!.attach).toBe("lsm:file_open");
  });
});

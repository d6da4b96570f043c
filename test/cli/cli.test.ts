// The CLI as a user runs it: exit codes, one-line errors, output, and nothing left in the kernel.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { canUseKernel, kernelSkipReason, REPO, runCli, SEED, tracefsDir } from "../support.ts";

const dir = mkdtempSync(`${tmpdir()}/bpfload-cli-`);
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, bytes: Uint8Array | string) => {
  writeFileSync(`${dir}/${name}`, bytes);
  return `${dir}/${name}`;
};
const seed = file("test_bpf", SEED);

/** No probe event, no bpfload group: what every run must leave behind. */
function leftovers(): string[] {
  const t = tracefsDir();
  if (!t) return [];
  const events = readdirSync(`${t}/events`).filter((g) => g.startsWith("bpfload"));
  const probes = ["kprobe_events", "uprobe_events"]
    .filter((f) => existsSync(`${t}/${f}`))
    .flatMap((f) => readFileSync(`${t}/${f}`, "utf8").split("\n").filter((l) => l.includes("bpfload")));
  return [...events, ...probes];
}

describe("usage and input errors (no kernel needed)", () => {
  const cases: [string, string[], RegExp][] = [
    ["missing file", ["load", `${dir}/nope`, "--type", "kprobe"], /nope: no such file/],
    ["empty file", ["load", file("empty", ""), "--type", "kprobe"], /the file is empty/],
    ["not a multiple of 8", ["load", file("odd", new Uint8Array(13)), "--type", "kprobe"], /13 bytes is not a multiple of 8/],
    ["a directory", ["load", dir, "--type", "kprobe"], /is a directory/],
    ["no type", ["load", seed], /cannot tell the program type.*--type/],
    ["bad type", ["load", seed, "--type", "nonsense"], /unknown program type 'nonsense'/],
    ["bad attach", ["load", seed, "--attach", "kprobe"], /bad attach point 'kprobe'.*expected kprobe:FUNC/],
    ["bad kern-version", ["load", seed, "--type", "kprobe", "--kern-version", "four"], /bad --kern-version 'four'/],
    ["bad duration", ["load", seed, "--type", "kprobe", "--duration", "soon"], /bad --duration 'soon'/],
    ["unknown option", ["load", seed, "--frobnicate"], /Unknown option `--frobnicate`/],
    ["unknown command", ["frob"], /unknown command 'frob'/],
    ["missing argument", ["load"], /missing required args/],
  ];
  for (const [name, args, message] of cases) {
    test(`${name}: one line, exit code 2`, async () => {
      const r = await runCli(args);
      expect(r.stderr).toMatch(message);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      expect(r.stderr).not.toContain("    at ");
      expect(r.code).toBe(2);
    });
  }

  test("--json errors are JSON on stdout", async () => {
    const r = await runCli(["load", `${dir}/nope`, "--type", "kprobe", "--json"]);
    expect(JSON.parse(r.stdout)).toEqual({ error: { kind: "input", message: `${dir}/nope: no such file (ENOENT)`, exitCode: 2 } });
    expect(r.code).toBe(2);
  });

  test("--version and --help", async () => {
    const v = await runCli(["--version"]);
    expect(v.stdout.trim()).toBe(`bpfload ${JSON.parse(readFileSync(`${REPO}/package.json`, "utf8")).version}`);
    for (const cmd of ["load", "hello"]) {
      const h = await runCli([cmd, "--help"]);
      expect(h.code).toBe(0);
      expect(h.stdout).toContain("Examples:");
    }
  });
});

describe.skipIf(!canUseKernel)("on the running kernel", () => {
  beforeAll(() => expect(leftovers()).toEqual([]));
  afterAll(() => expect(leftovers()).toEqual([]));

  test("a verifier rejection prints the whole log and exits 1", async () => {
    const r = await runCli(["load", file("noexit", new Uint8Array([0xb7, 0, 0, 0, 0, 0, 0, 0])), "--type", "tracepoint"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/BPF_PROG_LOAD: EINVAL \(invalid argument\): the verifier rejected the program/);
    expect(r.stderr).toContain("verifier log:\nlast insn is not an exit or jmp");
    // the one-line message ends with the log's last meaningful line, like cilium/ebpf's
    expect(r.stderr.split("\n")[0]).toMatch(/the verifier rejected the program: last insn is not an exit or jmp \(\d+ lines? omitted\)$/);
  });

  test("the seed's raw bytes on the clone tracepoint print Hello World! and stop at --count", async () => {
    const trigger = setInterval(() => Bun.spawn(["/bin/sh", "-c", "true & wait"]), 200);
    try {
      const r = await runCli(["load", seed, "--attach", "tracepoint:syscalls:sys_enter_clone", "--count", "2", "--duration", "10"]);
      expect(r.code).toBe(0);
      const lines = r.stdout.trim().split("\n");
      expect(lines).toHaveLength(2);
      for (const l of lines) expect(l).toContain("Hello World!");
      expect(r.stderr).toContain("attached 'test_bpf' to tracepoint:syscalls:sys_enter_clone");
    } finally {
      clearInterval(trigger);
    }
    expect(leftovers()).toEqual([]);
  });

  test("--json gives one object per line", async () => {
    const trigger = setInterval(() => Bun.spawn(["/bin/sh", "-c", "true & wait"]), 200);
    try {
      const r = await runCli(["load", seed, "--attach", "tracepoint:syscalls:sys_enter_clone", "--count", "1", "--json"]);
      const objs = r.stdout.trim().split("\n").map((l) => JSON.parse(l));
      expect(objs.map((o) => o.type)).toEqual(["loaded", "attached", "trace", "exit"]);
      expect(objs[0]).toMatchObject({ program: "test_bpf", progType: "tracepoint", insns: 13 });
      expect(typeof objs[0].kernVersionSource).toBe("string");
      expect(objs[2].message).toBe("Hello World!");
    } finally {
      clearInterval(trigger);
    }
  });

  test("an unknown tracepoint is one line, exit 1, nothing left", async () => {
    const r = await runCli(["load", seed, "--attach", "tracepoint:nosuch:event"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/unknown tracepoint nosuch:event/);
    expect(leftovers()).toEqual([]);
  });

  test("a kprobe where the kernel has none (or an unknown function) is one line, exit 1, nothing left", async () => {
    const r = await runCli(["load", seed, "--attach", "kprobe:no_such_function_bpfload"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/no kprobes|unknown kernel function 'no_such_function_bpfload'/);
    expect(leftovers()).toEqual([]);
  });

  test("a reader that goes away (| head -1) ends the run quietly, with cleanup", async () => {
    const trigger = setInterval(() => Bun.spawn(["/bin/sh", "-c", "true & wait"]), 100);
    try {
      const proc = Bun.spawn(["sh", "-c", `${process.execPath} ${REPO}/src/main.ts load ${seed} --attach tracepoint:syscalls:sys_enter_clone --duration 20 2>${dir}/epipe.err | head -1`], { stdout: "pipe" });
      const first = await new Response(proc.stdout).text();
      expect(await proc.exited).toBe(0);
      expect(first).toContain("Hello World!");
      const err = readFileSync(`${dir}/epipe.err`, "utf8");
      expect(err).not.toContain("EPIPE");
      expect(err).toContain("detached (aborted)");
    } finally {
      clearInterval(trigger);
    }
    expect(leftovers()).toEqual([]);
  });

  test("SIGTERM detaches and cleans up", async () => {
    const proc = Bun.spawn([process.execPath, `${REPO}/src/main.ts`, "load", seed, "--attach", "tracepoint:syscalls:sys_enter_clone"], { stdout: "pipe", stderr: "pipe" });
    await Bun.sleep(1500);
    proc.kill("SIGTERM");
    const code = await proc.exited;
    const err = await new Response(proc.stderr).text();
    expect(code).toBe(0);
    expect(err).toContain("detached (SIGTERM)");
    expect(leftovers()).toEqual([]);
  });

  const setpriv = Bun.which("setpriv");
  test.skipIf(!setpriv)("as an unprivileged user: one line saying to run as root, exit 1", async () => {
    const asNobody = (args: string[]) => {
      const proc = Bun.spawnSync([setpriv!, "--reuid=65534", "--regid=65534", "--clear-groups", process.execPath, `${REPO}/src/main.ts`, ...args], {
        env: { ...process.env, HOME: "/tmp" },
        stdout: "pipe",
        stderr: "pipe",
      });
      return { code: proc.exitCode, stderr: proc.stderr.toString() };
    };
    const copy = `${tmpdir()}/bpfload-nobody-seed`;
    writeFileSync(copy, SEED, { mode: 0o644 });
    const load = asNobody(["load", copy, "--type", "tracepoint", "--no-attach"]);
    expect(load.stderr).toMatch(/BPF_PROG_LOAD: EPERM \(operation not permitted\): run as root/);
    expect(load.code).toBe(1);
    const hello = asNobody(["hello"]);
    expect(hello.stderr).toMatch(/run as root/);
    expect(hello.stderr.trim().split("\n")).toHaveLength(1);
    expect(hello.code).toBe(1);
  });

  test("hello prints Hello World! and stops by itself", async () => {
    const r = await runCli(["hello", "--duration", "2"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("Hello World!");
    expect(r.stderr).toMatch(/"Hello World!" lines/);
  });
});

if (!canUseKernel) test.skip(`kernel CLI tests: ${kernelSkipReason}`, () => {});

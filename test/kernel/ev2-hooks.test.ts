// sk_lookup:NETNS (5.9) and netfilter:FAMILY:HOOK[:PRIO] (6.4) hooks, inside a network namespace
// this test creates (UDP datagrams to its 127.0.0.1), with the programs' own counters and the
// datagrams sent as the oracle, nothing left after the run (bpftool prog show); test runs of
// syscall (context in and out), sk_lookup (bpftool prog run as the oracle) and flow_dissector
// programs, and the refusals that name what the type takes. The attach-spec syntax is pure.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { formatAttachSpec, parseAttachSpec } from "../../src/attach-spec.ts";
import { InvalidArgumentError } from "../../src/errors.ts";
import { canUseKernel, MAIN, REPO, runCli } from "../support.ts";

const ip = Bun.which("ip") ?? (existsSync("/usr/sbin/ip") ? "/usr/sbin/ip" : undefined);
const bpftool = Bun.which("bpftool") ?? (existsSync("/usr/sbin/bpftool") ? "/usr/sbin/bpftool" : undefined);
const OBJ = `${REPO}/test/fixtures/ev2_hooks.o`;
const PEER = `${REPO}/test/kernel/udp-peer.ts`;
const NS = `bl${process.pid % 100000}hk`;
const skip = !canUseKernel ? "kernel tests need root" : !ip || !bpftool ? "needs ip and bpftool (iproute2, bpftool)" : undefined;
if (skip) console.warn(`[skip] ev2 hooks: ${skip}`);
const dir = mkdtempSync(`${tmpdir()}/bpfload-ev2-hooks-`);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("attach points: sk_lookup and netfilter (pure)", () => {
  test("parse and format round trip", () => {
    expect(parseAttachSpec("sk_lookup")).toEqual({ kind: "sk_lookup" });
    expect(parseAttachSpec("sk_lookup:blue")).toEqual({ kind: "sk_lookup", netns: "/run/netns/blue" });
    expect(parseAttachSpec("sk_lookup:/proc/1/ns/net")).toEqual({ kind: "sk_lookup", netns: "/proc/1/ns/net" });
    expect(parseAttachSpec("netfilter:ipv4:local_in")).toEqual({ kind: "netfilter", family: "ipv4", hook: "local_in", priority: 0 });
    expect(parseAttachSpec("netfilter:ipv6:prerouting:-150")).toEqual({ kind: "netfilter", family: "ipv6", hook: "prerouting", priority: -150 });
    for (const s of ["sk_lookup", "sk_lookup:blue", "sk_lookup:/proc/1/ns/net", "netfilter:ipv4:local_in", "netfilter:ipv6:postrouting:42"]) expect(formatAttachSpec(parseAttachSpec(s))).toBe(s);
  });
  test("bad ones are usage errors that say what is expected", () => {
    const bad: [string, string][] = [
      ["netfilter", "family"],
      ["netfilter:arp:local_in", "family"],
      ["netfilter:ipv4:input", "local_in"],
      ["netfilter:ipv4:local_in:x", "integer"],
      ["netfilter:ipv4:local_in:2147483647", "priority"],
      ["netfilter:ipv4:local_in:-2147483648", "priority"],
      ["sk_lookup:../x", "network namespace"],
      ["sk_lookup:a b", "network namespace"],
    ];
    for (const [spec, says] of bad) {
      let err: unknown;
      try {
        parseAttachSpec(spec);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(InvalidArgumentError);
      expect(`${spec}: ${(err as Error).message}`).toContain(says);
    }
  });
});

const sh = (argv: string[], check = true) => {
  const r = Bun.spawnSync(argv, { stdout: "pipe", stderr: "pipe" });
  if (check && r.exitCode !== 0) throw new Error(`${argv.join(" ")}: ${r.stderr}`);
  return r.stdout.toString();
};
const inNs = (argv: string[]) => [ip!, "netns", "exec", NS, ...argv];
const progNames = () => (JSON.parse(sh([bpftool!, "-j", "prog", "show"])) as { name?: string }[]).map((p) => p.name);
/** The kernel frees a program after an RCU grace period once its last link closed: wait for it, up to 3 s. */
async function gone(name: string): Promise<boolean> {
  for (let i = 0; i < 30; i++) {
    if (!progNames().includes(name)) return true;
    await Bun.sleep(100);
  }
  return false;
}

/** Runs bpfload (in the namespace when `inside`), sends `n` datagrams there once it watches; its JSON lines. */
async function hookRun(args: string[], n: number, inside: boolean): Promise<{ code: number; objs: Record<string, any>[]; stderr: string }> {
  const cmd = [process.execPath, MAIN, "load", OBJ, ...args, "--duration", "3", "--json"];
  const p = Bun.spawn(inside ? inNs(cmd) : cmd, { stdout: "pipe", stderr: "pipe" });
  const stdout = new Response(p.stdout).text();
  const stderr = new Response(p.stderr).text();
  await Bun.sleep(1500);
  sh(inNs([process.execPath, PEER, "send", "127.0.0.1", "7777", String(n)]));
  const code = await p.exited;
  return { code, objs: (await stdout).trim().split("\n").filter(Boolean).map((l) => JSON.parse(l)), stderr: await stderr };
}
const runsOf = (objs: Record<string, any>[], key: number) => Number(objs.find((o) => o.type === "map" && o.name === "runs")?.entries.find((e: any) => e.keyInt === key)?.valueInts[0] ?? 0);

describe.skipIf(!!skip)("hooks in a network namespace", () => {
  beforeAll(() => {
    sh([ip!, "netns", "add", NS]);
    sh(inNs([ip!, "link", "set", "lo", "up"]));
  });
  afterAll(() => {
    sh([ip!, "netns", "del", NS], false);
  });

  test("netfilter:ipv4:local_in counts the datagrams to 127.0.0.1 and lets them through; nothing stays", async () => {
    const r = await hookRun(["--program", "nf_accept", "--attach", "netfilter:ipv4:local_in:-7"], 10, true);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.objs.find((o) => o.type === "attached")?.target).toContain("netfilter:ipv4:local_in:-7");
    expect(runsOf(r.objs, 1)).toBeGreaterThanOrEqual(10);
    expect(await gone("nf_accept")).toBe(true);
  }, 20000);

  test("sk_lookup:NAME attaches from outside to the named namespace: each datagram's socket lookup runs it", async () => {
    const r = await hookRun(["--program", "lookup_pass", "--attach", `sk_lookup:${NS}`], 10, false);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(runsOf(r.objs, 0)).toBeGreaterThanOrEqual(10);
    expect(await gone("lookup_pass")).toBe(true);
  }, 20000);

  test("sk_lookup on a file that is no namespace, or a missing name: one line, nothing attached", async () => {
    const a = await runCli(["load", OBJ, "--program", "lookup_pass", "--attach", `sk_lookup:${OBJ}`, "--duration", "0"]);
    expect(a.code).toBe(1);
    expect(a.stderr).toContain("is not a namespace file");
    const b = await runCli(["load", OBJ, "--program", "lookup_pass", "--attach", "sk_lookup:bpfload-no-such-ns", "--duration", "0"]);
    expect(b.code).not.toBe(0);
    expect(b.stderr).toContain("ENOENT");
    expect(b.stderr).toContain("ip netns list");
  });
});

describe.skipIf(!!skip)("test runs of context-only and dissector programs", () => {
  test("syscall: the context goes in and comes back changed (3 + 4 written into the third u32), retval 2 * 3", async () => {
    const r = await runCli(["run", OBJ, "--program", "add_ctx", "--ctx", "03000000 04000000 00000000", "--json"]);
    expect(r.stderr).toBe("");
    const j = JSON.parse(r.stdout);
    expect(j.retval).toBe(6);
    expect(j.ctxOut).toBe("03 00 00 00 04 00 00 00 07 00 00 00");
  });

  test("sk_lookup: a struct bpf_sk_lookup context, retval as bpftool prog run gives it", async () => {
    // family AF_INET, TCP, 127.0.0.1:1234 -> 127.0.0.1:80
    const ctx = "0000000000000000 02000000 06000000 7f000001 00000000000000000000000000000000 04d20000 7f000001 00000000000000000000000000000000 50000000 00000000 00000000";
    const bytes = Buffer.from(ctx.replace(/ /g, ""), "hex");
    writeFileSync(`${dir}/ctx`, bytes);
    const pin = `/sys/fs/bpf/bpfload-test-ev2-${process.pid}`;
    try {
      // (bpftool's libbpf cannot open this object: it does not know the netfilter section; bpfload pins it)
      sh([process.execPath, MAIN, "load", OBJ, "--program", "lookup_pass", "--no-attach", "--pin", pin]);
      const oracle = sh([bpftool!, "prog", "run", "pinned", `${pin}/lookup_pass`, "ctx_in", `${dir}/ctx`, "ctx_out", `${dir}/ctx_out`, "repeat", "1"]);
      const want = Number(/[Rr]eturn value:\s*(\d+)/.exec(oracle)![1]);
      const r = await runCli(["run", OBJ, "--program", "lookup_pass", "--ctx", ctx, "--json"]);
      expect(r.stderr).toBe("");
      expect(JSON.parse(r.stdout).retval).toBe(want);
    } finally {
      rmSync(pin, { recursive: true, force: true });
    }
  });

  test("flow_dissector: the kernel's flow keys are printed as such, not as a packet", async () => {
    const pkt = "ffffffffffff0200000000010800 4500001c000000004011 0000 0a0000010a000002 04d2000900080000";
    const r = await runCli(["run", OBJ, "--program", "dissect_ok", "--data", pkt]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^flow_keys \d+ bytes: /m);
    expect(r.stdout).not.toContain("eth ");
  });

  test("refusals name what the type takes (exit 2, before running)", async () => {
    const a = await runCli(["run", OBJ, "--program", "add_ctx", "--data", "ffffffffffff0200000000010800"]);
    expect([a.code, a.stderr]).toEqual([2, expect.stringContaining("takes no packet")]);
    const b = await runCli(["run", OBJ, "--program", "lookup_pass"]);
    expect([b.code, b.stderr]).toEqual([2, expect.stringContaining("needs --ctx: a struct bpf_sk_lookup")]);
    const c = await runCli(["run", OBJ, "--program", "add_ctx", "--ctx", "0300000004000000", "--repeat", "5"]);
    expect([c.code, c.stderr]).toEqual([2, expect.stringContaining("once per test run")]);
    // a syscall program may run without a context (externs.o's do); one that reads it is told to give --ctx
    const d = await runCli(["run", OBJ, "--program", "add_ctx"]);
    expect([d.code, d.stderr]).toEqual([1, expect.stringContaining("EINVAL (invalid argument): the program reads its context, which was not given: give --ctx")]);
  });
});

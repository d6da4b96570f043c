// XDP, tc and cgroup hooks on real interfaces, inside two network namespaces this test creates
// (a veth pair between them; UDP to port 7777, which the fixtures drop). Oracles: the datagrams
// that arrive, `bpftool net` / `bpftool cgroup tree` for what is attached, `tc qdisc` for the
// clsact qdisc, and the programs' own counters. SIGKILL + `bpfload cleanup` must leave nothing.
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, rmSync } from "node:fs";
import { canUseKernel, MAIN, REPO } from "../support.ts";

const ip = Bun.which("ip") ?? (existsSync("/usr/sbin/ip") ? "/usr/sbin/ip" : undefined);
const bpftool = Bun.which("bpftool") ?? (existsSync("/usr/sbin/bpftool") ? "/usr/sbin/bpftool" : undefined);
const tc = Bun.which("tc") ?? (existsSync("/usr/sbin/tc") ? "/usr/sbin/tc" : undefined);
const skip = !canUseKernel ? "kernel tests need root" : !ip || !bpftool || !tc ? "needs ip, tc and bpftool (iproute2, bpftool)" : undefined;
if (skip) console.warn(`[skip] net hooks: ${skip}`);

const tag = `bl${process.pid % 100000}`;
const NS_A = `${tag}a`;
const NS_B = `${tag}b`;
const VA = `${tag}va`;
const VB = `${tag}vb`;
const ADDR_B = "10.211.0.2";
const RECORDS = "/run/bpfload";
const FIX = `${REPO}/test/fixtures`;
const PEER = `${REPO}/test/kernel/udp-peer.ts`;

function run(argv: string[], check = true): string {
  const r = Bun.spawnSync(argv, { stdout: "pipe", stderr: "pipe" });
  if (check && r.exitCode !== 0) throw new Error(`${argv.join(" ")}: ${r.stderr.toString()}`);
  return r.stdout.toString();
}
const inNs = (ns: string, argv: string[]) => [ip!, "netns", "exec", ns, ...argv];
const bpftoolNet = () => JSON.parse(run(inNs(NS_B, [bpftool!, "-j", "net"])))[0] as { xdp: { devname: string; id: number; mode?: string }[]; tc: { devname: string; id: number; kind: string }[] };
const qdiscs = () => run(inNs(NS_B, [tc!, "qdisc", "show", "dev", VB]));

/** How many of `n` datagrams from NS_A reach port 7777 in NS_B. */
async function delivered(n: number): Promise<number> {
  const recv = Bun.spawn(inNs(NS_B, [process.execPath, PEER, "recv", "7777", String(400 + n * 40)]), { stdout: "pipe" });
  const reader = recv.stdout.getReader();
  let text = "";
  while (!text.includes("ready")) {
    const { value, done } = await reader.read();
    if (done) break;
    text += new TextDecoder().decode(value);
  }
  run(inNs(NS_A, [process.execPath, PEER, "send", ADDR_B, "7777", String(n)]));
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    text += new TextDecoder().decode(value);
  }
  await recv.exited;
  return Number(text.trim().split("\n").pop());
}

/** Every bpfload this file started: killed after each test, so a failure cannot hold trace_pipe. */
const started: ReturnType<typeof Bun.spawn>[] = [];
afterEach(async () => {
  for (const p of started.splice(0)) {
    if (p.exitCode !== null) continue;
    p.kill(9);
    await p.exited;
  }
});

/** The programs attached through links (tcx links are newer than bpftool 7.1's `net`), by link type. */
const linkedProgs = () => (JSON.parse(run([bpftool!, "-j", "link"])) as { type: string | number; prog_id: number }[]);
const progId = (name: string) => (JSON.parse(run([bpftool!, "-j", "prog"])) as { id: number; name: string }[]).filter((p) => p.name === name).map((p) => p.id);

/** Polls `fn` for up to a second until it returns `want` (the kernel frees programs asynchronously). */
async function eventually<T>(fn: () => T, want: T): Promise<T> {
  let got = fn();
  for (let i = 0; i < 20 && !Bun.deepEquals(got, want); i++) {
    await Bun.sleep(50);
    got = fn();
  }
  return got;
}

interface Running {
  proc: ReturnType<typeof Bun.spawn>;
  lines: Record<string, unknown>[];
  attached: Promise<Record<string, unknown>>;
  done: Promise<number>;
}

/** bpfload load ... --json inside NS_B (or the root namespace), with its events as they come. */
function startLoad(args: string[], ns: string | null = NS_B): Running {
  const argv = [process.execPath, MAIN, "load", ...args, "--json"];
  const proc = Bun.spawn(ns ? inNs(ns, argv) : argv, { stdout: "pipe", stderr: "pipe" });
  started.push(proc);
  const lines: Record<string, unknown>[] = [];
  let resolveAttached!: (v: Record<string, unknown>) => void;
  let rejectAttached!: (e: Error) => void;
  const attached = new Promise<Record<string, unknown>>((res, rej) => ((resolveAttached = res), (rejectAttached = rej)));
  attached.catch(() => {}); // awaited by the tests that expect an attach; the others read the error line
  const done = (async () => {
    let buf = "";
    const reader = (proc.stdout as ReadableStream<Uint8Array>).getReader();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += new TextDecoder().decode(value);
      let nl: number;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const line = JSON.parse(buf.slice(0, nl));
        buf = buf.slice(nl + 1);
        lines.push(line);
        if (line.type === "attached") resolveAttached(line);
        if (line.error) rejectAttached(new Error(line.error.message));
      }
    }
    const code = await proc.exited;
    rejectAttached(new Error(`bpfload exited (${code}) before attaching: ${await new Response(proc.stderr as ReadableStream).text()}`));
    return code;
  })();
  return { proc, lines, attached, done };
}

const mapValue = (lines: Record<string, unknown>[], name: string, key = 0) => {
  const m = lines.find((l) => l.type === "map" && l.name === name) as { entries: { keyInt: number; valueInts: number[] }[] } | undefined;
  return m?.entries.find((e) => e.keyInt === key)?.valueInts[0] ?? 0;
};

const ourRecords = () => (existsSync(RECORDS) ? readdirSync(RECORDS) : []);

describe.skipIf(!!skip)("network hooks inside test namespaces", () => {
  const before = skip ? [] : ourRecords();
  beforeAll(() => {
    run([ip!, "netns", "add", NS_A]);
    run([ip!, "netns", "add", NS_B]);
    run([ip!, "link", "add", VA, "netns", NS_A, "type", "veth", "peer", "name", VB, "netns", NS_B]);
    run([ip!, "-n", NS_A, "addr", "add", "10.211.0.1/24", "dev", VA]);
    run([ip!, "-n", NS_B, "addr", "add", `${ADDR_B}/24`, "dev", VB]);
    run([ip!, "-n", NS_A, "link", "set", VA, "up"]);
    run([ip!, "-n", NS_B, "link", "set", VB, "up"]);
  });
  afterAll(() => {
    run(inNs(NS_B, [process.execPath, MAIN, "cleanup"]), false);
    run([ip!, "netns", "del", NS_A], false);
    run([ip!, "netns", "del", NS_B], false);
  });

  test("baseline: the datagrams arrive", async () => {
    expect(await delivered(5)).toBe(5);
  });

  for (const api of ["link", "netlink"] as const) {
    test(`XDP (${api}): drops and counts while attached, nothing attached afterwards`, async () => {
      const r = startLoad([`${FIX}/xdp_drop.o`, "--attach", `xdp:${VB}`, "--net-api", api, "--duration", "4"]);
      const a = await r.attached;
      expect(String(a.target)).toContain(api === "link" ? "bpf_link" : "netlink");
      const net = bpftoolNet();
      expect(net.xdp.map((x) => x.devname)).toEqual([VB]);
      expect(await delivered(5)).toBe(0);
      expect(await r.done).toBe(0);
      expect(mapValue(r.lines, "drops")).toBe(5);
      expect(bpftoolNet().xdp).toEqual([]);
      expect(await delivered(3)).toBe(3);
      expect(ourRecords()).toEqual(before);
    }, 30000);

    test(`tc ingress (${api}): drops and counts while attached, nothing attached afterwards`, async () => {
      const r = startLoad([`${FIX}/tc_count.o`, "--attach", `tc:${VB}:ingress`, "--net-api", api, "--duration", "4"]);
      const a = await r.attached;
      if (api === "netlink") expect(bpftoolNet().tc.map((t) => t.devname)).toEqual([VB]);
      else {
        expect(String(a.target)).toContain("tcx");
        const ids = progId("tc_drop_udp");
        expect(linkedProgs().filter((l) => ids.includes(l.prog_id)).length).toBe(1);
      }
      expect(await delivered(4)).toBe(0);
      expect(await r.done).toBe(0);
      expect(mapValue(r.lines, "udp")).toBe(4);
      expect(bpftoolNet().tc).toEqual([]);
      expect(await eventually(() => progId("tc_drop_udp"), [])).toEqual([]); // nothing holds it any more (freed after an RCU grace period)
      expect(qdiscs()).not.toContain("clsact"); // created by bpfload (netlink), removed by it
      expect(await delivered(2)).toBe(2);
    }, 30000);
  }

  test("SIGKILL after netlink attaches: the next run, or cleanup, detaches what the dead run left, and only that", async () => {
    const x = startLoad([`${FIX}/xdp_drop.o`, "--attach", `xdp:${VB}`, "--net-api", "netlink"]);
    await x.attached;
    x.proc.kill(9);
    await x.done;
    // the kernel kept it: a dead process's netlink attachment outlives it
    expect(bpftoolNet().xdp.length).toBe(1);
    expect(ourRecords().length).toBe(before.length + 1);
    expect(await delivered(2)).toBe(0);
    // the next run sweeps it before attaching its own (one after the other: trace_pipe has one reader)
    const t = startLoad([`${FIX}/tc_count.o`, "--attach", `tc:${VB}:egress`, "--net-api", "netlink"]);
    await t.attached;
    expect(bpftoolNet().xdp).toEqual([]);
    t.proc.kill(9);
    await t.done;
    expect(bpftoolNet().tc.length).toBe(1);
    expect(ourRecords().length).toBe(before.length + 1);
    // cleanup outside the namespace leaves it (its ifindex means another interface there)
    const outside = run([process.execPath, MAIN, "cleanup", "--json"]);
    expect(outside).toContain("other-namespace");
    expect(bpftoolNet().tc.length).toBe(1);
    const inside = run(inNs(NS_B, [process.execPath, MAIN, "cleanup", "--json"]));
    expect(inside.split("\n").filter((l) => l.includes('"detached"')).length).toBe(1);
    expect(bpftoolNet().xdp).toEqual([]);
    expect(bpftoolNet().tc).toEqual([]);
    expect(qdiscs()).not.toContain("clsact");
    expect(ourRecords()).toEqual(before);
    expect(await delivered(2)).toBe(2);
  }, 30000);

  test("tc over netlink leaves a clsact qdisc it did not create", async () => {
    run(inNs(NS_B, [tc!, "qdisc", "add", "dev", VB, "clsact"]));
    try {
      const r = startLoad([`${FIX}/tc_count.o`, "--attach", `tc:${VB}:ingress`, "--net-api", "netlink", "--duration", "0"]);
      await r.attached;
      expect(await r.done).toBe(0);
      expect(bpftoolNet().tc).toEqual([]);
      expect(qdiscs()).toContain("clsact");
    } finally {
      run(inNs(NS_B, [tc!, "qdisc", "del", "dev", VB, "clsact"]), false);
    }
  }, 30000);

  test("--hist: packet sizes as log2 and linear charts, every --interval and at exit", async () => {
    // 1000-byte payloads: 1042-byte frames (14 Ethernet + 20 IPv4 + 8 UDP), far above the ARP and
    // IPv6 housekeeping frames a fresh veth also sees: bucket [1K, 2K) and [1000, 1100) exactly.
    const r = startLoad([`${FIX}/hist.o`, "--attach", `xdp:${VB}`, "--hist", "log2_sizes", "--hist", "linear_sizes:linear:100", "--interval", "1", "--duration", "3.5"]);
    await r.attached;
    run(inNs(NS_A, [process.execPath, PEER, "send", ADDR_B, "7777", "7", "1000"]));
    expect(await r.done).toBe(0);
    const hists = r.lines.filter((l) => l.type === "hist") as { name: string; interval?: boolean; buckets: { bucket: number; label: string; count: number }[] }[];
    for (const name of ["log2_sizes", "linear_sizes"]) expect([name, hists.filter((h) => h.interval && h.name === name).length >= 2]).toEqual([name, true]);
    const final = (name: string) => hists.filter((h) => h.name === name && !h.interval).pop()!;
    const big = final("log2_sizes").buckets.find((b) => b.bucket === 11)!; // floor(log2 1042) + 1
    expect(big).toEqual({ bucket: 11, label: "[1K, 2K)", count: 7 });
    expect(final("linear_sizes").buckets.find((b) => b.bucket === 10)).toEqual({ bucket: 10, label: "[1000, 1100)", count: 7 });
  }, 30000);

  test("a record whose network namespace was deleted is dropped by the next cleanup", async () => {
    const ns = `${tag}c`;
    run([ip!, "netns", "add", ns]);
    run([ip!, "-n", ns, "link", "add", "blc0", "type", "veth", "peer", "name", "blc1"]);
    run([ip!, "-n", ns, "link", "set", "blc0", "up"]);
    const r = startLoad([`${FIX}/xdp_drop.o`, "--attach", "xdp:blc0", "--net-api", "netlink"], ns);
    await r.attached;
    r.proc.kill(9);
    await r.done;
    expect(ourRecords().length).toBe(before.length + 1);
    run([ip!, "netns", "del", ns]);
    await Bun.sleep(200); // the namespace goes once nothing holds it
    const out = run([process.execPath, MAIN, "cleanup", "--json"]);
    expect(out).not.toContain("other-namespace");
    expect(ourRecords()).toEqual(before);
  }, 30000);

  test("an interface that is not there: refused before anything is loaded", async () => {
    const r = startLoad([`${FIX}/xdp_drop.o`, "--attach", "xdp:bl_nosuch0", "--duration", "0"]);
    expect(await r.done).toBe(1);
    expect(r.lines.map((l) => l.type ?? "error")).toEqual(["error"]);
    expect((r.lines[0] as { error: { message: string } }).error.message).toContain("no network interface 'bl_nosuch0' in this network namespace");
  }, 30000);

  test("XDP refuses to replace a program someone else attached", async () => {
    run(inNs(NS_B, [ip!, "link", "set", "dev", VB, "xdpgeneric", "obj", `${FIX}/xdp_drop.o`, "sec", "xdp"]));
    try {
      for (const api of ["link", "netlink"]) {
        const r = startLoad([`${FIX}/xdp_drop.o`, "--attach", `xdp:${VB}`, "--net-api", api, "--duration", "0"]);
        const code = await r.done;
        expect(code).toBe(1);
        const err = r.lines.find((l) => l.error) as { error: { message: string } };
        expect(err.error.message).toMatch(/EBUSY|EEXIST/);
      }
      expect(bpftoolNet().xdp.length).toBe(1); // still theirs
    } finally {
      run(inNs(NS_B, [ip!, "link", "set", "dev", VB, "xdpgeneric", "off"]), false);
    }
  }, 30000);
});

const CG2 = readFileSync("/proc/mounts", "utf8").split("\n").map((l) => l.split(" ")).find((f) => f[2] === "cgroup2")?.[1];
const CG = `${CG2}/bpfload-test-${process.pid}`;
const cgSkip = skip ?? (!CG2 ? "no cgroup v2 mounted" : undefined);

describe.skipIf(!!cgSkip)("cgroup hooks", () => {
  beforeAll(() => mkdirSync(CG));
  afterAll(() => {
    run([process.execPath, MAIN, "cleanup"], false);
    try {
      rmdirSync(CG);
    } catch {}
  });

  const cgroupTree = () => JSON.parse(run([bpftool!, "-j", "cgroup", "show", CG]).trim() || "[]") as { id: number; attach_type: string; name: string }[];

  /** A process inside the cgroup that sends `n` datagrams to 127.0.0.1 (no receiver needed). */
  function sendFromCgroup(n: number): void {
    const script = `echo $$ > ${CG}/cgroup.procs && exec ${process.execPath} ${PEER} send 127.0.0.1 7778 ${n}`;
    run(["sh", "-c", script]);
  }

  for (const api of ["link", "netlink"] as const) {
    test(`cgroup_skb/egress (${api}): the section's hook, counted, detached at the end`, async () => {
      const r = startLoad([`${FIX}/cgroup_count.o`, "--attach", `cgroup:${CG}`, "--net-api", api, "--duration", "3"], null);
      const a = await r.attached;
      expect(String(a.target)).toContain(api === "link" ? "bpf_link" : "BPF_PROG_ATTACH");
      const tree = cgroupTree();
      expect(tree.map((t) => [t.attach_type, t.name])).toEqual([["cgroup_inet_egress", "count_egress"]]);
      sendFromCgroup(6);
      expect(await r.done).toBe(0);
      expect(mapValue(r.lines, "stats", 0)).toBeGreaterThanOrEqual(6);
      expect(cgroupTree()).toEqual([]);
    }, 30000);
  }

  test("a directory that is not a cgroup v2 one: a usage error that says where cgroup v2 is", async () => {
    const r = startLoad([`${FIX}/cgroup_count.o`, "--attach", "cgroup:/tmp", "--duration", "0"], null);
    expect(await r.done).toBe(2);
    const err = r.lines.find((l) => l.error) as { error: { message: string } };
    expect(err.error.message).toContain(`/tmp is not a cgroup v2 directory (cgroup v2 is mounted at ${CG2})`);
  }, 30000);

  test("SIGKILL after BPF_PROG_ATTACH: cleanup detaches exactly that program", async () => {
    const r = startLoad([`${FIX}/cgroup_count.o`, "--attach", `cgroup:${CG}`, "--net-api", "netlink"], null);
    await r.attached;
    r.proc.kill(9);
    await r.done;
    expect(cgroupTree().length).toBe(1);
    const out = run([process.execPath, MAIN, "cleanup", "--json"]);
    expect(out).toContain('"detached"');
    expect(cgroupTree()).toEqual([]);
  }, 30000);
});

describe.skipIf(!canUseKernel)("hook feature probes", () => {
  test("agree with the version table on this (vanilla) kernel", async () => {
    const { HOOK_FEATURES } = await import("../../src/kernel/features/probes.ts");
    const { FEATURE_SINCE, newerThan } = await import("../../src/since.ts");
    const { kernelVersion } = await import("../../src/kernel/program.ts");
    const code = kernelVersion().code;
    for (const [id, f] of Object.entries(HOOK_FEATURES)) {
      if (!f.probe) continue;
      expect([id, f.probe()]).toEqual([id, !newerThan(FEATURE_SINCE[f.since], code)]);
    }
  });
});

describe.skipIf(!!skip)("sk_msg / sk_skb on the object's sockmap", () => {
  const PIN = `/sys/fs/bpf/bpfload-test-sk-${process.pid}`;
  afterAll(() => rmSync(PIN, { recursive: true, force: true }));

  /** The programs the kernel lists on the pinned sockmap for an attach type (BPF_PROG_QUERY, 6.0+). */
  async function attachedIds(attachType: number): Promise<number[]> {
    const { bpfObjGet, bpfProgQuery } = await import("../../src/sys/bpf.ts");
    const { close } = await import("../../src/sys/fd.ts");
    const m = bpfObjGet(`${PIN}/socks`);
    if (m.ret < 0) throw new Error(`BPF_OBJ_GET errno ${m.errno}`);
    try {
      const q = bpfProgQuery(m.ret, attachType);
      if (q.ret < 0) throw new Error(`BPF_PROG_QUERY errno ${q.errno}`);
      return q.ids;
    } finally {
      close(m.ret);
    }
  }

  for (const [section, spec, attachType, name] of [
    ["sk_msg", "sk_msg:socks", 7, "msg_pass"],
    ["sk_skb/stream_verdict", "sk_skb:socks", 5, "skb_pass"],
  ] as const) {
    test(`${spec}: attached to the map while running, detached at the end`, async () => {
      rmSync(PIN, { recursive: true, force: true });
      const r = startLoad([`${FIX}/sockmap.o`, "--section", section, "--attach", spec, "--pin", PIN, "--duration", "2"], null);
      await r.attached;
      expect(await attachedIds(attachType)).toEqual(progId(name));
      expect(await r.done).toBe(0);
      expect(await attachedIds(attachType)).toEqual([]); // the pinned map outlives the run, without the program
    }, 30000);
  }

  test("a map the object does not have: usage error", async () => {
    const r = startLoad([`${FIX}/sockmap.o`, "--section", "sk_msg", "--attach", "sk_msg:nope", "--duration", "0"], null);
    expect(await r.done).toBe(2);
    expect((r.lines.find((l) => l.error) as { error: { message: string } }).error.message).toContain("the object has no map 'nope'");
  }, 30000);
});

// Issue 9's fixtures observed working, not only loaded: a cgroup_skb program using an sk_storage
// map, a bpf_spin_lock map value and a global function, attached to a cgroup and counting what a
// process in it sends; an sk_msg program counting the messages of a TCP socket put into its
// sockmap (a small C peer, built with gcc); the bpf_loop callback and xdp.frags through
// BPF_PROG_TEST_RUN (`bpfload run`, which sends the object's BTF as `load` does). bpftool is the
// oracle for what is attached and for nothing left loaded. Run with the shared kernel lock (flock /tmp/bpfload-kernel.lock).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readFileSync, rmdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { canUseKernel, MAIN, REPO, runCli } from "../support.ts";

const FIX = `${REPO}/test/fixtures`;
const PEER = `${REPO}/test/kernel/udp-peer.ts`;
const bpftool = Bun.which("bpftool");
const skip = !canUseKernel ? "kernel tests need root" : !bpftool ? "no bpftool (the oracle)" : undefined;
if (skip) console.warn(`[skip] BTF programs observed: ${skip}`);

const progNames = (): string[] => (JSON.parse(Bun.spawnSync([bpftool!, "prog", "show", "-j"]).stdout.toString() || "[]") as { name?: string }[]).map((p) => p.name ?? "");

async function eventually(ok: () => boolean, ms = 3000): Promise<boolean> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) return false;
    await Bun.sleep(50);
  }
  return true;
}

describe.skipIf(!!skip)("programs that need the object's BTF, run through BPF_PROG_TEST_RUN", () => {
  const PACKET = `/tmp/bpfload_btfobs_${process.pid}.bin`;
  beforeAll(() => writeFileSync(PACKET, new Uint8Array(64)));
  afterAll(() => rmSync(PACKET, { force: true }));

  test("calls.o prog_d: the bpf_loop callback summed 0..9 (returns sum == 45)", async () => {
    const r = await runCli(["run", `${FIX}/calls.o`, "--program", "prog_d", "--json"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).retval).toBe(1);
    expect(await eventually(() => !progNames().includes("prog_d"))).toBe(true);
  });

  test("btf_load.o frags (xdp.frags, BPF_F_XDP_HAS_FRAGS): XDP_PASS on a packet, with the sk_storage map of its object created", async () => {
    const r = await runCli(["run", `${FIX}/btf_load.o`, "--program", "frags", "--data", `@${PACKET}`, "--json"]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ retval: 2, verdict: "XDP_PASS" });
  });
});

const CG2 = readFileSync("/proc/mounts", "utf8").split("\n").map((l) => l.split(" ")).find((f) => f[2] === "cgroup2")?.[1];
const CG = `${CG2}/bpfload-btfobs-${process.pid}`;
const cgSkip = skip ?? (!CG2 ? "no cgroup v2 mounted" : undefined);

describe.skipIf(!!cgSkip)("sk_storage, bpf_spin_lock and a global function in an attached cgroup_skb program", () => {
  beforeAll(() => mkdirSync(CG));
  afterAll(() => {
    try {
      rmdirSync(CG);
    } catch {}
  });

  test("6 datagrams from one socket in the cgroup: that socket's sk_storage count reaches 6, the locked total counts them; detached after", async () => {
    const proc = Bun.spawn([process.execPath, MAIN, "load", `${FIX}/cgroup_btf.o`, "--attach", `cgroup:${CG}`, "--duration", "4", "--json"], { stdout: "pipe", stderr: "pipe" });
    const out = (async () => new Response(proc.stdout as ReadableStream).text())();
    const err = (async () => new Response(proc.stderr as ReadableStream).text())();
    // attached once bpftool sees it on the cgroup
    const tree = () => JSON.parse(Bun.spawnSync([bpftool!, "-j", "cgroup", "show", CG]).stdout.toString().trim() || "[]") as { attach_type: string; name: string }[];
    expect(await eventually(() => tree().some((t) => t.name === "egress_btf"), 10000)).toBe(true);
    expect(tree().map((t) => t.attach_type)).toEqual(["cgroup_inet_egress"]);
    Bun.spawnSync(["sh", "-c", `echo $$ > ${CG}/cgroup.procs && exec ${process.execPath} ${PEER} send 127.0.0.1 7779 6`]);
    expect(await proc.exited).toBe(0);
    expect(await err).toBe("");
    const events = (await out).trim().split("\n").map((l) => JSON.parse(l));
    const map = (name: string) => events.find((e) => e.type === "map" && e.name === name);
    // `seen`: the largest per-socket count, from the sk_storage value of the socket that sent
    expect(map("seen").entries[0].valueInts[0]).toBe(6);
    // `total`: struct { bpf_spin_lock lock; u64 packets; }: packets at bytes 8..16
    const total = Buffer.from(map("total").entries[0].values[0].replace(/ /g, ""), "hex").readBigUInt64LE(8);
    expect(total).toBeGreaterThanOrEqual(6n);
    expect(map("per_socket")).toMatchObject({ mapType: "sk_storage", entries: null });
    expect(tree()).toEqual([]);
    expect(await eventually(() => !progNames().includes("egress_btf"))).toBe(true);
  }, 30000);
});

const gcc = Bun.which("gcc") ?? Bun.which("cc");
const skSkip = skip ?? (!gcc ? "no C compiler for the socket peer (apt-get install gcc)" : undefined);
if (skSkip && !skip) console.warn(`[skip] sk_msg observed: ${skSkip}`);

describe.skipIf(!!skSkip)("sk_msg observed on a socket of its sockmap", () => {
  let dir = "";
  const PIN = `/sys/fs/bpf/bpfload-skmsg-${process.pid}`;
  beforeAll(() => void (dir = mkdtempSync(`${tmpdir()}/bpfload-skmsg-`)));
  afterAll(() => {
    rmSync(PIN, { recursive: true, force: true });
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test("5 messages of 100 bytes through a TCP socket in 'socks': counted 5 and 500 while attached, passed through; detached after", async () => {
    const cc = Bun.spawnSync([gcc!, "-O2", "-o", `${dir}/peer`, `${REPO}/test/kernel/sockmap-peer.c`]);
    expect(cc.stderr.toString()).toBe("");
    const proc = Bun.spawn([process.execPath, MAIN, "load", `${FIX}/sk_msg_count.o`, "--attach", "sk_msg:socks", "--pin", PIN, "--duration", "4", "--json"], { stdout: "pipe", stderr: "pipe" });
    // bpfload's own "attached" event says when the program is on the map
    let text = "";
    const reading = (async () => {
      const dec = new TextDecoder();
      for await (const chunk of proc.stdout as unknown as AsyncIterable<Uint8Array>) text += dec.decode(chunk);
    })();
    expect(await eventually(() => text.includes('"type":"attached"') || proc.exitCode !== null, 10000)).toBe(true);
    const peer = Bun.spawnSync([`${dir}/peer`, `${PIN}/socks`, "5", "100"]);
    expect(peer.stdout.toString() + peer.stderr.toString()).toBe("sent 5\n");
    expect(await proc.exited).toBe(0);
    await reading;
    const events = text.trim().split("\n").map((l) => JSON.parse(l));
    const counts = events.find((e) => e.type === "map" && e.name === "counts");
    expect(counts.entries.map((e: { valueInts: number[] }) => e.valueInts[0])).toEqual([5, 500]);
    rmSync(PIN, { recursive: true, force: true }); // the pins held the program (--pin, for the peer to find the map)
    expect(await eventually(() => !progNames().includes("count_msg"))).toBe(true);
  }, 30000);
});

// The flow dissector attached through BPF_PROG_ATTACH (kernels 4.20-5.6, or --net-api netlink)
// outlives a SIGKILLed bpfload: it is recorded under /run/bpfload, and `bpfload cleanup` in that
// namespace detaches it, only while the recorded program is the one attached there. The record
// logic runs without root; the SIGKILL test runs in a network namespace it creates (bpftool net
// as the oracle; on 6.x the netlink API takes the BPF_PROG_ATTACH path).
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { probeEventName } from "../../src/attach-spec.ts";
import { flowDissectorUndo } from "../../src/kernel/attach/netns.ts";
import { openRecordDir, removeRecord, writeRecord } from "../../src/kernel/attach/records.ts";
import { describeRecord, sweepNetRecords } from "../../src/kernel/attach/sweep-net.ts";
import { selfOwner } from "../../src/kernel/tracefs/sweep.ts";
import { canUseKernel, MAIN, REPO } from "../support.ts";

describe("flow dissector records (no kernel)", () => {
  const dir = mkdtempSync(`${tmpdir()}/bpfload-fd-records-`);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test("detached only when the recorded program is the one attached; no query (4.20) is an error, not a guess", () => {
    expect(flowDissectorUndo({ ret: 0, errno: 0, ids: [41, 42] }, 42)).toBe("detach");
    expect(flowDissectorUndo({ ret: 0, errno: 0, ids: [43] }, 42)).toBe("gone"); // someone else's now
    expect(flowDissectorUndo({ ret: 0, errno: 0, ids: [] }, 42)).toBe("gone");
    expect(flowDissectorUndo({ ret: 0, errno: 0, ids: [0] }, 0)).toBe("gone"); // (an id we never learnt)
    const old = flowDissectorUndo({ ret: -1, errno: 22, ids: [] }, 42);
    expect(old).toMatchObject({ noQuery: true });
    expect((old as { error: string }).error).toContain("needs Linux 5.0");
    expect(flowDissectorUndo({ ret: -1, errno: 1, ids: [] }, 42)).toEqual({ error: "BPF_PROG_QUERY: EPERM" });
    expect(describeRecord({ kind: "flow_dissector", netns: 1, progId: 7, progName: "dissect" })).toBe("flow dissector program 'dissect' (id 7)");
  });

  test("the sweep keeps a live owner's record and drops a dead owner's whose namespace is gone", () => {
    const mine = writeRecord({ kind: "flow_dissector", netns: 4026531999, progId: 7, progName: "alive" }, dir);
    // a dead owner: a pid with no /proc entry, in our PID namespace
    let pid = 4_000_000;
    while (existsSync(`/proc/${pid}`)) pid++;
    const dead = `${probeEventName({ ...selfOwner(), pid, start: 1 }, 0, "flow_dissector")}.json`;
    writeFileSync(`${dir}/${dead}`, `${JSON.stringify({ kind: "flow_dissector", netns: 1, progId: 8, progName: "dead" })}\n`);
    const r = sweepNetRecords(dir);
    expect(r.alive.map((s) => s.name)).toEqual([mine]);
    expect(r.gone.map((s) => s.name)).toEqual([dead]); // netns 1 exists nowhere: its programs went with it
    expect(readdirSync(dir)).toEqual([mine]);
  });
});

const ip = Bun.which("ip") ?? (existsSync("/usr/sbin/ip") ? "/usr/sbin/ip" : undefined);
const bpftool = Bun.which("bpftool") ?? (existsSync("/usr/sbin/bpftool") ? "/usr/sbin/bpftool" : undefined);
const skip = !canUseKernel ? "kernel tests need root" : !ip || !bpftool ? "needs ip and bpftool" : undefined;
if (skip) console.warn(`[skip] flow dissector SIGKILL test: ${skip}`);

describe.skipIf(!!skip)("flow dissector through BPF_PROG_ATTACH, SIGKILL, cleanup", () => {
  const NS = `blfd${process.pid % 100000}`;
  const inNs = (argv: string[]) => [ip!, "netns", "exec", NS, ...argv];
  const run = (argv: string[]) => {
    const r = Bun.spawnSync(argv);
    if (r.exitCode !== 0) throw new Error(`${argv.join(" ")}: ${r.stderr}`);
    return r.stdout.toString();
  };
  // (bpftool 7's JSON for it is not JSON: "flow_dissector":["id":N])
  const attachedIds = () => [...(run(inNs([bpftool!, "-j", "net"])).match(/"flow_dissector":\[([^\]]*)\]/)?.[1] ?? "").matchAll(/"id":(\d+)/g)].map((m) => Number(m[1]));
  const records = () => (existsSync("/run/bpfload") ? readdirSync("/run/bpfload").filter((n) => n.endsWith("_flow_dissector.json")) : []);
  afterAll(() => {
    Bun.spawnSync(inNs([process.execPath, MAIN, "cleanup"]));
    Bun.spawnSync([ip!, "netns", "del", NS]);
  });

  test("the dead run's flow dissector is recorded, and cleanup in its namespace detaches it", async () => {
    run([ip!, "netns", "add", NS]);
    const before = records();
    const proc = Bun.spawn(inNs([process.execPath, MAIN, "load", `${REPO}/test/fixtures/ev2_hooks.o`, "--program", "dissect_ok", "--attach", "flow_dissector", "--net-api", "netlink", "--json"]), { stdout: "pipe", stderr: "pipe" });
    const reader = proc.stdout.getReader();
    let out = "";
    while (!out.includes('"type":"attached"')) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`bpfload ended before attaching: ${out} ${await new Response(proc.stderr).text()}`);
      out += new TextDecoder().decode(value);
    }
    expect(out).toContain("BPF_PROG_ATTACH");
    proc.kill(9);
    await proc.exited;
    const ids = attachedIds();
    expect(ids.length).toBe(1); // the kernel kept it
    expect(records().length).toBe(before.length + 1);
    // cleanup outside the namespace leaves it; inside, it is detached
    expect(run([process.execPath, MAIN, "cleanup", "--json"])).toContain("other-namespace");
    expect(attachedIds()).toEqual(ids);
    const inside = run(inNs([process.execPath, MAIN, "cleanup", "--json"]));
    expect(inside).toContain('"detached"');
    expect(inside).toContain(`"progId":${ids[0]}`);
    expect(attachedIds()).toEqual([]);
    expect(records()).toEqual(before);
  }, 30_000);
});

describe("record removal without openat2 (kernels before 5.6; no kernel needed)", () => {
  const dir = mkdtempSync(`${tmpdir()}/bpfload-records-old-`);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const noOpenat2 = () => ({ ret: -1, errno: 38 /* ENOSYS */ });

  test("a record is removed through the component-by-component open (it was left behind on 5.4)", () => {
    const name = writeRecord({ kind: "flow_dissector", netns: 1, progId: 9, progName: "x" }, dir);
    expect(readdirSync(dir)).toEqual([name]);
    removeRecord(name, dir, noOpenat2);
    expect(readdirSync(dir)).toEqual([]);
  });

  test("a symbolic link on the way is not followed", () => {
    const real = `${dir}/real`;
    mkdirSync(real);
    writeFileSync(`${real}/r.json`, "{}\n");
    symlinkSync(real, `${dir}/link`);
    expect(openRecordDir(`${dir}/link`, noOpenat2).ret).toBeLessThan(0);
    removeRecord("r.json", `${dir}/link`, noOpenat2);
    expect(readdirSync(real)).toEqual(["r.json"]);
  });
});

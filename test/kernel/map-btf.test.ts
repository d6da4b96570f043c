// Map types the kernel takes no BTF key/value types for (sockmap, perf_event_array, map-in-map...):
// created without them at once, as libbpf does, rather than refused (ENOTSUPP) and created again —
// for a sockmap the refused try cost 20 ms of the kernel freeing its map behind an RCU grace period.
// The object's other maps keep their BTF. Oracle: bpftool map show (btf_id). As root.
import { afterAll, describe, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { canUseKernel, REPO, runCli } from "../support.ts";

const bpftool = Bun.which("bpftool");
const PIN = `/sys/fs/bpf/bpfload-mapbtf-${process.pid}`;

describe.skipIf(!canUseKernel || !bpftool)("maps whose values are fds or kernel objects get no BTF key/value types", () => {
  afterAll(() => rmSync(PIN, { recursive: true, force: true }));

  test("sk_msg_count.o: 'socks' (sockmap) created once without BTF, no fallback note; 'counts' (array) with the object's BTF", async () => {
    const r = await runCli(["load", `${REPO}/test/fixtures/sk_msg_count.o`, "--no-attach", "--verbose", "--pin", PIN]);
    expect(r.code).toBe(0);
    expect(r.stderr).not.toContain("created without BTF");
    const show = (name: string) => JSON.parse(Bun.spawnSync([bpftool!, "map", "show", "pinned", `${PIN}/${name}`, "-j"]).stdout.toString()) as { type: string; btf_id?: number };
    expect(show("socks")).toMatchObject({ type: "sockmap" });
    expect(show("socks").btf_id ?? 0).toBe(0);
    expect(show("counts").btf_id ?? 0).toBeGreaterThan(0);
  });
});

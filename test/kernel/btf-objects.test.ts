// The object's BTF in the kernel's hands, with bpftool as the oracle: btf_id on programs and maps,
// the frozen .rodata, map BTF for sk_storage and bpf_spin_lock values, func_info for a bpf_loop
// callback and a global function, the section table's expected_attach_type (a cgroup_skb egress
// program may return 2/3 only with it), "?" sections skipped, and the fallback without BTF.
import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, rmSync } from "node:fs";
import { canUseKernel, REPO, runCli } from "../support.ts";

const FIX = `${REPO}/test/fixtures`;
const bpftool = Bun.which("bpftool");
const PIN = `/sys/fs/bpf/bpfload-btfk-${process.pid}`;
type Json = Record<string, any>; // bpftool -j output

function show(kind: "prog" | "map", path: string): Json {
  const r = Bun.spawnSync([bpftool!, "-j", kind, "show", "pinned", path]);
  return JSON.parse(r.stdout.toString());
}
/** The kernel frees unreferenced objects after an RCU grace period: wait up to 2 s for it. */
async function stillLoaded(kind: "prog" | "map", id: number): Promise<boolean> {
  for (let i = 0; i < 40; i++) {
    if (Bun.spawnSync([bpftool!, kind, "show", "id", String(id)]).exitCode !== 0) return false;
    await Bun.sleep(50);
  }
  return true;
}

afterEach(() => {
  if (existsSync(PIN)) rmSync(PIN, { recursive: true, force: true });
});

const skip = !canUseKernel ? true : !bpftool;
if (canUseKernel && !bpftool) console.warn("[skip] BTF object tests: no bpftool (apt-get install bpftool)");

describe.skipIf(skip)("object BTF in the kernel (bpftool as the oracle)", () => {
  test("btf_load.o: programs and maps carry the object's BTF, .rodata is frozen, '?' is skipped; nothing stays loaded", async () => {
    const r = await runCli(["load", `${FIX}/btf_load.o`, "--no-attach", "--pin", PIN]);
    expect(r.stderr).not.toContain("bpfload:");
    expect(r.code).toBe(0);
    // the "?" section is not loaded unless named
    expect(r.stderr).not.toContain("loaded 'optional'");
    const progs: Json = Object.fromEntries(["egress", "msg", "frags", "say"].map((n) => [n, show("prog", `${PIN}/${n}`)]));
    const maps: Json = Object.fromEntries(["locks", "sk_store", "_rodata"].map((n) => [n, show("map", `${PIN}/${n}`)]));
    const btfId = progs.egress.btf_id;
    expect(btfId).toBeGreaterThan(0);
    for (const p of Object.values(progs)) expect(p.btf_id).toBe(btfId);
    expect(progs.egress.type).toBe("cgroup_skb");
    expect(progs.msg.type).toBe("sk_msg");
    for (const m of Object.values(maps)) expect(m.btf_id).toBe(btfId);
    expect(maps.sk_store.type).toBe("sk_storage");
    expect(maps._rodata.frozen).toBe(1);
    expect(maps._rodata.flags & 0x80).toBe(0x80); // BPF_F_RDONLY_PROG
    rmSync(PIN, { recursive: true, force: true });
    for (const p of Object.values(progs)) expect(await stillLoaded("prog", p.id)).toBe(false);
    for (const m of Object.values(maps)) expect(await stillLoaded("map", m.id)).toBe(false);
  });

  test("a '?' section loads when named with --program", async () => {
    const r = await runCli(["load", `${FIX}/btf_load.o`, "--no-attach", "--program", "optional"]);
    expect(r.stderr).toContain("loaded 'optional'");
    expect(r.code).toBe(0);
  });

  test("the verifier log carries the C source lines (line_info sent)", async () => {
    const r = await runCli(["load", `${FIX}/btf_load.o`, "--no-attach", "--program", "egress", "--log-level", "2"]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("; bpf_spin_lock(&v->lock); @ btf_load.c:");
  });

  test("calls.o: the bpf_loop callback and the global function load with func_info (btf_id set)", async () => {
    const r = await runCli(["load", `${FIX}/calls.o`, "--no-attach", "--pin", PIN]);
    expect(r.stderr).not.toContain("bpfload:");
    expect(r.code).toBe(0);
    const d = show("prog", `${PIN}/prog_d`);
    const a = show("prog", `${PIN}/prog_a`);
    expect(d.btf_id).toBeGreaterThan(0);
    expect(a.btf_id).toBe(d.btf_id);
    // the kernel's own view of the func_info it was given: the callback and the global function
    const xlated = Bun.spawnSync([bpftool!, "prog", "dump", "xlated", "pinned", `${PIN}/prog_a`]).stdout.toString();
    expect(xlated).toMatch(/^int global_square\(int x\):/m);
    expect(xlated).toMatch(/^int twice\(int x\):/m);
    const cb = Bun.spawnSync([bpftool!, "prog", "dump", "xlated", "pinned", `${PIN}/prog_d`]).stdout.toString();
    expect(cb).toContain("int loop_cb(__u32 index, void * ctx):");
  });

  test("globals.o: the kernel refuses its BTF (clang's char[3] in 1 byte), the program loads without it, said with --verbose", async () => {
    const r = await runCli(["load", `${FIX}/globals.o`, "--no-attach", "--verbose", "--pin", PIN]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/loading .*globals\.o without its BTF: the kernel refused its BTF \(BPF_BTF_LOAD: EINVAL: .*Invalid size\)/);
    expect(show("prog", `${PIN}/globals_prog`).btf_id ?? 0).toBe(0);
    const quiet = await runCli(["load", `${FIX}/globals.o`, "--no-attach"]);
    expect(quiet.code).toBe(0);
    expect(quiet.stderr).not.toContain("without its BTF");
  });
});

describe.skipIf(!canUseKernel)("the section table's expected_attach_type reaches the kernel", () => {
  test("cgroup_skb/egress returning 2|x: accepted only with BPF_CGROUP_INET_EGRESS (the verifier's [0, 3] range)", async () => {
    const r = await runCli(["load", `${FIX}/btf_load.o`, "--no-attach", "--program", "egress"]);
    expect(r.stderr).not.toContain("bpfload:");
    expect(r.code).toBe(0);
  });
});

describe.skipIf(!canUseKernel)("--set writes .rodata before load", () => {
  test("integers, a negative int, a string, a bool and an enum by name: seen by the program (trace line) and in the map", async () => {
    const trigger = setInterval(() => Bun.spawn(["perl", "-e", "getppid()"]), 100);
    try {
      const r = await runCli([
        "load", `${FIX}/btf_load.o`, "--program", "say", "--set", "answer=42", "--set", "delta=-5", "--set", "tag=hello", "--set", "loud=true", "--set", "how=MODE_ON",
        "--attach", "tracepoint:syscalls:sys_enter_getppid", "--count", "1", "--duration", "5", "--json",
      ]);
      expect(r.code).toBe(0);
      const out = r.stdout.trim().split("\n").map((l) => JSON.parse(l));
      const line = out.find((o) => o.type === "trace");
      expect(line?.message ?? JSON.stringify(out)).toContain("answer 42 -5 hello");
      const rodata = out.find((o) => o.type === "map" && o.name === ".rodata");
      // answer, delta, tag[8], loud, how: as a C compiler would lay them out (offsets from the ELF symbols)
      expect(rodata.entries[0].values[0]).toBe("2a 00 00 00 fb ff ff ff 68 65 6c 6c 6f 00 00 00 01 00 00 00 05 00 00 00");
    } finally {
      clearInterval(trigger);
    }
  });
});

describe.skipIf(skip)("map sizes libbpf fixes and --map", () => {
  test("a hash without max_entries: refused with a hint naming --map; with --map it loads at that size; the ring buffer is rounded up to 8192", async () => {
    const bare = await runCli(["load", `${FIX}/sized_maps.o`, "--no-attach"]);
    expect(bare.code).toBe(1);
    expect(bare.stderr).toContain("--map NAME:max_entries=N");
    const r = await runCli(["load", `${FIX}/sized_maps.o`, "--no-attach", "--verbose", "--map", "sized_later:max_entries=16", "--pin", PIN]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("map 'events' (ringbuf): max_entries 5000 rounded up to 8192");
    expect(show("map", `${PIN}/sized_later`).max_entries).toBe(16);
    expect(show("map", `${PIN}/events`).max_entries).toBe(8192);
  });
});

describe.skipIf(skip)("verifier stats in --json", () => {
  test("verified_insns from bpf_prog_info (5.16+) agrees with the log's 'processed N insns'; states and time from the log", async () => {
    const r = await runCli(["load", `${FIX}/btf_load.o`, "--no-attach", "--program", "egress", "--log-level", "4", "--json"]);
    expect(r.code).toBe(0);
    const loaded = r.stdout.trim().split("\n").map((l) => JSON.parse(l)).find((o) => o.type === "loaded");
    const log = r.stdout.trim().split("\n").map((l) => JSON.parse(l)).find((o) => o.type === "verifier-log").log;
    const processed = Number(/^processed (\d+) insns/m.exec(log)![1]);
    expect(loaded.verifier.verifiedInsns).toBe(processed); // the kernel's two counts of one verification
    expect(loaded.verifier.processedInsns).toBe(processed);
    expect(loaded.verifier.peakStates).toBeGreaterThan(0);
    expect(loaded.verifier.verificationTimeUsec).toBeGreaterThan(0);
  });
});

describe.skipIf(skip)("initial values of BTF maps (.rel.maps)", () => {
  test("prog-array slot 1 holds the program 'target', array-of-maps slot 2 the map 'inner_a' (ids by bpftool)", async () => {
    const r = await runCli(["load", `${FIX}/map_values.o`, "--no-attach", "--pin", PIN]);
    expect(r.stderr).not.toContain("bpfload:");
    expect(r.code).toBe(0);
    const dump = (name: string) => JSON.parse(Bun.spawnSync([bpftool!, "-j", "map", "dump", "pinned", `${PIN}/${name}`]).stdout.toString());
    const u32 = (bytes: string[]) => bytes.reduce((v, b, i) => v + parseInt(b, 16) * 2 ** (8 * i), 0);
    const jumps = dump("jumps");
    expect(jumps.map((e: Json) => u32(e.key))).toEqual([1]);
    expect(u32(jumps[0].value)).toBe(show("prog", `${PIN}/target`).id);
    const outer = dump("outer");
    expect(outer.map((e: Json) => u32(e.key))).toEqual([2]);
    expect(u32(outer[0].value)).toBe(show("map", `${PIN}/inner_a`).id);
  });
});

// Objects on the running kernel: every fixture loads, map references resolve to the live maps
// (checked with bpftool), and values written by the programs are read back at exit.
import { describe, expect, test } from "bun:test";
import { existsSync, rmSync } from "node:fs";
import { canUseKernel, REPO, runCli } from "../support.ts";

const FIX = `${REPO}/test/fixtures`;
type Json = Record<string, any>;
const lines = (stdout: string): Json[] => stdout.trim().split("\n").filter(Boolean).map((l) => JSON.parse(l));

describe.skipIf(!canUseKernel)("objects on the running kernel", () => {
  // Loadable as they are; samples49 mixes kprobe and socket programs on one PROG_ARRAY (refused by
  // the kernel, tested below); core.o has CO-RE relocations (tested below).
  for (const obj of ["hello.o --type tracepoint", "legacy_maps.o", "iproute2_maps.o", "btf_maps.o", "multi.o", "calls.o --section kprobe/sys_getpid", "globals.o"]) {
    test(`${obj} loads (--no-attach, exit 0)`, async () => {
      const [file, ...rest] = obj.split(" ");
      const r = await runCli(["load", `${FIX}/${file}`, "--no-attach", ...rest]);
      expect(r.stderr).not.toContain("bpfload:");
      expect(r.code).toBe(0);
    });
  }

  test("samples49.o: the programs the kernel accepts load, the others are named, exit 1", async () => {
    const r = await runCli(["load", `${FIX}/samples49.o`, "--no-attach"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("loaded 'bpf_prog1' as a kprobe program");
    expect(r.stderr).toMatch(/2 of 6 programs of .*samples49.o did not load \(bpf_socket1, bpf_socket3\)/);
    const kprobesOnly = await runCli(["load", `${FIX}/samples49.o`, "--no-attach", "--section", "kprobe/sys_write"]);
    expect(kprobesOnly.code).toBe(0);
  });

  test("calls.o: BPF-to-BPF calls and the bpf_loop callback load (func_info sent)", async () => {
    const r = await runCli(["load", `${FIX}/calls.o`, "--no-attach"]);
    expect(r.stderr).toContain("loaded 'prog_a'");
    expect(r.stderr).toContain("loaded 'prog_d'");
    expect(r.code).toBe(0);
  });

  test("perf_events.o: a perf_event_array without max_entries gets one slot per CPU, said with --verbose", async () => {
    const r = await runCli(["load", `${FIX}/perf_events.o`, "--no-attach", "--verbose"]);
    expect(r.code).toBe(0);
    const cpus = require("../../src/sys/cpus.ts").possibleCpus();
    expect(r.stderr).toContain(`map 'events' (perf_event_array): max_entries 0 means one per CPU (as libbpf does): ${cpus} possible CPUs`);
    const quiet = await runCli(["load", `${FIX}/perf_events.o`, "--no-attach"]);
    expect(quiet.code).toBe(0);
    expect(quiet.stderr).not.toContain("max_entries 0");
  });

  test("fentry.o: its BTF target (do_nanosleep) is resolved: never refused for lacking one (tracing.test.ts has the rest)", async () => {
    const r = await runCli(["load", `${FIX}/fentry.o`, "--no-attach"]);
    expect(r.stderr).not.toContain("needs a BTF target");
    expect(r.stderr).not.toContain("Tracing programs must provide btf_id");
    expect(r.code === 0 || /BPF_PROG_LOAD: EPERM/.test(r.stderr)).toBe(true); // this host refuses trampolines to libbpf too
  });

  test("core.o: its CO-RE relocations are applied and it loads (test/kernel/core.test.ts has the rest)", async () => {
    const r = await runCli(["load", `${FIX}/core.o`, "--no-attach"]);
    expect(r.stderr).not.toContain("bpfload:");
    expect(r.code).toBe(existsSync("/sys/kernel/btf/vmlinux") ? 0 : 2);
  });

  test("BTF maps: the program counts syscalls into its maps, printed at exit", async () => {
    const r = await runCli(["load", `${FIX}/btf_maps.o`, "--duration", "1", "--json"]);
    expect(r.code).toBe(0);
    const maps = Object.fromEntries(lines(r.stdout).filter((o) => o.type === "map").map((o) => [o.name, o]));
    expect(Object.keys(maps).sort()).toEqual(["by_color", "counts", "sized", "total"]);
    expect(maps.total.entries[0].valueInts[0]).toBeGreaterThan(0);
    expect(maps.counts.entries.length).toBeGreaterThan(0);
    expect(maps.counts.keySize).toBe(20);
  });

  test("global data: .data starts with its initial value, .bss is written by the program", async () => {
    const trigger = setInterval(() => Bun.spawn(["sleep", "0.01"]), 100);
    try {
      const r = await runCli(["load", `${FIX}/globals.o`, "--type", "tracepoint", "--attach", "tracepoint:syscalls:sys_enter_clock_nanosleep", "--duration", "1.5", "--json"]);
      expect(r.code).toBe(0);
      const maps = Object.fromEntries(lines(r.stdout).filter((o) => o.type === "map").map((o) => [o.name, o]));
      expect(maps[".rodata"].entries[0].values[0].startsWith("2a 00 00 00")).toBe(true); // target_pid = 42
      expect(maps[".data"].entries[0].values[0].startsWith("05 00 00 00 00 00 00 00")).toBe(true); // hits = 5, untouched: pid != 42
      const bss = maps[".bss"].entries[0].values[0].split(" ").slice(0, 8).map((h: string) => parseInt(h, 16));
      expect(bss.some((b: number) => b !== 0)).toBe(true); // misses++
    } finally {
      clearInterval(trigger);
    }
  });

  test("--pin keeps programs and maps; map dump reads them; bpftool sees the program using those maps", async () => {
    const dir = `/sys/fs/bpf/bpfload-test-${process.pid}`;
    try {
      const r = await runCli(["load", `${FIX}/btf_maps.o`, "--pin", dir, "--duration", "0.5", "--json"]);
      expect(r.code).toBe(0);
      for (const name of ["count_syscalls", "counts", "total", "sized", "by_color"]) expect(existsSync(`${dir}/${name}`)).toBe(true);
      const dump = await runCli(["map", "dump", `${dir}/total`, "--json"]);
      expect(dump.code).toBe(0);
      expect(JSON.parse(dump.stdout).entries[0].valueInts[0]).toBeGreaterThan(0);
      const bpftool = Bun.which("bpftool");
      if (bpftool) {
        const prog = JSON.parse(Bun.spawnSync([bpftool, "-j", "prog", "show", "pinned", `${dir}/count_syscalls`]).stdout.toString());
        const maps = ["counts", "total", "sized", "by_color"].map((m) => JSON.parse(Bun.spawnSync([bpftool, "-j", "map", "show", "pinned", `${dir}/${m}`]).stdout.toString()).id);
        expect([...prog.map_ids].sort()).toEqual([...maps].sort());
      }
      const notMap = await runCli(["map", "dump", `${dir}/count_syscalls`]);
      expect(notMap.stderr).toContain("is a program, not a map");
      expect(notMap.code).toBe(2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

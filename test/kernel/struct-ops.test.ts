// struct_ops on the running kernel (run with the kernel lock). struct_ops_ca.o's two
// tcp_congestion_ops (.struct_ops: registered by a map update; .struct_ops.link: by a bpf_link)
// appear in /proc/sys/net/ipv4/tcp_available_congestion_control while bpfload runs and are gone
// after; `bpftool struct_ops dump` is the oracle for the value the kernel got (name, each member's
// program); bpftool shows nothing of ours afterwards. The five struct_ops objects of Linux 6.1's
// selftests load with --no-attach where `bpftool prog loadall` loads them (built from
// /usr/src/linux-source-6.1.tar.xz with the conformance script's flags, in a temporary directory).
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { canUseKernel, REPO, runCli } from "../support.ts";

const FIX = `${REPO}/test/fixtures`;
const CA_LIST = "/proc/sys/net/ipv4/tcp_available_congestion_control";
const bpftool = Bun.which("bpftool");
const skip = !canUseKernel ? "kernel tests need root" : !existsSync("/sys/kernel/btf/vmlinux") ? "no /sys/kernel/btf/vmlinux (CONFIG_DEBUG_INFO_BTF)" : !bpftool ? "no bpftool (the oracle)" : !existsSync(CA_LIST) ? `no ${CA_LIST}` : undefined;
if (skip) console.warn(`[skip] struct_ops tests: ${skip}`);

const available = async () => (await Bun.file(CA_LIST).text()).trim().split(/\s+/);
const json = (args: string[]) => JSON.parse(Bun.spawnSync([bpftool!, ...args, "-j"]).stdout.toString() || "[]");
const ours = () => ({
  progs: (json(["prog", "show"]) as { name?: string }[]).filter((p) => p.name?.startsWith("mini_")).map((p) => p.name),
  maps: (json(["map", "show"]) as { name?: string }[]).filter((m) => m.name?.startsWith("bpfload_mini")).map((m) => m.name),
});

async function eventually(ok: () => Promise<boolean> | boolean, ms = 5000): Promise<boolean> {
  const end = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > end) return false;
    await Bun.sleep(50);
  }
  return true;
}

describe.skipIf(!!skip)("struct_ops on the running kernel", () => {
  test("struct_ops_ca.o registers two TCP congestion controls while it runs, none after", async () => {
    expect(await available()).not.toContain("bpfload_mini");
    const proc = Bun.spawn([process.execPath, `${REPO}/src/main.ts`, "load", `${FIX}/struct_ops/struct_ops_ca.o`, "--duration", "4"], { stdout: "pipe", stderr: "pipe" });
    try {
      expect(await eventually(async () => (await available()).includes("bpfload_mini_l"))).toBe(true);
      const during = await available();
      expect(during).toContain("bpfload_mini");
      expect(during).toContain("bpfload_mini_l");
      // the kernel's value, as bpftool reads it back: the name copied, each member its program
      const listed = (json(["struct_ops", "list"]) as { name: string; kernel_struct_ops: string }[]).map((s) => `${s.name} ${s.kernel_struct_ops}`);
      expect(listed).toContain("bpfload_mini tcp_congestion_ops");
      expect(listed).toContain("bpfload_mini_li tcp_congestion_ops"); // map names are cut to 15 characters
      const dump = json(["struct_ops", "dump", "name", "bpfload_mini"]) as Record<string, unknown>[];
      const info = dump[0]!.bpf_map_info as { map_flags: number; btf_vmlinux_value_type_id: number };
      expect(info.map_flags).toBe(0);
      const data = (dump[1]!.bpf_struct_ops_tcp_congestion_ops as { data: Record<string, unknown> }).data;
      expect(data.name).toBe("bpfload_mini");
      expect(String(data.ssthresh)).toContain("mini_ssthresh/prog_id:");
      expect(String(data.undo_cwnd)).toContain("mini_undo_cwnd/prog_id:");
      expect(String(data.cong_avoid)).toContain("mini_cong_avoid/prog_id:");
      expect(String(data.init)).toMatch(/ 0$/);
      const linked = json(["struct_ops", "dump", "name", "bpfload_mini_li"]) as Record<string, unknown>[];
      expect((linked[0]!.bpf_map_info as { map_flags: number }).map_flags).toBe(1 << 13); // BPF_F_LINK
    } finally {
      const code = await proc.exited;
      const stderr = await new Response(proc.stderr).text();
      expect(stderr).not.toContain("bpfload:");
      expect(code).toBe(0);
      expect(stderr).toContain("attached 'mini_ssthresh' to struct_ops:bpfload_mini (tcp_congestion_ops)");
      expect(stderr).toContain("attached 'mini_ssthresh' to struct_ops:bpfload_mini_link (tcp_congestion_ops)");
    }
    const after = await available();
    expect(after).not.toContain("bpfload_mini");
    expect(after).not.toContain("bpfload_mini_l");
    // the kernel frees struct_ops maps and their programs after an RCU grace period
    expect(await eventually(() => ours().progs.length === 0 && ours().maps.length === 0)).toBe(true);
    expect(json(["struct_ops", "list"])).toEqual([]);
  }, 30000);

  test("with --no-attach the maps are created and the programs loaded, nothing registered (as bpftool prog loadall)", async () => {
    const r = await runCli(["load", `${FIX}/struct_ops/struct_ops_ca.o`, "--no-attach"]);
    expect(r.stderr).not.toContain("bpfload:");
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("loaded 'mini_cong_avoid' as a struct_ops program");
    expect(r.stderr).toContain("map 'bpfload_mini' (struct_ops)");
    expect(r.stderr).not.toContain("attached");
    expect(await available()).not.toContain("bpfload_mini");
  });

  test("a SIGINT unregisters it too", async () => {
    const proc = Bun.spawn([process.execPath, `${REPO}/src/main.ts`, "load", `${FIX}/struct_ops/struct_ops_ca.o`], { stdout: "pipe", stderr: "pipe" });
    expect(await eventually(async () => (await available()).includes("bpfload_mini_l"))).toBe(true);
    proc.kill("SIGINT");
    expect(await proc.exited).toBe(0);
    const after = await available();
    expect(after).not.toContain("bpfload_mini");
    expect(after).not.toContain("bpfload_mini_l");
  }, 30000);
});

// --- the selftests' struct_ops objects (Linux 6.1), built as test/conformance/selftests.sh builds them
const SRC = "/usr/src/linux-source-6.1.tar.xz";
const SELFTESTS = ["bpf_cubic", "bpf_dctcp", "dummy_st_ops", "tcp_ca_incompl_cong_ops", "tcp_ca_write_sk_pacing"];
const clang = Bun.which("clang");
const skipSelftests = skip ?? (!existsSync(SRC) ? `no ${SRC}` : !clang ? "no clang" : undefined);
if (!skip && skipSelftests) console.warn(`[skip] selftests struct_ops objects: ${skipSelftests}`);

describe.skipIf(!!skipSelftests)("the selftests' struct_ops objects", () => {
  const work = skipSelftests ? "" : mkdtempSync("/tmp/bpfload-sops-");
  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  test("bpf_cubic, bpf_dctcp, dummy_st_ops, tcp_ca_incompl_cong_ops, tcp_ca_write_sk_pacing load with --no-attach, as with bpftool prog loadall", async () => {
    const tree = `${work}/linux-source-6.1`;
    const self = `${tree}/tools/testing/selftests/bpf`;
    const x = Bun.spawnSync(["tar", "-C", work, "-xJf", SRC, "--wildcards", "linux-source-6.1/tools/testing/selftests/bpf/*", "linux-source-6.1/tools/include/*", "linux-source-6.1/tools/lib/bpf/*"]);
    expect(x.exitCode).toBe(0);
    const vmlinuxH = Bun.spawnSync([bpftool!, "btf", "dump", "file", "/sys/kernel/btf/vmlinux", "format", "c"]);
    await Bun.write(`${work}/vmlinux.h`, vmlinuxH.stdout);
    const search = Bun.spawnSync([clang!, "-v", "-E", "-"], { stdin: new Uint8Array(0) }).stderr.toString();
    const sys = search.split("\n").slice(search.split("\n").findIndex((l) => l.includes("<...> search starts here:")) + 1).filter((l) => l.startsWith(" ")).flatMap((l) => ["-idirafter", l.trim()]);
    for (const n of SELFTESTS) {
      const obj = `${work}/${n}.o`;
      const cc = Bun.spawnSync([clang!, "-g", "-O2", "-target", "bpf", "-mcpu=v3", "-D__TARGET_ARCH_x86", `-I${work}`, `-I${self}`, `-I${tree}/tools/include/uapi`, ...sys, "-Wno-compare-distinct-pointer-types", "-c", `${self}/progs/${n}.c`, "-o", obj]);
      expect(cc.stderr.toString()).not.toContain("error");
      const pin = `/sys/fs/bpf/bpfload-sops-${process.pid}`;
      const theirs = Bun.spawnSync([bpftool!, "prog", "loadall", obj, pin]);
      rmSync(pin, { recursive: true, force: true });
      expect(`${n}: bpftool ${theirs.exitCode}`).toBe(`${n}: bpftool 0`);
      const r = await runCli(["load", obj, "--no-attach"], { timeoutMs: 60000 });
      expect(`${n}: ${r.code} ${r.stderr.split("\n").find((l) => l.startsWith("bpfload:")) ?? ""}`).toBe(`${n}: 0 `);
      expect(r.stderr).toContain("as a struct_ops program");
    }
    // registering one the kernel refuses (no cong_avoid nor cong_control): one line, exit 1, nothing left
    const r = await runCli(["load", `${work}/tcp_ca_incompl_cong_ops.o`, "--duration", "0"], { timeoutMs: 60000 });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("bpfload: register struct_ops:incompl_cong_ops (tcp_congestion_ops): BPF_MAP_UPDATE_ELEM: EINVAL");
    expect(await available()).not.toContain("bpf_incompl_ops");
    expect(json(["struct_ops", "list"])).toEqual([]);
  }, 180000);
});

// Iterators on the running kernel: `bpfload load task_iter.o` creates the bpf_link, runs the
// iterator once, prints its text like `cat` of a pinned iterator and stops. Oracles: a process
// started here must be listed with its pid and name; the kernel threads' lines equal those of
// `bpftool iter pin` + cat; bpftool shows nothing of ours afterwards. Run with the kernel lock.
import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { canUseKernel, REPO, runCli } from "../support.ts";

const FIX = `${REPO}/test/fixtures`;
const bpftool = Bun.which("bpftool");
/**
 * task_iter.o reads task_struct's pid and comm at the offsets of the kernel it was built on
 * (test/fixtures/build.sh): on another kernel the test would read other fields. Compared with
 * this kernel's BTF, from the object's own instructions ("r3 = *(u32 *)(r2 + PID)", "r2 += COMM").
 */
function fixtureFitsKernel(): string | undefined {
  const { Btf, BTF_KIND_STRUCT, memberBitOffset } = require("../../src/elf/btf.ts") as typeof import("../../src/elf/btf.ts");
  const btf = new Btf(new Uint8Array(readFileSync("/sys/kernel/btf/vmlinux")));
  const task = btf.find(BTF_KIND_STRUCT, "task_struct")!;
  const at = (name: string) => memberBitOffset(task, task.members!.find((m) => m.name === name)!) / 8;
  const listing = readFileSync(`${FIX}/task_iter.objdump.txt`, "utf8");
  const pid = Number(listing.match(/r3 = \*\(u32 \*\)\(r2 \+ (\d+)\)/)?.[1]);
  const comm = Number(listing.match(/r2 \+= (\d+)/)?.[1]);
  if (pid === at("pid") && comm === at("comm")) return undefined;
  return `task_iter.o was built for task_struct pid@${pid} comm@${comm}, this kernel has pid@${at("pid")} comm@${at("comm")}: rebuild it with test/fixtures/build.sh`;
}

const skip = !canUseKernel ? "kernel tests need root" : !existsSync("/sys/kernel/btf/vmlinux") ? "no /sys/kernel/btf/vmlinux (CONFIG_DEBUG_INFO_BTF)" : !bpftool ? "no bpftool (the oracle)" : fixtureFitsKernel();
if (skip) console.warn(`[skip] iterator tests: ${skip}`);

const progNames = (): string[] => (JSON.parse(Bun.spawnSync([bpftool!, "prog", "show", "-j"]).stdout.toString() || "[]") as { name?: string }[]).map((p) => p.name ?? "");
const linkIds = (): number[] => (JSON.parse(Bun.spawnSync([bpftool!, "link", "show", "-j"]).stdout.toString() || "[]") as { id: number }[]).map((l) => l.id);

async function eventually(ok: () => boolean, ms = 3000): Promise<boolean> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) return false;
    await Bun.sleep(50);
  }
  return true;
}

/** Lines of kernel threads with small pids: the same in two runs a moment apart. */
const stableLines = (text: string) => text.split("\n").filter((l) => /^\d+ /.test(l) && Number(l.split(" ")[0]) < 40).sort();

describe.skipIf(!!skip)("iterators on the running kernel", () => {
  test("task_iter.o prints one 'PID COMM' line per task and stops, with no trace_pipe watch", async () => {
    const child = Bun.spawn(["sleep", "30"]);
    try {
      const r = await runCli(["load", `${FIX}/task_iter.o`, "--verbose"]);
      expect(r.stderr).not.toContain("bpfload:");
      expect(r.code).toBe(0);
      expect(r.stderr).toContain("attached 'dump_task' to iter:task");
      // --verbose names the BTF target and its id, the one bpftool gives FUNC bpf_iter_task
      const dump = Bun.spawnSync([bpftool!, "btf", "dump", "file", "/sys/kernel/btf/vmlinux", "format", "raw"]).stdout.toString();
      const id = dump.match(/^\[(\d+)\] FUNC 'bpf_iter_task'/m)![1];
      expect(r.stderr).toContain(`'dump_task' loaded against BTF type 'bpf_iter_task' (attach_btf_id ${id} in vmlinux)`);
      expect(r.stderr).toContain("detached (the iterator ran to its end)");
      expect(r.stderr).not.toContain("watching trace_pipe");
      const lines = r.stdout.trimEnd().split("\n");
      expect(lines.every((l) => /^\d+ \S/.test(l))).toBe(true);
      expect(lines).toContain(`${child.pid} sleep`);
      expect(lines).toContain(`${process.pid} ${readFileSync("/proc/self/comm", "utf8").trim().slice(0, 15)}`);
      // the link is gone with the run, and the program with it
      const linkId = Number(r.stderr.match(/bpf_link id (\d+)/)![1]);
      expect(await eventually(() => !linkIds().includes(linkId))).toBe(true);
      expect(await eventually(() => !progNames().includes("dump_task"))).toBe(true);
    } finally {
      child.kill();
    }
  });

  test("the same text as bpftool iter pin + cat (kernel threads, which do not change between the runs)", async () => {
    const pin = `/sys/fs/bpf/bpfload_iter_oracle_${process.pid}`;
    let oracle: string;
    try {
      const p = Bun.spawnSync([bpftool!, "iter", "pin", `${FIX}/task_iter.o`, pin]);
      expect(p.exitCode).toBe(0);
      oracle = readFileSync(pin, "utf8");
    } finally {
      rmSync(pin, { force: true });
    }
    const r = await runCli(["load", `${FIX}/task_iter.o`]);
    expect(r.code).toBe(0);
    expect(stableLines(oracle).length).toBeGreaterThan(3);
    expect(stableLines(r.stdout)).toEqual(stableLines(oracle));
  });

  test("an iterator-only object runs while another process reads trace_pipe (it never opens it)", async () => {
    const tracefs = ["/sys/kernel/tracing", "/sys/kernel/debug/tracing"].find((d) => existsSync(`${d}/trace_pipe`));
    if (!tracefs) return console.warn("[skip] no tracefs");
    const reader = Bun.spawn(["cat", `${tracefs}/trace_pipe`], { stdout: "ignore", stderr: "ignore" });
    try {
      await Bun.sleep(200); // let it open the pipe
      const r = await runCli(["load", `${FIX}/task_iter.o`]);
      expect(r.stderr).not.toContain("bpfload:");
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(" kthreadd\n");
    } finally {
      reader.kill();
      await reader.exited;
    }
  });

  test("--json: the text as one iterator event", async () => {
    const r = await runCli(["load", `${FIX}/task_iter.o`, "--json"]);
    expect(r.code).toBe(0);
    const events = r.stdout.trim().split("\n").map((l) => JSON.parse(l));
    const it = events.find((e) => e.type === "iterator");
    expect(it.target).toBe("iter:task");
    expect(it.text).toContain(`\n${process.pid} `);
    expect(events.at(-1)).toMatchObject({ type: "exit", reason: "iterator" });
  });
});

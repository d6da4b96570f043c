// freplace on the running kernel: freplace_target.o's XDP program is loaded and pinned (its global
// function decide() passes every packet), freplace.o replaces decide() through --target (pin path
// or program id), and BPF_PROG_TEST_RUN of the pinned program sees the verdict change while the
// replacement is attached and come back once bpfload is gone. Oracles: `bpftool prog run` for the
// return value, `bpftool link show` for the link, `bpftool prog show` for nothing left loaded.
// Kernels that refuse trampolines (this development host: EPERM for fentry to libbpf too) get the
// refusal checked instead. Run with the shared kernel lock (flock /tmp/bpfload-kernel.lock).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { rmSync, writeFileSync } from "node:fs";
import { parseFreplaceTarget } from "../../src/kernel/attach/freplace.ts";
import { canUseKernel, MAIN, REPO, runCli } from "../support.ts";
import { cliText } from "../cli-text.ts";

const FIX = `${REPO}/test/fixtures`;
const bpftool = Bun.which("bpftool");
const skip = !canUseKernel ? "kernel tests need root" : !bpftool ? "no bpftool (the oracle)" : undefined;
if (skip) console.warn(`[skip] freplace tests: ${skip}`);

/** libbpf (bpftool) as the judge of whether this kernel takes trampoline programs at all. */
function trampolinesRefused(): string | undefined {
  if (skip) return undefined;
  const pin = `/sys/fs/bpf/bpfload_frep_probe_${process.pid}`;
  const r = Bun.spawnSync([bpftool!, "prog", "load", `${FIX}/fentry.o`, pin]);
  rmSync(pin, { force: true });
  return r.exitCode === 0 ? undefined : `this kernel refuses trampoline programs to libbpf too (bpftool prog load fentry.o: exit ${r.exitCode})`;
}
const refused = trampolinesRefused();
if (refused) console.warn(`[skip] freplace attach test: ${refused}; the refusal is tested instead`);

const DIR = `/sys/fs/bpf/bpfload_frep_${process.pid}`;
const TARGET = `${DIR}/xdp_entry`;
const PACKET = `/tmp/bpfload_frep_${process.pid}.bin`;
const XDP_DROP = 1;
const XDP_PASS = 2;

const progNames = (): string[] => (JSON.parse(Bun.spawnSync([bpftool!, "prog", "show", "-j"]).stdout.toString() || "[]") as { name?: string }[]).map((p) => p.name ?? "");
const links = (): { id: number; prog_id: number }[] => JSON.parse(Bun.spawnSync([bpftool!, "link", "show", "-j"]).stdout.toString() || "[]");

/** The pinned target's return value on a 64-byte packet, by bpftool and by `bpfload run`: both must agree. */
async function retval(): Promise<number> {
  const tool = Bun.spawnSync([bpftool!, "prog", "run", "pinned", TARGET, "data_in", PACKET]);
  const m = tool.stdout.toString().match(/Return value: (\d+)/);
  if (!m) throw new Error(`bpftool prog run: ${tool.stderr}`);
  const ours = await runCli(["run", TARGET, "--data", `@${PACKET}`, "--json"]);
  expect(ours.code).toBe(0);
  expect(JSON.parse(ours.stdout).retval).toBe(Number(m[1]));
  return Number(m[1]);
}

async function eventually(ok: () => boolean, ms = 3000): Promise<boolean> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) return false;
    await Bun.sleep(50);
  }
  return true;
}

/** Runs freplace.o against `target` until its link is up, checks the verdict, stops it with SIGTERM. */
async function replaceWhileAttached(target: string): Promise<void> {
  const proc = Bun.spawn([process.execPath, MAIN, "load", `${FIX}/freplace.o`, "--target", target, "--duration", "25", "--verbose"], { stdout: "pipe", stderr: "pipe", stdin: "ignore", timeout: 30000 });
  let stderr = "";
  const reading = (async () => {
    const dec = new TextDecoder();
    for await (const chunk of proc.stderr as unknown as AsyncIterable<Uint8Array>) stderr += dec.decode(chunk);
  })();
  const end = Date.now() + 15000;
  while (!/watching trace_pipe/.test(stderr) && Date.now() < end && proc.exitCode === null) await Bun.sleep(20);
  expect(stderr).toContain("attached 'new_decide' to freplace:decide");
  expect(stderr).toContain("'new_decide' replaces function 'decide'");
  const linkId = Number(stderr.match(/bpf_link id (\d+)/)?.[1]);
  expect(links().some((l) => l.id === linkId)).toBe(true);
  expect(await retval()).toBe(XDP_DROP);
  proc.kill("SIGTERM");
  const [code] = await Promise.all([proc.exited, reading]);
  expect(stderr).not.toContain("bpfload:");
  expect(code).toBe(0);
  expect(await eventually(() => !links().some((l) => l.id === linkId))).toBe(true);
  expect(await eventually(() => !progNames().includes("new_decide"))).toBe(true);
  expect(await retval()).toBe(XDP_PASS);
}

describe.skipIf(!!skip)("freplace: a global function of a loaded program replaced (--target)", () => {
  beforeAll(async () => {
    writeFileSync(PACKET, new Uint8Array(64));
    const r = await runCli(["load", `${FIX}/freplace_target.o`, "--pin", DIR, "--no-attach"]);
    if (r.code !== 0) throw new Error(`target did not load: ${r.stderr}`);
  });
  afterAll(() => {
    rmSync(DIR, { recursive: true, force: true });
    rmSync(PACKET, { force: true });
  });

  test("the target alone passes (its decide())", async () => {
    expect(await retval()).toBe(XDP_PASS);
  });

  test.skipIf(!!refused)("by pin path: XDP_DROP while attached (a tracing link), XDP_PASS again after SIGTERM, nothing left", async () => {
    await replaceWhileAttached(`${TARGET}:decide`);
  });

  test.skipIf(!!refused)("by program id, the function from the section (freplace/decide)", async () => {
    const id = (JSON.parse(Bun.spawnSync([bpftool!, "prog", "show", "pinned", TARGET, "-j"]).stdout.toString()) as { id: number }).id;
    await replaceWhileAttached(String(id));
  });

  test.skipIf(!refused)("where the kernel refuses trampolines (as it does libbpf): EPERM on one line naming freplace, exit 1, nothing left", async () => {
    const r = await runCli(["load", `${FIX}/freplace.o`, "--target", `${TARGET}:decide`, "--duration", "0"]);
    expect(r.stderr.split("\n")[0]).toMatch(/^bpfload: load program 'new_decide': BPF_PROG_LOAD: EPERM .*refuses freplace ones, which run through BPF trampolines/);
    expect(r.code).toBe(1);
    expect(await eventually(() => !progNames().includes("new_decide"))).toBe(true);
    expect(await retval()).toBe(XDP_PASS);
  });

  test("mistakes are usage errors before anything loads: no --target, a function the target lacks, a bad ref, --target without an freplace program", async () => {
    const none = await runCli(["load", `${FIX}/freplace.o`, "--no-attach"]);
    expect(none.stderr).toContain("replaces a function of another loaded program (freplace): name that program with --target PROG_ID:FUNC");
    expect(none.code).toBe(2);
    const missing = await runCli(["load", `${FIX}/freplace.o`, "--target", `${TARGET}:nope`, "--no-attach"]);
    expect(missing.stderr).toContain("no function 'nope' in the BTF of program 'xdp_entry'");
    expect(missing.stderr).toContain("'decide'");
    expect(missing.code).toBe(2);
    const bad = await runCli(["load", `${FIX}/freplace.o`, "--target", "decide", "--no-attach"]);
    expect(bad.stderr).toContain("bad --target 'decide'");
    expect(bad.code).toBe(2);
    const notExt = await runCli(["load", `${FIX}/freplace_target.o`, "--target", `${TARGET}:decide`, "--no-attach"]);
    expect(notExt.stderr).toContain("--target names what an freplace program replaces");
    expect(notExt.code).toBe(2);
    expect(progNames()).not.toContain("new_decide");
  });
});

describe("--target parsing (pure)", () => {
  test("PROG_ID[:FUNC], id:N, PIN_PATH[:FUNC], name:NAME[:FUNC]", () => {
    expect(parseFreplaceTarget("12:decide")).toEqual({ ref: { by: "id", id: 12 }, func: "decide" });
    expect(parseFreplaceTarget("12")).toEqual({ ref: { by: "id", id: 12 } });
    expect(parseFreplaceTarget("id:12")).toEqual({ ref: { by: "id", id: 12 } });
    expect(parseFreplaceTarget("id:12:decide")).toEqual({ ref: { by: "id", id: 12 }, func: "decide" });
    expect(parseFreplaceTarget("/sys/fs/bpf/x/xdp_entry:decide")).toEqual({ ref: { by: "path", path: "/sys/fs/bpf/x/xdp_entry" }, func: "decide" });
    expect(parseFreplaceTarget("/sys/fs/bpf/x/xdp_entry")).toEqual({ ref: { by: "path", path: "/sys/fs/bpf/x/xdp_entry" } });
    expect(parseFreplaceTarget("name:xdp_entry")).toEqual({ ref: { by: "name", name: "xdp_entry" } });
    expect(parseFreplaceTarget("name:xdp_entry:decide")).toEqual({ ref: { by: "name", name: "xdp_entry" }, func: "decide" });
    expect(() => parseFreplaceTarget("decide")).toThrow("bad freplaceTarget 'decide'");
    expect(cliText(() => parseFreplaceTarget("decide"))).toStartWith("bad --target 'decide'");
    expect(cliText(() => parseFreplaceTarget("12:"))).toStartWith("bad --target");
  });
});

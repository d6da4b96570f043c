// --pin on the real bpffs: links planted by other users are not followed, dotted names pin, a failed
// run leaves nothing behind, and the errors are one line with the errno name. Run under
// /tmp/bpfload-kernel.lock; everything made here is removed.
import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, unlinkSync } from "node:fs";
import { pinName } from "../../src/kernel/pin.ts";
import { canUseKernel, REPO, runCli } from "../support.ts";

const GLOBALS = `${REPO}/test/fixtures/globals.o`;
const BPFFS = "/sys/fs/bpf";
const made: string[] = [];
const scratch = (name: string) => {
  const p = `${BPFFS}/bpfload_sectest_${name}_${process.pid}`;
  made.push(p);
  return p;
};

afterEach(() => {
  for (const p of made.splice(0)) rmSync(p, { recursive: true, force: true });
});

test("pin names follow libbpf: dots become '_' (bpffs refuses them)", () => {
  expect(pinName(".rodata")).toBe("_rodata");
  expect(pinName(".rodata.str1.1")).toBe("_rodata_str1_1");
  expect(pinName("counts")).toBe("counts");
});

describe.skipIf(!canUseKernel)("--pin on the running kernel", () => {
  test("a symlink planted in /sys/fs/bpf is not followed, and nothing is created where it points", async () => {
    const target = mkdtempSync("/tmp/bpfload-sec-out-");
    const link = scratch("lnk");
    symlinkSync(target, link);
    try {
      const r = await runCli(["load", GLOBALS, "--pin", `${link}/sub`, "--no-attach"]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`${link} is a symbolic link`);
      expect(readdirSync(target)).toEqual([]);
    } finally {
      unlinkSync(link);
      rmSync(target, { recursive: true, force: true });
    }
  });

  test("an object with .data/.rodata/.bss pins, and its maps dump back (bpftool agrees where present)", async () => {
    const dir = scratch("globals");
    const r = await runCli(["load", GLOBALS, "--pin", dir, "--no-attach"]);
    expect(r.stderr).not.toContain("bpfload:");
    expect(r.code).toBe(0);
    for (const f of ["_data", "_rodata", "_bss", "globals_prog"]) expect(existsSync(`${dir}/${f}`)).toBe(true);
    const dump = await runCli(["map", "dump", `${dir}/_rodata`]);
    expect(dump.code).toBe(0);
    expect(dump.stderr + dump.stdout).toContain("2a 00 00 00");
    const bpftool = Bun.which("bpftool");
    if (bpftool) expect(Bun.spawnSync([bpftool, "map", "show", "pinned", `${dir}/_rodata`]).stdout.toString()).toContain("array");
  });

  test("a failed load leaves no pin directory (as nobody, who may mkdir in /sys/fs/bpf but not load)", async () => {
    if (!Bun.which("setpriv")) return;
    const dir = scratch("nobody");
    const p = Bun.spawnSync(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", process.execPath, `${REPO}/src/main.ts`, "load", GLOBALS, "--pin", `${dir}/deep`, "--no-attach"]);
    expect(p.exitCode).toBe(1);
    expect(existsSync(dir)).toBe(false);
  });

  test("when pinning fails halfway, the pins and directories of this run are removed, and only those", async () => {
    const dir = scratch("half");
    mkdirSync(dir);
    mkdirSync(`${dir}/_bss`); // somebody's entry where a map would go: that pin fails with EEXIST
    const r = await runCli(["load", GLOBALS, "--pin", dir, "--no-attach"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/pin map '\.bss' at .*\/_bss: the file exists/);
    expect(readdirSync(dir)).toEqual(["_bss"]);

    const r2 = await runCli(["load", GLOBALS, "--pin", `${dir}/_bss/new/deeper`, "--no-attach"]);
    expect(r2.code).toBe(0); // a path through an existing directory works
    rmSync(`${dir}/_bss/new`, { recursive: true });
  });

  test("a.b, a path under a pinned file, and map dump outside bpffs: one line with the reason", async () => {
    const dir = scratch("errs");
    const dotted = await runCli(["load", GLOBALS, "--pin", `${dir}.b`, "--no-attach"]);
    expect(dotted.code).toBe(2);
    expect(dotted.stderr).toMatch(/refuses names with a '\.' \(EPERM\)/);
    expect(existsSync(`${dir}.b`)).toBe(false);

    expect((await runCli(["load", GLOBALS, "--pin", dir, "--no-attach"])).code).toBe(0);
    const under = await runCli(["load", GLOBALS, "--pin", `${dir}/_data/sub`, "--no-attach"]);
    expect(under.code).toBe(2);
    expect(under.stderr).toMatch(/_data is not a directory .*ENOTDIR/);

    for (const r of [dotted, under]) {
      expect(r.stderr).not.toContain("internal error");
      expect(r.stderr.trim().split("\n").length).toBe(1);
    }
    const dump = await runCli(["map", "dump", "/etc/hostname"]);
    expect(dump.code).toBe(2);
    expect(dump.stderr).toContain("/etc/hostname is not on a BPF filesystem");
    expect(dump.stderr).not.toContain("EACCES");
  });
});

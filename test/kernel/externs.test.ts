// Externs on the running kernel, each against an independent oracle: __kconfig values against
// the config file read by zcat and against the .kconfig map libbpf (bpftool) fills for the same
// object; the untyped __ksym against /proc/kallsyms read here; kfunc calls against `bpftool prog
// dump xlated` of the object bpftool loaded; the typed __ksym against the VAR id bpftool's BTF dump
// gives (this host's kernel, built without CONFIG_KALLSYMS_ALL, then refuses it for libbpf too).
import { afterAll, describe, expect, test } from "bun:test";
import { readFileSync, rmSync } from "node:fs";
import { readObject } from "../../src/elf/index.ts";
import { linkProgram } from "../../src/elf/link.ts";
import { SyscallError } from "../../src/errors.ts";
import { loadCollection } from "../../src/kernel/collection.ts";
import { setFeatureAnswer } from "../../src/kernel/features/probes.ts";
import { KsymResolver } from "../../src/kernel/externs/ksyms.ts";
import { testRun } from "../../src/kernel/test-run.ts";
import { kernelVersion } from "../../src/kernel/program.ts";
import { bpfObjPin } from "../../src/sys/bpf.ts";
import { kernelSkipReason, REPO, runCli } from "../support.ts";

const FIX = `${REPO}/test/fixtures`;
const bpftool = Bun.which("bpftool");
const skip = kernelSkipReason ?? (!bpftool ? "no bpftool (apt-get install bpftool)" : undefined);
const PIN = `/sys/fs/bpf/bpfload-externs-${process.pid}`;
afterAll(() => {
  for (const p of [PIN, `${PIN}-maps`, `${PIN}-k`, `${PIN}-ours`, `${PIN}-kconfig`]) rmSync(p, { recursive: true, force: true });
});

const sh = (cmd: string) => Bun.spawnSync(["sh", "-c", cmd]).stdout.toString();
/** The config the way a user reads it (zcat; /boot as a fallback). */
const configLine = (name: string) => {
  const text = sh(`zcat /proc/config.gz 2>/dev/null || cat /boot/config-$(uname -r)`);
  return text.split("\n").find((l) => l.startsWith(`${name}=`))?.slice(name.length + 1);
};
const u64 = (b: Uint8Array, off: number) => new DataView(b.buffer, b.byteOffset).getBigUint64(off, true);

async function load(name: string) {
  const elf = new Uint8Array(readFileSync(`${FIX}/${name}.o`));
  const obj = await readObject(elf, `${name}.o`);
  return { obj, col: loadCollection(obj, { elf }) };
}

describe.skipIf(!!skip)("externs on this kernel (bpfload and libbpf side by side)", () => {
  test("externs.o: each __kconfig value is the config's, LINUX_* are right, the untyped __ksym is its kallsyms address, weak missing ones are 0", async () => {
    const { col } = await load("externs");
    try {
      const p = col.programs[0]!.program;
      expect(testRun(p).retval).toBe(0);
      const seen = col.maps.get(".bss")!.lookup(new Uint8Array(4))!;
      const uname = sh("uname -r").trim().match(/^(\d+)\.(\d+)\.(\d+)/)!;
      const expectVersion = (+uname[1]! << 16) + (+uname[2]! << 8) + Math.min(+uname[3]!, 255);
      expect(Number(u64(seen, 0))).toBe(expectVersion);
      expect(Number(u64(seen, 0))).toBe(kernelVersion().code);
      expect(u64(seen, 8)).toBe(configLine("CONFIG_BPF_SYSCALL") === "y" ? 1n : 0n);
      const jit = configLine("CONFIG_BPF_JIT");
      expect(u64(seen, 16)).toBe(jit === "y" ? 1n : jit === "m" ? 2n : 0n);
      expect(u64(seen, 24)).toBe(BigInt(configLine("CONFIG_NR_CPUS") ?? "0"));
      const host = new TextDecoder().decode(seen.subarray(32, 48)).replace(/\0.*$/s, "");
      expect(`"${host}"`).toBe(configLine("CONFIG_DEFAULT_HOSTNAME")!);
      expect(u64(seen, 48)).toBe(0n); // CONFIG_BPFLOAD_NO_SUCH_OPTION: weak, absent
      expect(u64(seen, 56)).toBe(1n); // LINUX_HAS_BPF_COOKIE: 5.15+
      const kallsyms = sh("grep ' bpf_prog_put$' /proc/kallsyms").trim().split(" ")[0]!;
      expect(u64(seen, 64)).toBe(BigInt(`0x${kallsyms}`));
      expect(u64(seen, 72)).toBe(0n); // bpfload_no_such_symbol: weak, absent
    } finally {
      col.close();
    }
  });

  test("externs.o: the .kconfig map holds the bytes libbpf puts in it (bpftool loads the same object)", async () => {
    const r = Bun.spawnSync([bpftool!, "prog", "loadall", `${FIX}/externs.o`, PIN, "pinmaps", `${PIN}-maps`]);
    expect(r.exitCode).toBe(0);
    const dump = JSON.parse(sh(`${bpftool} -j map dump pinned ${PIN}-maps/externs_kconfig`));
    // bpftool prints the value through BTF: the DATASEC's variables in order, with their values
    const theirs = dump[0].formatted.value[".kconfig"].map((o: Record<string, unknown>) => Object.entries(o)[0]);
    const { col } = await load("externs");
    try {
      const m = col.maps.get(".kconfig")!;
      expect(m.def.valueSize).toBe(Number(sh(`${bpftool} -j map show pinned ${PIN}-maps/externs_kconfig`).match(/"bytes_value":(\d+)/)![1]));
      expect(bpfObjPin(m.fd, `${PIN}-kconfig`).ret).toBe(0);
      const mine = sh(`${bpftool} -j map dump pinned ${PIN}-kconfig`);
      const ours = JSON.parse(mine)[0].formatted.value[".kconfig"].map((o: Record<string, unknown>) => Object.entries(o)[0]);
      expect(ours).toEqual(theirs);
    } finally {
      col.close();
    }
  });

  test("kfuncs.o: the calls are those libbpf makes (bpftool prog dump xlated), they run, and the weak missing kfunc is dead code", async () => {
    rmSync(`${PIN}-k`, { recursive: true, force: true });
    const r = Bun.spawnSync([bpftool!, "prog", "loadall", `${FIX}/kfuncs.o`, `${PIN}-k`]);
    expect(r.exitCode).toBe(0);
    const xlated = (ref: string) => sh(`${bpftool} prog dump xlated ${ref}`).split("\n").map((l) => l.trim()).filter((l) => /call|goto|exit/.test(l));
    const theirs = xlated(`pinned ${PIN}-k/call_kfuncs`);
    expect(theirs.join("\n")).toContain("call bpf_task_from_pid#");
    const { col } = await load("kfuncs");
    try {
      const p = col.programs[0]!.program;
      expect(bpfObjPin(p.fd, `${PIN}-ours`).ret).toBe(0);
      expect(xlated(`pinned ${PIN}-ours`)).toEqual(theirs);
      expect(testRun(p).retval).toBe(0);
      const bss = col.maps.get(".bss")!.lookup(new Uint8Array(4))!;
      expect(u64(bss, 0)).toBe(1n); // bpf_task_from_pid(its own tgid) found the task and released it
      expect(u64(bss, 8)).toBe(7n); // bpf_ksym_exists(bpfload_no_such_kfunc) was false
    } finally {
      col.close();
    }
  });

  test("ksym_typed.o: ld_imm64 BPF_PSEUDO_BTF_ID of the kernel's VAR id (bpftool btf dump), the weak missing one 0; the kernel's refusal is libbpf's", async () => {
    const elf = new Uint8Array(readFileSync(`${FIX}/ksym_typed.o`));
    const obj = await readObject(elf, "ksym_typed.o");
    const varId = Number(sh(`${bpftool} btf dump file /sys/kernel/btf/vmlinux | grep "VAR 'bpf_prog_active'"`).match(/^\[(\d+)\]/)![1]);
    const ksyms = new KsymResolver(() => undefined, new Map(obj.externs!.map((e) => [e.name, e])));
    const insns = linkProgram(obj, obj.programs[0]!, { mapFd: () => 99, extern: (n, c) => ksyms.resolve(n, c, () => { throw new Error("no kconfig"); }) });
    const ldAt = (slot: number) => ({ src: insns[slot * 8 + 1]! >> 4, imm: new DataView(insns.buffer).getInt32(slot * 8 + 4, true), imm2: new DataView(insns.buffer).getInt32(slot * 8 + 12, true) });
    const rel = (sym: string) => obj.programs[0]!.relocations.find((r) => r.symbol === sym)!.insnIndex;
    expect(ldAt(rel("bpf_prog_active"))).toEqual({ src: 3, imm: varId, imm2: 0 });
    expect(ldAt(rel("bpfload_no_such_var"))).toEqual({ src: 0, imm: 0, imm2: 0 });
    const theirs = Bun.spawnSync([bpftool!, "prog", "loadall", `${FIX}/ksym_typed.o`, `${PIN}-t`]).stderr.toString();
    rmSync(`${PIN}-t`, { recursive: true, force: true });
    let err: unknown;
    try {
      loadCollection(obj, { elf }).close();
    } catch (e) {
      err = e;
    }
    if (theirs.includes("failed to find the address")) {
      expect(err).toBeInstanceOf(SyscallError);
      expect((err as Error).message).toContain("ENOENT");
      expect((err as Error).message).toContain("ldimm64 failed to find the address for kernel symbol 'bpf_prog_active'");
    } else {
      expect(err).toBeUndefined(); // a kernel with CONFIG_KALLSYMS_ALL: both load it
    }
  });

  test("refusals are one line: a strong __kconfig the config lacks (exit 1), a kfunc declared with the wrong arguments (exit 2); libbpf refuses both", async () => {
    const strong = await runCli(["load", `${FIX}/kconfig_strong.o`, "--no-attach"]);
    expect(strong.code).toBe(1);
    expect(strong.stderr.trim().split("\n")).toEqual([`bpfload: ${FIX}/kconfig_strong.o: extern 'CONFIG_BPFLOAD_NO_SUCH_OPTION' (__kconfig) is not in this kernel's config: declare it __weak to read 0 when absent`]);
    const bad = await runCli(["load", `${FIX}/kfunc_bad.o`, "--no-attach"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr.split("\n")[0]).toBe(`bpfload: ${FIX}/kfunc_bad.o: kfunc 'bpf_task_release' is declared with 2 arguments, the kernel's takes 1 (p): fix its declaration`);
    for (const name of ["kconfig_strong", "kfunc_bad"]) {
      const r = Bun.spawnSync([bpftool!, "prog", "loadall", `${FIX}/${name}.o`, `${PIN}-x`]);
      rmSync(`${PIN}-x`, { recursive: true, force: true });
      expect(r.exitCode).not.toBe(0);
    }
  });

  test("kconfig_fold.o: the values a test run returns are the config's, read from the .kconfig map and, played without global data (before 5.2), folded into constants", async () => {
    const elf = new Uint8Array(readFileSync(`${FIX}/kconfig_fold.o`));
    const obj = await readObject(elf, "kconfig_fold.o");
    const want = [kernelVersion().code, configLine("CONFIG_BPF_SYSCALL") === "y" ? 1 : 0];
    for (const globalData of [true, false]) {
      setFeatureAnswer("globalData", globalData);
      try {
        const col = loadCollection(obj, { elf });
        try {
          expect([globalData, col.maps.has(".kconfig")]).toEqual([globalData, globalData]);
          const got = col.programs.map((p) => testRun(p.program, { data: new Uint8Array(16) }).retval);
          expect([globalData, ...got]).toEqual([globalData, ...want]);
        } finally {
          col.close();
        }
      } finally {
        setFeatureAnswer("globalData", undefined);
      }
    }
  });

  test("kfunc_unguarded.o: a reachable call of a weak kfunc the kernel lacks is refused (libbpf too), its poison named in the one line", async () => {
    const r = await runCli(["load", `${FIX}/kfunc_unguarded.o`, "--no-attach"]);
    expect(r.code).toBe(1);
    expect(r.stderr.split("\n")[0]).toContain("invalid func unknown#2002000000 (the weak kfunc 'bpfload_no_such_kfunc', which this kernel lacks: guard its call with bpf_ksym_exists())");
    const theirs = Bun.spawnSync([bpftool!, "prog", "loadall", `${FIX}/kfunc_unguarded.o`, `${PIN}-u`]);
    rmSync(`${PIN}-u`, { recursive: true, force: true });
    expect(theirs.exitCode).not.toBe(0); // bpftool's libbpf 1.1 leaves `call #0` there; later ones poison as bpfload does
  });
});

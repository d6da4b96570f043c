// CO-RE on the running kernel: the engine's relocations equal libbpf's (bpftool's debug log) for
// every CO-RE fixture, a BPF_CORE_READ(p, real_parent, tgid) program prints the parent pid /proc
// gives, libbpf's poisoning (a guarded missing field loads, an unguarded one is named), a kernel
// without BTF is told to use --btf, and CollectionOptions.targetBtf replaces the kernel's BTF.
// Run with the shared kernel lock (flock /tmp/bpfload-kernel.lock).
import { describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { Btf, BTF_KIND_ENUM, BTF_KIND_STRUCT, memberBitOffset } from "../../src/elf/btf.ts";
import { readObject } from "../../src/elf/index.ts";
import { btfSource } from "../../src/kernel/btf/attach-target.ts";
import { loadCollection } from "../../src/kernel/collection.ts";
import { lazyCoreTarget, noKernelBtfMessage } from "../../src/kernel/btf/core-target.ts";
import { canUseKernel, MAIN, REPO } from "../support.ts";
import { bpfloadRelocations, compareRelocations, libbpfRelocations } from "./core-oracle.ts";
import { cliMessage } from "../../src/cli/flags.ts";
import type { BpfloadError } from "../../src/errors.ts";
import { cliText } from "../cli-text.ts";

const FIX = `${REPO}/test/fixtures`;
const bpftool = Bun.which("bpftool");
const hasBtf = existsSync("/sys/kernel/btf/vmlinux");
const skip = !canUseKernel ? "kernel tests need root" : !hasBtf ? "no /sys/kernel/btf/vmlinux (CONFIG_DEBUG_INFO_BTF)" : undefined;
if (skip) console.warn(`[skip] CO-RE kernel tests: ${skip}`);
const oracleSkip = skip ?? (bpftool ? undefined : "no bpftool (libbpf, the oracle)");
if (oracleSkip && !skip) console.warn(`[skip] CO-RE oracle tests: ${oracleSkip}`);

async function load(file: string, opts: Parameters<typeof loadCollection>[1] = {}) {
  const bytes = new Uint8Array(readFileSync(file));
  const obj = await readObject(bytes, file);
  return loadCollection(obj, { elf: bytes, keepGoing: true, ...opts });
}

describe.skipIf(!!oracleSkip)("CO-RE relocations against libbpf's", () => {
  for (const name of ["core", "core_kinds", "core_task"]) {
    test(`${name}.o: every relocation as libbpf applied it (bpftool -d prog loadall)`, async () => {
      const theirs = libbpfRelocations(`${FIX}/${name}.o`);
      const ours = await bpfloadRelocations(`${FIX}/${name}.o`);
      expect(theirs.lines.size).toBeGreaterThan(0);
      const c = compareRelocations(theirs, ours.lines);
      expect(c.disagree).toEqual([]);
      expect(c.agree).toBe(ours.results.length);
    });
  }
});

describe.skipIf(!!skip)("CO-RE objects on the running kernel", () => {
  test("core_kinds.o loads, one --verbose note per relocation", async () => {
    const col = await load(`${FIX}/core_kinds.o`);
    try {
      expect(col.failures.map((f) => f.error.message)).toEqual([]);
      const results = col.coreResults.get("core_kinds")!;
      expect(results.length).toBe(30);
      expect(results.filter((r) => r.poisoned)).toEqual([]);
      expect(col.notes.filter((n) => n.includes("CO-RE relocation")).length).toBe(30);
      expect(col.notes).toContain(`program 'core_kinds': CO-RE relocation 5 field_exists struct task_struct___old.state (0:0) at insn 66: not found in /sys/kernel/btf/vmlinux: 1 -> 0`);
    } finally {
      col.close();
    }
  });

  test("core_kinds.o run: each map slot holds what the kernel's BTF says (read without the engine)", async () => {
    const run = Bun.spawn([process.execPath, MAIN, "load", `${FIX}/core_kinds.o`, "--duration", "1.5", "--json"], { stdout: "pipe", stderr: "pipe" });
    const trigger = setInterval(() => Bun.spawnSync(["/bin/true"]), 100);
    const stdout = await new Response(run.stdout).text();
    clearInterval(trigger);
    expect(await run.exited).toBe(0);
    const map = stdout.split("\n").filter(Boolean).map((l) => JSON.parse(l)).find((o) => o.type === "map" && o.name === "out");
    const slot = (k: number): number => map.entries.find((e: { keyInt: number }) => e.keyInt === k)?.valueInts[0] ?? 0;
    const vm = new Btf(new Uint8Array(readFileSync("/sys/kernel/btf/vmlinux")));
    const task = vm.find(BTF_KIND_STRUCT, "task_struct")!;
    const member = (name: string) => task.members!.find((m) => m.name === name)!;
    const bit = (name: string) => memberBitOffset(task, member(name));
    const sid = vm.find(BTF_KIND_ENUM, "pid_type")!.values!.find((v) => v.name === "PIDTYPE_SID")!.value;
    expect(slot(0)).toBeGreaterThan(0); // some exec's parent tgid
    expect(slot(2)).toBe(vm.sizeOf(member("comm").type));
    expect([slot(3), slot(4), slot(8), slot(9), slot(15), slot(16), slot(20)]).toEqual([1, 0, 1, 0, 1, 0, 1]);
    expect(slot(6)).toBe(Math.floor(bit("in_iowait") / 32) * 4); // the 4-byte word holding the bitfield
    expect(slot(7)).toBe(0); // sk_buff.next, first member of the anonymous union
    expect(slot(10)).toBe(task.sizeOrType);
    expect(slot(11)).toBe(task.id);
    expect(slot(13)).toBe(20);
    expect(slot(17)).toBe(Number(sid));
    expect(slot(18)).toBe(bit("comm") / 8 + 3);
  });

  test("BPF_CORE_READ(p, real_parent, tgid) prints the parent pid that /proc gives", async () => {
    const run = Bun.spawn([process.execPath, MAIN, "load", `${FIX}/core_task.o`, "--program", "core_parent", "--duration", "20"], { stdout: "pipe", stderr: "pipe" });
    let stdout = "";
    const reading = (async () => {
      const dec = new TextDecoder();
      for await (const c of run.stdout as unknown as AsyncIterable<Uint8Array>) stdout += dec.decode(c);
    })();
    const stderr = new Response(run.stderr).text();
    let proc = "";
    let pid = 0;
    const end = Date.now() + 15000;
    // `exec grep`: the pid whose exec the program sees is the one whose /proc/self/status grep prints
    while (Date.now() < end && run.exitCode === null) {
      const child = Bun.spawnSync(["/bin/sh", "-c", "exec grep -E '^(Pid|PPid):' /proc/self/status"]);
      proc = child.stdout.toString();
      pid = Number(proc.match(/^Pid:\s+(\d+)/m)?.[1]);
      await Bun.sleep(200);
      if (stdout.includes(`bpfload core pid ${pid} `)) break;
    }
    run.kill("SIGTERM");
    await run.exited;
    await reading;
    const ppid = Number(proc.match(/^PPid:\s+(\d+)/m)?.[1]);
    expect(ppid).toBe(process.pid);
    expect(await stderr).not.toContain("bpfload:");
    expect(stdout).toContain(`bpfload core pid ${pid} ppid ${ppid}`);
  });

  test("a missing field guarded by bpf_core_field_exists loads; unguarded, the verifier's refusal names the relocation", async () => {
    const col = await load(`${FIX}/core_task.o`);
    try {
      expect(col.programs.map((p) => p.spec.name).sort()).toEqual(["core_guarded", "core_parent"]);
      expect(col.failures.length).toBe(1);
      const e = col.failures[0]!.error;
      expect(col.failures[0]!.spec.name).toBe("core_unguarded");
      expect(e.message).toContain("load program 'core_unguarded': BPF_PROG_LOAD: EINVAL");
      expect(e.message).toContain("relocation 4 (struct task_struct.no_such_field) could not be resolved on this kernel: the target's [");
      expect(e.message).toContain("] struct task_struct has no .no_such_field;");
      expect((e as { exitCode?: number }).exitCode).toBe(1);
    } finally {
      col.close();
    }
  });

  test("the CLI: exit 1 and the translated line for the unguarded program", async () => {
    const r = Bun.spawnSync([process.execPath, MAIN, "load", `${FIX}/core_task.o`, "--program", "core_unguarded", "--no-attach"]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr.toString()).toMatch(/^bpfload: load program 'core_unguarded': BPF_PROG_LOAD: EINVAL \(.*\): relocation 4 \(struct task_struct.no_such_field\) could not be resolved on this kernel/m);
  });

  test("no kernel BTF and no targetBtf: 'use --btf FILE' (exit 1: the kernel lacks it)", async () => {
    const empty = mkdtempSync(`${tmpdir()}/bpfload-nobtf-`);
    const saved = btfSource.dir;
    btfSource.dir = empty;
    try {
      let err: unknown;
      try {
        (await load(`${FIX}/core.o`, { keepGoing: false })).close();
      } catch (e) {
        err = e;
      }
      expect(String((err as Error)?.message)).toBe(String(noKernelBtfMessage(empty)));
      expect(String((err as Error)?.message)).toStartWith("no BTF for this kernel: use the btf option (a BTF file)");
      expect(cliMessage(err as BpfloadError)).toStartWith("no BTF for this kernel: use --btf FILE");
      expect((err as { exitCode?: number }).exitCode).toBe(1);
    } finally {
      btfSource.dir = saved;
      rmSync(empty, { recursive: true, force: true });
    }
  });

  test("targetBtf: relocations resolved against the BTF given, not the kernel's", async () => {
    // a target whose task_struct has tgid at 4 and no real_parent: the guarded program still loads
    const vmlinux = new Btf(new Uint8Array(readFileSync("/sys/kernel/btf/vmlinux")));
    const col = await load(`${FIX}/core.o`, { targetBtf: { source: "--btf test", targets: [{ name: "vmlinux", btf: vmlinux }] } });
    try {
      expect(col.programs.length).toBe(2);
      expect(col.notes.some((n) => n.includes("struct task_struct.tgid (0:1) at insn 3: [") && n.includes("in --btf test"))).toBe(true);
    } finally {
      col.close();
    }
  });
});

describe("the kernel's BTF as a CO-RE target, hostile files", () => {
  const withDir = (files: Record<string, Uint8Array>, f: () => void) => {
    const dir = mkdtempSync(`${tmpdir()}/bpfload-core-btf-`);
    for (const [name, bytes] of Object.entries(files)) writeFileSync(`${dir}/${name}`, bytes);
    const saved = btfSource.dir;
    btfSource.dir = dir;
    try {
      f();
    } finally {
      btfSource.dir = saved;
      rmSync(dir, { recursive: true, force: true });
    }
  };
  const good = existsSync("/sys/kernel/btf/vmlinux") ? new Uint8Array(readFileSync("/sys/kernel/btf/vmlinux")) : undefined;

  for (const [what, bytes] of [
    ["wrong magic", new Uint8Array(64).fill(7)],
    ["a truncated header", new Uint8Array([0x9f, 0xeb, 1, 0])],
    ["types cut in the middle", good?.subarray(0, 100_000)],
  ] as const) {
    test.skipIf(!bytes)(`vmlinux with ${what}: one clear error naming --btf, never a crash or hang`, () => {
      withDir({ vmlinux: bytes! }, () => {
        expect(() => lazyCoreTarget(undefined).open()).toThrow(/^\/.*\/vmlinux: .*: this kernel's BTF cannot be read; give a BTF file for it with the btf option$/);
        expect(cliText(() => lazyCoreTarget(undefined).open())).toMatch(/^\/.*\/vmlinux: .*: this kernel's BTF cannot be read; give a BTF file for it with --btf FILE$/);
      });
    });
  }

  test.skipIf(!good)("a 24-byte module BTF is a module without types; a garbage one stops the search, named (as in libbpf)", () => {
    const header = new Uint8Array(24);
    new DataView(header.buffer).setUint16(0, 0xeb9f, true);
    header[2] = 1;
    new DataView(header.buffer).setUint32(4, 24, true);
    withDir({ vmlinux: good!, tiny: header }, () => {
      expect(lazyCoreTarget(undefined).modules!().map((m) => m.name)).toEqual(["tiny"]); // a valid, empty split BTF
    });
    withDir({ vmlinux: good!, tiny: header, junk: new Uint8Array(10) }, () => {
      expect(() => lazyCoreTarget(undefined).modules!()).toThrow(/\/junk: .*the btf option$/);
      expect(cliText(() => lazyCoreTarget(undefined).modules!())).toMatch(/\/junk: .*--btf FILE$/);
    });
  });
});

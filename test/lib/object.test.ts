// The object model: read (pure), edit (variables through the --set rules, map sizes), load,
// programs by name, test runs, replacing a map with an existing one, pinning by name.
import { describe, expect, test } from "bun:test";
import { copyFileSync, existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { BpfloadError, createMap, load, openEvents, openPinnedMap, PIN_BY_NAME, readObject, InvalidArgumentError, VerifierError, assemble, loadProgram } from "../../src/index.ts";
import { collect } from "../../src/test.ts";
import { canUseKernel, kernelSkipReason, REPO } from "../support.ts";

const EXAMPLE = `${REPO}/examples/ci/counter.o`;
const GLOBALS = `${REPO}/test/fixtures/globals.o`;

test("readObject: programs, maps and BTF-typed variables by name (pure)", async () => {
  const spec = await readObject(EXAMPLE);
  expect([...spec.programs.keys()]).toEqual(["count_packets", "on_execve"]);
  expect(spec.programs.get("on_execve")!.attachTo).toBe("tracepoint:syscalls:sys_enter_execve");
  expect(spec.programs.get("count_packets")!.type).toBe("socket_filter");
  expect(spec.maps.get("execs")!.maxEntries).toBe(1024);
  expect(spec.maps.get("packets")!.type).toBe("percpu_array");
  const verdict = spec.variables.get("verdict")!;
  expect(verdict.section).toBe(".rodata");
  expect(verdict.constant).toBe(true);
  expect(verdict.get()).toBe(0);
  verdict.set(2);
  expect(verdict.get()).toBe(2);
  // the --set rules: range-checked by the BTF type
  expect(() => verdict.set(2 ** 32)).toThrow(InvalidArgumentError);
  expect(() => verdict.set(-1)).toThrow(/out of range/);
  spec.maps.get("execs")!.maxEntries = 16;
  expect(spec.maps.get("execs")!.maxEntries).toBe(16);
});

test("variables of every data section; structs and char arrays by value (pure)", async () => {
  const spec = await readObject(GLOBALS);
  expect(spec.variables.get("limit")!.get()).toBe(1000n);
  expect(spec.variables.get("flags_data")!.get()).toEqual([1, 2, 3, 4]);
  spec.variables.get("flags_data")!.set([9, 8]);
  expect(spec.variables.get("flags_data")!.get()).toEqual([9, 8, 0, 0]);
  expect(spec.variables.get("hits")!.section).toBe(".data");
  expect(spec.variables.get("misses")!.section).toBe(".bss");
});

describe.skipIf(!canUseKernel)(`loading${kernelSkipReason ? ` (${kernelSkipReason})` : ""}`, () => {
  test("load: a variable set before loading is what the program sees (test run), maps by name", async () => {
    const spec = await readObject(EXAMPLE);
    spec.variables.get("verdict")!.set(7);
    using coll = load(spec, { programs: ["count_packets"] });
    expect([...coll.programs.keys()]).toEqual(["count_packets"]);
    const r = coll.programs.get("count_packets")!.testRun({ data: new Uint8Array(64), repeat: 3 });
    expect(r.retval).toBe(7);
    const perCpu = coll.maps.get("packets")!.get(0) as bigint[];
    expect(perCpu.reduce((a, b) => a + b, 0n)).toBe(3n);
  });

  test("a resized map is created with the new size", async () => {
    const spec = await readObject(EXAMPLE);
    spec.maps.get("execs")!.maxEntries = 3;
    using coll = load(spec, { programs: ["count_packets"] });
    const execs = coll.maps.get("execs")!;
    expect(execs.maxEntries).toBe(3);
    for (let i = 0; i < 3; i++) execs.set(i, 1n);
    expect(() => execs.set(3, 1n)).toThrow(/E2BIG/);
  });

  test("replaceWith: two collections share one map; it stays the caller's", async () => {
    using shared = createMap({ name: "packets", type: "percpu_array", keySize: 4, valueSize: 8, maxEntries: 1 });
    const run = async () => {
      const spec = await readObject(EXAMPLE);
      spec.maps.get("packets")!.replaceWith(shared);
      using coll = load(spec, { programs: ["count_packets"] });
      coll.programs.get("count_packets")!.testRun({ data: new Uint8Array(64), repeat: 2 });
    };
    await run();
    await run();
    expect((shared.get(0) as bigint[]).reduce((a, b) => a + b, 0n)).toBe(4n);
    const spec = await readObject(EXAMPLE);
    using wrong = createMap({ type: "array", keySize: 4, valueSize: 8, maxEntries: 1 });
    spec.maps.get("packets")!.replaceWith(wrong);
    expect(() => load(spec, { programs: ["count_packets"] })).toThrow(/cannot be replaced by map 'array': it is array key 4 B value 8 B, the object wants percpu_array/);
  });

  test("pinning by name: the first load pins, the second reuses the pinned map", async () => {
    const dir = `/sys/fs/bpf/bpfload-libtest-${process.pid}`;
    require("node:fs").mkdirSync(dir, { recursive: true });
    try {
      const spec = await readObject(EXAMPLE);
      spec.maps.get("execs")!.pinning = PIN_BY_NAME;
      {
        using coll = load(spec, { programs: ["count_packets"], pinPath: dir });
        coll.maps.get("execs")!.set(42, 5n);
      }
      using pinned = openPinnedMap(`${dir}/execs`);
      expect(pinned.get(42)).toBe(5n);
      using again = load(spec, { programs: ["count_packets"], pinPath: dir });
      expect(again.maps.get("execs")!.get(42)).toBe(5n);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("attach by section, observe trace lines and ring buffer records with collect, clean up", async () => {
    const spec = await readObject(EXAMPLE);
    using coll = load(spec);
    using events = openEvents(coll.maps.get("events")!, { btf: spec.btf });
    let child = 0;
    const lines = await collect(coll.programs.get("on_execve")!, async () => {
      using link = coll.programs.get("on_execve")!.attach();
      expect(link.target).toBe("tracepoint:syscalls:sys_enter_execve");
      const p = Bun.spawn(["/bin/true"]);
      child = p.pid;
      await p.exited;
    });
    expect(lines.some((l) => l.pid === child && l.message === `execve by ${child}`)).toBe(true);
    const records = events.poll();
    expect(records.some((r) => (r.value as { pid: number }).pid === child)).toBe(true);
    expect(coll.maps.get("execs")!.get(child)).toBe(1n);
  });

  test("a rejected program: VerifierError whose message ends with the log's last line and the count left out", () => {
    let err: unknown;
    try {
      loadProgram({ name: "bad", type: "socket_filter", insns: assemble("r2 = 1\nr0 = *(u64 *)(r9 + 0)\nexit") });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(VerifierError);
    const v = err as VerifierError;
    expect(v.errnoName).toBe("EACCES");
    expect(v.message).toMatch(/R9 !read_ok \(\d+ lines? omitted\)$/);
    expect(v.log).toContain("R9 !read_ok");
  });
});

describe.skipIf(!canUseKernel)(`readers as async iterators${kernelSkipReason ? ` (${kernelSkipReason})` : ""}`, () => {
  test("for await over a ring buffer gets the record; closing the reader ends the iteration", async () => {
    const spec = await readObject(EXAMPLE);
    using coll = load(spec);
    using events = openEvents(coll.maps.get("events")!, { btf: spec.btf, pollMs: 2 });
    using link = coll.programs.get("on_execve")!.attach();
    const child = Bun.spawn(["/bin/true"]);
    await child.exited;
    const seen: number[] = [];
    const timer = setTimeout(() => events.close(), 3000); // ends the loop if the record never came
    for await (const r of events) {
      seen.push((r.value as { pid: number }).pid);
      if (seen.includes(child.pid)) events.close();
    }
    clearTimeout(timer);
    expect(seen).toContain(child.pid);
    expect(events.closed).toBe(true);
  });

  test("replaceWith takes a map's fd too", async () => {
    using shared = createMap({ type: "hash", keySize: 4, valueSize: 8, maxEntries: 1024 });
    const spec = await readObject(EXAMPLE);
    spec.maps.get("execs")!.replaceWith(shared.fd);
    {
      using coll = load(spec, { programs: ["count_packets"] });
      coll.maps.get("execs")!.set(5, 6n);
    }
    expect(shared.get(5)).toBe(6n);
  });
});

// The load options `bpfload load` has (--btf, --target, per-program failures for --no-attach), in the library.
const CORE_TASK = `${REPO}/test/fixtures/core_task.o`;
const KERNEL_BTF = "/sys/kernel/btf/vmlinux";
describe.skipIf(!canUseKernel || !existsSync(KERNEL_BTF))(`load options from the CLI${kernelSkipReason ? ` (${kernelSkipReason})` : ""}`, () => {
  test("keepGoing: the programs that load are there, the one the verifier refused is in failures with its error", async () => {
    const spec = await readObject(CORE_TASK);
    expect(() => load(spec)).toThrow(/relocation 4 \(struct task_struct\.no_such_field\) could not be resolved/);
    using coll = load(spec, { keepGoing: true });
    expect([...coll.programs.keys()].sort()).toEqual(["core_guarded", "core_parent"]);
    expect(coll.failures.map((f) => f.name)).toEqual(["core_unguarded"]);
    expect(coll.failures[0]!.error).toBeInstanceOf(BpfloadError);
    expect(coll.failures[0]!.error.message).toContain("load program 'core_unguarded': BPF_PROG_LOAD: EINVAL");
  });

  test("btf: CO-RE relocations resolved against the file given; a missing file is refused before any program", async () => {
    const dir = mkdtempSync(`${tmpdir()}/bpfload-lib-btf-`);
    try {
      const file = `${dir}/target.btf`;
      copyFileSync(KERNEL_BTF, file);
      const spec = await readObject(CORE_TASK);
      {
        using coll = load(spec, { btf: file, programs: ["core_parent"] });
        expect(coll.notes.some((n) => n.includes("CO-RE relocation") && n.includes(`in ${file}`))).toBe(true);
        expect(coll.notes.some((n) => n.includes(`in ${KERNEL_BTF}`))).toBe(false);
      }
      let err: unknown;
      try {
        load(spec, { btf: `${dir}/missing.btf`, programs: ["core_parent"] }).close();
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(BpfloadError);
      expect((err as Error).message).toContain(`${dir}/missing.btf`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("freplaceTarget: parsed and opened as --target is (a malformed one or a program that is not there is refused)", async () => {
    const spec = await readObject(`${REPO}/test/fixtures/freplace.o`);
    expect(() => load(spec, { freplaceTarget: "not a target" })).toThrow(/give the program whose function is replaced and the function, PROG_ID:FUNC or PIN_PATH:FUNC/);
    let err: unknown;
    try {
      load(spec, { freplaceTarget: "/sys/fs/bpf/bpfload-no-such-pin:decide" }).close();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(BpfloadError);
    expect((err as Error).message).toContain("/sys/fs/bpf/bpfload-no-such-pin");
  });
});

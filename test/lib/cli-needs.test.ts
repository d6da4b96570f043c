// What `bpfload load` takes from the library since it runs on it (issue 12, item 1): map sizes as
// spec edits, raw per-CPU entries for printing maps, what a loaded Collection says about itself,
// iterators and bpf_link ids on Links, run counts on any attach kind, checks before attaching.
import { describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync } from "node:fs";
import { attachLoadFields, checkAttach, hasProbes, hasTracepoint, tracefsMountPoint, ObjectError, SystemError, parseKernVersion, programSections, countRuns, createMap, load, parseAttachSpec, readObject, InvalidArgumentError, BpfloadError } from "../../src/index.ts";
import { canUseKernel, kernelSkipReason, REPO } from "../support.ts";

const EXAMPLE = `${REPO}/examples/ci/counter.o`;
const GLOBALS = `${REPO}/test/fixtures/globals.o`;
const ITER = `${REPO}/test/fixtures/iter_count.o`;
const CGROUP = `${REPO}/test/fixtures/cgroup_count.o`;
const CG2 = readFileSync("/proc/mounts", "utf8").split("\n").map((l) => l.split(" ")).find((f) => f[2] === "cgroup2")?.[1];
const bpftool = Bun.which("bpftool");

test("MapSpec: key and value sizes change (their BTF types dropped), not a data section's value, u32 only (pure)", async () => {
  const spec = await readObject(EXAMPLE);
  const execs = spec.maps.get("execs")!;
  expect(execs.dataSection).toBe(false);
  execs.valueSize = 16;
  execs.keySize = 8;
  expect([execs.keySize, execs.valueSize]).toEqual([8, 16]);
  expect(execs.raw.valueTypeId).toBeUndefined();
  expect(execs.raw.keyTypeId).toBeUndefined();
  for (const n of [-1, 1.5, NaN, 2 ** 32]) {
    expect(() => (execs.maxEntries = n)).toThrow(InvalidArgumentError);
    expect(() => (execs.valueSize = n)).toThrow(InvalidArgumentError);
  }
  expect(execs.maxEntries).toBe(1024);
  const rodata = spec.maps.get(".rodata")!;
  expect(rodata.dataSection).toBe(true);
  expect(() => (rodata.valueSize = 64)).toThrow(/data section/);
});

test("attachLoadFields: what a bare program is loaded with for where it will attach (the kernel's enum bpf_attach_type values) (pure)", () => {
  const fields = (t: string) => attachLoadFields(parseAttachSpec(t));
  expect(fields("fentry:do_unlinkat")).toEqual({ expectedAttachType: 24, btfTarget: "do_unlinkat" });
  expect(fields("tp_btf:sched_switch")).toEqual({ expectedAttachType: 23, btfTarget: "btf_trace_sched_switch" });
  expect(fields("lsm:file_open")).toEqual({ expectedAttachType: 27, btfTarget: "bpf_lsm_file_open" });
  expect(fields("iter:task")).toEqual({ expectedAttachType: 28, btfTarget: "bpf_iter_task" });
  expect(fields("kprobe.multi:do_sys_*")).toEqual({ expectedAttachType: 42 });
  expect(fields("kprobe:do_sys_open")).toEqual({});
  expect(fields("tracepoint:syscalls:sys_enter_execve")).toEqual({});
});

test("programSections: program sections and their attach points from the headers alone; not an ELF: ObjectError (pure)", () => {
  expect(programSections(readFileSync(ITER), ITER)).toEqual([{ section: "iter/task", attachTo: "iter:task" }]);
  expect(programSections(readFileSync(CGROUP), CGROUP).map((s) => s.section)).toEqual(["cgroup_skb/egress"]);
  expect(() => programSections(new Uint8Array(64), "zeros")).toThrow(ObjectError);
});

test("parseKernVersion: --kern-version's two forms (pure)", () => {
  expect(parseKernVersion("4.9.228")).toBe(264676);
  expect(parseKernVersion("0x409e4")).toBe(264676);
  expect(parseKernVersion("264676")).toBe(264676);
  expect(parseKernVersion("four")).toBeUndefined();
  expect(() => parseKernVersion("4.256")).toThrow(InvalidArgumentError);
});

test("checkAttach: a uprobe on a file that is not there is refused before anything loads (a BpfloadError)", () => {
  let error: unknown;
  try {
    checkAttach(parseAttachSpec("uprobe:/nonexistent/bpfload-test:main"));
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(BpfloadError);
  expect((error as Error).message).toContain("/nonexistent/bpfload-test");
  // an attach point with nothing to check passes
  checkAttach(parseAttachSpec("tracepoint:syscalls:sys_enter_execve"));
});

describe.skipIf(!canUseKernel)(`loaded${kernelSkipReason ? ` (${kernelSkipReason})` : ""}`, () => {
  for (const valueSize of [4, 8, 12]) {
    test(`rawEntries of a percpu_array of ${valueSize}-byte values: one value per possible CPU, the bytes get() decodes`, () => {
      using m = createMap({ type: "percpu_array", keySize: 4, valueSize, maxEntries: 2 });
      const values = Array.from({ length: m.cpus }, (_, c) => {
        const v = new Uint8Array(valueSize);
        v.fill(c + 1);
        return v;
      });
      m.set(1, values);
      const entries = [...m.rawEntries()];
      expect(entries.map((e) => e.key)).toEqual([new Uint8Array([0, 0, 0, 0]), new Uint8Array([1, 0, 0, 0])]);
      expect(entries[1]!.values).toEqual(values);
      expect(entries[0]!.values.every((v) => v.length === valueSize && v.every((b) => b === 0))).toBe(true);
      expect([...m.rawKeys()].length).toBe(2);
      m.close();
      expect(() => [...m.rawEntries()]).toThrow(/closed/);
    });
  }

  test("a Collection says what it loaded: instruction counts, the BTF the kernel took, its maps' fds for attach", async () => {
    const spec = await readObject(GLOBALS);
    using coll = load(spec);
    for (const [name, p] of coll.programs) {
      // never fewer than the section's own instructions (BPF-to-BPF callees are appended)
      expect(p.insnCount! * 8).toBeGreaterThanOrEqual(spec.programs.get(name)!.insns.length);
    }
    // this object's BTF is refused by the kernel (a 1-byte member the kernel's checker rejects): said in a note, and absent here
    expect(coll.notes.some((n) => n.includes("without its BTF"))).toBe(true);
    expect(coll.btfInKernel).toBeUndefined();
    using counter = load(await readObject(EXAMPLE), { programs: ["count_packets"] });
    expect(counter.notes.some((n) => n.includes("without its BTF"))).toBe(false);
    expect(counter.btfInKernel).toEqual({ progInfo: true }); // func_info went with the programs: 5.0+
    const opts = coll.attachOptions();
    for (const [name, m] of coll.maps) expect(opts.mapFd!(name)).toBe(m.fd);
    expect(opts.mapFd!("no such map")).toBeUndefined();
    expect(coll.structOps).toEqual([]);
  });

  test("an iterator's Link runs it to its end: one line per task; other links are no iterators", async () => {
    using coll = load(await readObject(ITER));
    const prog = coll.programs.get("count_tasks")!;
    using link = prog.attach();
    expect(link.iterator).toBe(true);
    expect(link.linkId).toBeGreaterThan(0);
    const lines = new TextDecoder().decode(link.runIterator()).trimEnd().split("\n");
    const processes = readdirSync("/proc").filter((d) => /^\d+$/.test(d)).length;
    expect(lines.length).toBeGreaterThanOrEqual(processes / 2); // tasks include threads; processes may exit meanwhile
    expect(lines[0]).toBe("task 0");
    link.close();
    expect(() => link.runIterator()).toThrow(/closed/);
    const counter = await readObject(EXAMPLE);
    using other = load(counter, { programs: ["on_execve"] });
    using tp = other.programs.get("on_execve")!.attach();
    expect(tp.iterator).toBe(false);
    expect(() => tp.runIterator()).toThrow(InvalidArgumentError);
  });

  test.skipIf(!CG2 || !bpftool)("Program.attach('cgroup:DIR') takes the hook from the section (cgroup_skb/egress: egress), bpftool as the oracle", async () => {
    const dir = `${CG2}/bpfload-cli-needs-${process.pid}`;
    mkdirSync(dir);
    try {
      const tree = () => JSON.parse(Bun.spawnSync([bpftool!, "-j", "cgroup", "show", dir]).stdout.toString().trim() || "[]") as { attach_type: string; name: string }[];
      using coll = load(await readObject(CGROUP));
      const link = coll.programs.get("count_egress")!.attach(`cgroup:${dir}`);
      try {
        expect(tree().map((t) => [t.attach_type, t.name])).toEqual([["cgroup_inet_egress", "count_egress"]]);
      } finally {
        link.close();
      }
      expect(tree()).toEqual([]);
    } finally {
      rmdirSync(dir);
    }
  });

  test("hasProbes and hasTracepoint answer as sysfs and tracefs list them", () => {
    const tracing = tracefsMountPoint()!;
    for (const kind of ["kprobe", "uprobe"] as const) {
      expect(hasProbes(kind)).toBe(existsSync(`/sys/bus/event_source/devices/${kind}/type`) || existsSync(`${tracing}/${kind}_events`));
    }
    expect(hasTracepoint("syscalls", "sys_enter_execve")).toBe(existsSync(`${tracing}/events/syscalls/sys_enter_execve/id`));
    expect(hasTracepoint("bpfload_no_such_category", "x")).toBe(false);
  });

  test("a map whose BTF value type cannot be laid out (a bogus type id) loads anyway, its values by size", async () => {
    const spec = await readObject(EXAMPLE);
    spec.object.maps.find((m) => m.name === "execs")!.valueTypeId = 99999;
    using coll = load(spec, { programs: ["count_packets"] });
    expect(coll.notes.some((n) => n.startsWith("map 'execs' created without BTF"))).toBe(true);
    const execs = coll.maps.get("execs")!;
    execs.set(1, 5n);
    expect(execs.get(1)).toBe(5n); // 8 bytes: a bigint
  });

  test("countRuns counts a program's runs (bpf_prog_info.run_cnt): 5 test runs are 5 runs", async () => {
    using coll = load(await readObject(EXAMPLE), { programs: ["count_packets"] });
    const prog = coll.programs.get("count_packets")!;
    const runs = countRuns([prog]);
    if (!runs) return; // a kernel before 5.8 without kernel.bpf_stats_enabled cannot count
    try {
      const before = runs.count()!;
      prog.testRun({ data: new Uint8Array(64), repeat: 5 });
      expect(runs.count()! - before).toBe(5n);
    } finally {
      runs.stop();
    }
  });
});

test("an error from under readObject/load: bpfload's own code not loadable for the fd limit is a SystemError naming EMFILE, anything else an ObjectError (pure)", async () => {
  const { asBpfloadError } = await import("../../src/lib/object.ts");
  const limit = asBpfloadError(Object.assign(new Error('EMFILE reading "/x/src/lib/codec.ts"'), { name: "BuildMessage" }), "a.o") as Error;
  expect(limit).toBeInstanceOf(SystemError);
  expect(limit.message).toBe("cannot load bpfload's own code: EMFILE: too many open files: raise ulimit -n (e.g. ulimit -n 65536)");
  const bug = asBpfloadError(new TypeError("x is undefined"), "a.o") as Error;
  expect(bug).toBeInstanceOf(ObjectError);
  expect(bug.message).toContain("a.o");
  const own = new InvalidArgumentError("x", "bad");
  expect(asBpfloadError(own, "a.o")).toBe(own);
});

// BTF target lookup (attach_btf_id) against this host's /sys/kernel/btf/vmlinux, with bpftool's
// dump of the same file as the oracle for every id; module BTF through a split BTF file made here
// (this host has no modules with BTF), checked with `bpftool btf dump -B`. Reads files only.
import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { btfSource, findBtfTarget, resolveBtfTarget, vmlinuxBtf } from "../../src/kernel/btf/attach-target.ts";
import { BTF_KIND_FUNC, BTF_KIND_TYPEDEF } from "../../src/elf/btf.ts";
import { SystemError } from "../../src/errors.ts";

const VMLINUX = "/sys/kernel/btf/vmlinux";
const bpftool = Bun.which("bpftool");
const skip = !existsSync(VMLINUX) ? `no ${VMLINUX} (kernel without CONFIG_DEBUG_INFO_BTF)` : !bpftool ? "no bpftool (the oracle)" : undefined;
if (skip) console.warn(`[skip] BTF target lookup: ${skip}`);

/** bpftool's ids of "KIND 'NAME'" lines of a raw dump. */
function bpftoolIds(args: string[]): Map<string, number> {
  const out = Bun.spawnSync([bpftool!, "btf", "dump", "file", ...args, "format", "raw"]).stdout.toString();
  const ids = new Map<string, number>();
  for (const m of out.matchAll(/^\[(\d+)\] (FUNC|TYPEDEF) '([^']+)'/gm)) if (!ids.has(`${m[2]} ${m[3]}`)) ids.set(`${m[2]} ${m[3]}`, Number(m[1]));
  return ids;
}

describe.skipIf(!!skip)("BTF targets in this kernel's BTF", () => {
  const oracle = skip ? new Map<string, number>() : bpftoolIds([VMLINUX]);
  afterEach(() => {
    btfSource.dir = "/sys/kernel/btf";
  });

  const cases: [string, string, string][] = [
    ["btf_trace_sched_process_exec", "BPF_TRACE_RAW_TP", "TYPEDEF"],
    ["do_nanosleep", "BPF_TRACE_FENTRY", "FUNC"],
    ["do_nanosleep", "BPF_TRACE_FEXIT", "FUNC"],
    ["bpf_lsm_file_open", "BPF_LSM_MAC", "FUNC"],
    ["bpf_iter_task", "BPF_TRACE_ITER", "FUNC"],
  ];
  for (const [name, attachType, kind] of cases) {
    test(`${attachType} ${name}: the id bpftool shows for ${kind} '${name}'`, () => {
      const want = oracle.get(`${kind} ${name}`);
      if (want === undefined) return console.warn(`[skip] ${kind} '${name}' is not in this kernel's BTF`);
      const t = resolveBtfTarget(name, attachType as never);
      expect(t).toEqual({ btfId: want });
    });
  }

  test("a function name is not found as a tracepoint typedef (kinds are kept apart)", () => {
    expect(() => findBtfTarget("do_nanosleep", BTF_KIND_TYPEDEF, "BTF tracepoint")).toThrow(SystemError);
  });

  test("an absent function: one line, exit 1, with close matches from the FUNC names", () => {
    expect(oracle.has("FUNC do_sys_opena")).toBe(false);
    if (!oracle.has("FUNC do_sys_openat2")) return console.warn("[skip] no do_sys_openat2 in this kernel");
    let err: unknown;
    try {
      resolveBtfTarget("do_sys_opena", "BPF_TRACE_FENTRY");
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SystemError);
    const msg = (err as Error).message;
    expect(msg).toStartWith("no kernel function 'do_sys_opena' in this kernel's BTF");
    expect(msg).toContain("did you mean");
    expect(msg).toContain("'do_sys_openat2'");
    expect(msg).not.toContain("\n");
    expect((err as SystemError).exitCode).toBe(1);
  });

  test("an absent BTF tracepoint is named without its btf_trace_ prefix, matches too", () => {
    expect(() => resolveBtfTarget("btf_trace_sched_process_exe", "BPF_TRACE_RAW_TP")).toThrow(/no BTF tracepoint 'sched_process_exe' .*did you mean 'sched_process_exec/);
  });

  test("an absent LSM hook: matches are hook names (bpf_lsm_ left out)", () => {
    expect(() => resolveBtfTarget("bpf_lsm_file_ope", "BPF_LSM_MAC")).toThrow(/no LSM hook 'file_ope' .*'file_open'/);
  });

  test("a name without the attach type's prefix is a usage error", () => {
    expect(() => resolveBtfTarget("bpf_lsm_", "BPF_LSM_MAC")).toThrow(/bad BTF target/);
    expect(() => resolveBtfTarget("task", "BPF_TRACE_ITER")).toThrow(/expected a name after 'bpf_iter_'/);
  });

  test("no vmlinux BTF: the error names CONFIG_DEBUG_INFO_BTF and 5.5", () => {
    const dir = mkdtempSync(`${tmpdir()}/bpfload-btf-`);
    try {
      btfSource.dir = dir;
      expect(() => resolveBtfTarget("do_nanosleep", "BPF_TRACE_FENTRY")).toThrow(`no ${dir}/vmlinux: tp_btf/fentry/fexit/fmod_ret/lsm/iter programs need a kernel with CONFIG_DEBUG_INFO_BTF (5.5+)`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("a function only a module has: found in its split BTF, id numbered after vmlinux's (bpftool -B)", () => {
    const base = vmlinuxBtf();
    const proto = base.type(oracle.get("FUNC do_nanosleep")!).sizeOrType; // any FUNC_PROTO of vmlinux
    // split BTF: one FUNC whose name is the first string of the module's own string section
    const strings = new TextEncoder().encode("\0bpfload_fake_func\0");
    const bytes = new Uint8Array(24 + 12 + strings.length);
    const v = new DataView(bytes.buffer);
    v.setUint16(0, 0xeb9f, true);
    v.setUint8(2, 1);
    v.setUint32(4, 24, true); // hdr_len
    v.setUint32(8, 0, true); // type_off
    v.setUint32(12, 12, true); // type_len
    v.setUint32(16, 12, true); // str_off
    v.setUint32(20, strings.length, true);
    v.setUint32(24, base.strLen + 1, true); // name: split string offsets continue after vmlinux's
    v.setUint32(28, (BTF_KIND_FUNC << 24) >>> 0, true);
    v.setUint32(32, proto, true);
    bytes.set(strings, 36);
    const dir = mkdtempSync(`${tmpdir()}/bpfload-btf-`);
    try {
      symlinkSync(VMLINUX, `${dir}/vmlinux`);
      writeFileSync(`${dir}/fakemod`, bytes);
      const want = bpftoolIds([`${dir}/fakemod`, "-B", VMLINUX]).get("FUNC bpfload_fake_func");
      expect(want).toBeDefined();
      btfSource.dir = dir;
      expect(findBtfTarget("bpfload_fake_func", BTF_KIND_FUNC, "kernel function")).toEqual({ btfId: want!, module: "fakemod" });
      // vmlinux still wins for its own functions
      expect(findBtfTarget("do_nanosleep", BTF_KIND_FUNC, "kernel function")).toEqual({ btfId: oracle.get("FUNC do_nanosleep")! });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  // (how long indexing vmlinux takes is measured by test/bench/btf.ts, not asserted here)

  const BTF_5_4 = new URL("../../../shared/vm-kernels/btf-5.4.286", import.meta.url).pathname;
  test.skipIf(!existsSync(BTF_5_4))("a kernel with BTF but before tp_btf (5.4: no btf_trace_* at all): the error names 5.5", () => {
    const dir = mkdtempSync(`${tmpdir()}/bpfload-btf54-`);
    try {
      symlinkSync(BTF_5_4, `${dir}/vmlinux`);
      btfSource.dir = dir;
      expect(() => findBtfTarget("btf_trace_sched_process_exec", BTF_KIND_TYPEDEF, "BTF tracepoint", "btf_trace_")).toThrow(
        /^no BTF tracepoint 'sched_process_exec' in this kernel's BTF .*: this kernel has no BTF tracepoints at all \(tp_btf programs need Linux 5\.5\+\)$/,
      );
      // the host's 6.18 has them: a missing one is just missing, without the 5.5 sentence
      btfSource.dir = "/sys/kernel/btf";
      let message = "";
      try {
        findBtfTarget("btf_trace_bpfload_no_such_tp", BTF_KIND_TYPEDEF, "BTF tracepoint", "btf_trace_");
      } catch (e) {
        message = (e as Error).message;
      }
      expect(message).toStartWith("no BTF tracepoint 'bpfload_no_such_tp' in this kernel's BTF");
      expect(message).not.toContain("5.5");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe.skipIf(!!skip || process.geteuid?.() !== 0)("kernel BTF objects by name (attach_btf_obj_fd of a module)", () => {
  test("BPF_BTF_GET_NEXT_ID + GET_FD_BY_ID + the info's name find vmlinux at the id bpftool btf show gives it", () => {
    const { kernelBtfFd } = require("../../src/kernel/btf/attach-target.ts") as typeof import("../../src/kernel/btf/attach-target.ts");
    const shown = Bun.spawnSync([bpftool!, "btf", "show"]).stdout.toString().match(/^(\d+): name \[vmlinux\]/m);
    expect(shown).not.toBeNull();
    const found = kernelBtfFd("vmlinux");
    expect(found).toBeDefined();
    try {
      expect(found!.id).toBe(Number(shown![1]));
      expect(found!.fd).toBeGreaterThan(2);
    } finally {
      require("../../src/sys/fd.ts").close(found!.fd);
    }
    expect(kernelBtfFd("bpfload_no_such_module")).toBeUndefined();
  });
});

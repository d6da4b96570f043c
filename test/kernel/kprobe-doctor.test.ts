// The kprobe doctor's ranking (pure) on recorded kallsyms: an excerpt of this development host's
// 6.18 x86_64 /proc/kallsyms (fixtures/kallsyms-6.18-x86_64.txt, unedited lines), and 4.9- and
// arm64-style lines written in their kernels' format.
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { matchKernelFunctions } from "../../src/kernel/attach/kprobe-multi.ts";
import { describeCandidates, kprobeCandidates, parseFilterFunctions, parseKallsyms, syscallBase } from "../../src/kernel/attach/kprobe-doctor.ts";

const HOST = readFileSync(new URL("fixtures/kallsyms-6.18-x86_64.txt", import.meta.url), "utf8");
const host = parseKallsyms(HOST);
const names = (func: string, text = host, arch = "x64", filter?: Set<string>) => kprobeCandidates(func, text, filter, arch).map((c) => c.name);

describe("kallsyms parsing", () => {
  test("functions only, modules in brackets", () => {
    const e = parseKallsyms("ffffffff81000000 T _text\nffffffff82000000 D some_data\nffffffffc0025c80 t bpf_dispatcher_xdp\t[bpf]\nffffffff81000010 W weak_fn\n");
    expect(e).toEqual([
      { address: "ffffffff81000000", name: "_text" },
      { address: "ffffffffc0025c80", name: "bpf_dispatcher_xdp", module: "bpf" },
      { address: "ffffffff81000010", name: "weak_fn" },
    ]);
  });
});

describe("the candidates for a function that could not be probed", () => {
  test("compiler clones (.isra, .constprop, .part, .llvm), never .cold, never __pfx_ padding", () => {
    expect(names("show_regs")).toEqual(["show_regs", "show_regs.part.0"]);
    expect(names("__parse_discovery_table")).toEqual(["__parse_discovery_table.isra.0"]);
    expect(names("kvm_pr_unimpl_wrmsr")).toEqual(["kvm_pr_unimpl_wrmsr.part.0"]);
    expect(names("do_exit")).toEqual(["do_exit"]);
    const llvm = parseKallsyms("ffffffff81234560 t tcp_rcv_established.llvm.1234567890123\nffffffff81234580 t tcp_rcv_established.llvm.1234567890123.cold\n");
    expect(names("tcp_rcv_established", llvm)).toEqual(["tcp_rcv_established.llvm.1234567890123"]);
    const all = kprobeCandidates("membuf_write", host, undefined, "x64").flatMap((c) => c.name);
    expect(all).toEqual(["membuf_write", "membuf_write.isra.0"]);
    expect(all.some((n) => n.startsWith("__pfx_"))).toBe(false);
  });

  test("a syscall gets this arch's wrapper first; 4.9 and arm64 spellings", () => {
    expect(names("sys_clone")).toEqual(["__x64_sys_clone", "__ia32_sys_clone"]);
    expect(names("__arm64_sys_execve", host, "x64")).toEqual(["__x64_sys_execve", "__ia32_sys_execve"]);
    const v49 = parseKallsyms("ffffffff8108b6f0 T SyS_clone\nffffffff8108b6f0 T sys_clone\n");
    expect(names("__x64_sys_clone", v49)).toEqual(["sys_clone", "SyS_clone"]);
    const arm = parseKallsyms("ffff800008023450 T __arm64_sys_clone\nffff800008023400 t __do_sys_clone\n");
    expect(names("sys_clone", arm, "arm64")).toEqual(["__arm64_sys_clone"]);
    expect(syscallBase("__se_sys_openat")).toBe("openat");
    expect(syscallBase("vfs_read")).toBeUndefined();
  });

  test("duplicates are listed with module and address", () => {
    const c = kprobeCandidates("NF_HOOK", host, undefined, "x64");
    expect(c.map((x) => [x.name, x.places.length])).toEqual([["NF_HOOK.constprop.0", 3]]);
    const withModule = parseKallsyms(`${HOST}ffffffffc0a01230 t do_sys_openat2\t[shadow]\n`);
    const text = describeCandidates("do_sys_openat2", kprobeCandidates("do_sys_openat2", withModule, undefined, "x64"));
    expect(text).toMatch(/do_sys_openat2 \(2 copies: vmlinux 0xffffffff816d2470, \[shadow\] 0xffffffffc0a01230: ambiguous by name/);
  });

  test("a syscall's names keep this arch's order, traceable or not (5.4's __x64_ wrappers are not in available_filter_functions)", () => {
    const filter = parseFilterFunctions("__ia32_sys_clone\n__do_sys_clone\n");
    expect(names("sys_clone", host, "x64", filter)).toEqual(["__x64_sys_clone", "__ia32_sys_clone"]);
  });

  test("traceable clones (available_filter_functions) first, the others marked", () => {
    const clones = parseKallsyms("ffffffff81000000 t f.isra.0\nffffffff81000100 t f.constprop.0\n");
    expect(names("f", clones, "x64", parseFilterFunctions("f.constprop.0\n"))).toEqual(["f.constprop.0", "f.isra.0"]);
    const filter = parseFilterFunctions("kzalloc_noprof.constprop.0\nshow_regs.part.0 [somemod]\n");
    const c = kprobeCandidates("show_regs", host, filter, "x64");
    expect(c.map((x) => [x.name, x.traceable])).toEqual([["show_regs", false], ["show_regs.part.0", true]]);
    expect(describeCandidates("show_regs", c)).toBe("candidates on this kernel: show_regs (not in available_filter_functions), show_regs.part.0 (compiler clone)");
  });

  test("a misspelling gets up to 5 close names; nothing close says so", () => {
    expect(names("vfs_raed")).toEqual(["vfs_read"]);
    expect(names("vfs_reads")).toEqual(["vfs_read", "vfs_readv"]);
    expect(describeCandidates("zzzzzzzzzz", kprobeCandidates("zzzzzzzzzz", host, undefined, "x64"))).toBe("no function named like 'zzzzzzzzzz' in /proc/kallsyms");
  });
});

describe("kprobe globs: the functions matched", () => {
  test("from available_filter_functions when readable, else kallsyms functions; sorted, unique, no invalid entries", () => {
    const filter = "vfs_read\nvfs_write\nvfs_read\n__ftrace_invalid_address___64\nvfs_readv [x]\n";
    expect(matchKernelFunctions("vfs_*", filter, undefined)).toEqual({ names: ["vfs_read", "vfs_readv", "vfs_write"], from: "available_filter_functions" });
    expect(matchKernelFunctions("__ftrace*", filter, undefined).names).toEqual([]);
    expect(matchKernelFunctions("vfs_?ead", undefined, HOST)).toEqual({ names: ["vfs_read"], from: "/proc/kallsyms" });
    expect(matchKernelFunctions("do_exit*", undefined, HOST).names).toEqual(["do_exit"]);
  });
});

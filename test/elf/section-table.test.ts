// The section table against three oracles it shares nothing with: the uapi header (gcc prints the
// enum values of every program and attach type the table names), this kernel's BTF (bpftool -j,
// for the names newer than the installed header), and libbpf itself (libbpf_prog_type_by_name of
// the installed libbpf, for program type and expected attach type of every name it knows).
import { describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sectionTable, sectionToProgram } from "../../src/elf/sections.ts";
import { ATTACH_TYPES, BPF_F_SLEEPABLE, BPF_F_XDP_HAS_FRAGS, PROG_TYPES } from "../../src/uapi.ts";

const HEADER = "/usr/include/linux/bpf.h";
const gcc = Bun.which("gcc") ?? Bun.which("cc");
const bpftool = Bun.which("bpftool");
const LIBBPF_H = "/usr/include/bpf/libbpf.h";
const rows = sectionTable();

function compileRun(src: string, libs: string[] = []): string {
  const dir = mkdtempSync(join(tmpdir(), "bpfload-sections-"));
  try {
    writeFileSync(join(dir, "t.c"), src);
    const cc = Bun.spawnSync([gcc!, "-o", join(dir, "t"), join(dir, "t.c"), ...libs]);
    if (cc.exitCode !== 0) throw new Error(cc.stderr.toString());
    const r = Bun.spawnSync([join(dir, "t")]);
    if (r.exitCode !== 0) throw new Error(r.stderr.toString());
    return r.stdout.toString();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const progTypeEnum = (t: string) => `BPF_PROG_TYPE_${t.toUpperCase()}`;

describe.skipIf(!gcc || !existsSync(HEADER))("enum values against the uapi header", () => {
  const header = existsSync(HEADER) ? readFileSync(HEADER, "utf8") : "";
  const has = (n: string) => new RegExp(`\\b${n}\\b`).test(header);
  const names = [...PROG_TYPES.slice(1).map(progTypeEnum), ...ATTACH_TYPES].filter(has);
  test(`${names.length} names of PROG_TYPES and ATTACH_TYPES in ${HEADER}`, () => {
    const out = compileRun(`#include <stdio.h>\n#include <linux/bpf.h>\nint main(void) {\n${names.map((n) => `printf("%s %d\\n", "${n}", (int)${n});`).join("\n")}\nreturn 0; }`);
    const values = new Map(out.trim().split("\n").map((l) => l.split(" ") as [string, string]).map(([n, v]) => [n, Number(v)]));
    for (const n of names) {
      const ours = n.startsWith("BPF_PROG_TYPE_") ? PROG_TYPES.findIndex((t) => progTypeEnum(t) === n) : ATTACH_TYPES.indexOf(n as never);
      expect(`${n}=${ours}`).toBe(`${n}=${values.get(n)}`);
    }
    expect(names.length).toBeGreaterThan(60);
  });
});

describe.skipIf(!bpftool || !existsSync("/sys/kernel/btf/vmlinux"))("enum values against this kernel's BTF", () => {
  test("enum bpf_attach_type and enum bpf_prog_type", () => {
    const r = Bun.spawnSync([bpftool!, "-j", "btf", "dump", "file", "/sys/kernel/btf/vmlinux"]);
    const types = JSON.parse(r.stdout.toString()).types as { kind: string; name: string; values?: { name: string; val: number }[] }[];
    const values = (name: string) => new Map(types.find((t) => t.kind === "ENUM" && t.name === name)!.values!.map((v) => [v.name, v.val]));
    const attach = values("bpf_attach_type");
    const prog = values("bpf_prog_type");
    let checked = 0;
    for (const [i, n] of ATTACH_TYPES.entries()) if (attach.has(n)) expect(`${n}=${i}`).toBe(`${n}=${attach.get(n)}`), checked++;
    for (const [i, t] of PROG_TYPES.entries()) if (prog.has(progTypeEnum(t))) expect(`${t}=${i}`).toBe(`${t}=${prog.get(progTypeEnum(t))}`), checked++;
    expect(checked).toBeGreaterThan(80);
  });
});

describe.skipIf(!gcc || !existsSync(LIBBPF_H))("against libbpf's own table (libbpf_prog_type_by_name)", () => {
  // every row by its name, slash rows also with a target after the slash
  const names = rows.flatMap((r) => (r.match === "slash" ? [r.name, `${r.name}/foo`] : [r.name]));
  const src = `#include <stdio.h>
#include <bpf/libbpf.h>
static int quiet(enum libbpf_print_level l, const char *f, va_list a) { return 0; }
int main(void) {
  const char *names[] = { ${names.map((n) => JSON.stringify(n)).join(", ")} };
  libbpf_set_print(quiet);
  for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
    enum bpf_prog_type t = 0; enum bpf_attach_type a = 0;
    int r = libbpf_prog_type_by_name(names[i], &t, &a);
    printf("%s %d %d %d\\n", names[i], r, (int)t, (int)a);
  }
  return 0;
}`;
  test("program type and expected attach type of every name libbpf knows", () => {
    const out = compileRun(src, ["-lbpf"]);
    let known = 0;
    for (const line of out.trim().split("\n")) {
      const [name, r, t, a] = line.split(" ");
      if (Number(r) !== 0) continue; // newer than the installed libbpf
      known++;
      const sp = sectionToProgram(name!)!;
      expect(`${name}: ${PROG_TYPES.indexOf(sp.progType)} ${sp.expectedAttachType ?? 0}`).toBe(`${name}: ${t} ${a}`);
    }
    expect(known).toBeGreaterThan(80);
  });
});

describe("the table's own rules", () => {
  test("sleepable sections carry BPF_F_SLEEPABLE, frags sections BPF_F_XDP_HAS_FRAGS, and only they", () => {
    for (const r of rows) {
      const sleepable = /\.s(\/|$)/.test(r.name) || r.name === "syscall";
      expect(`${r.name} ${(r.program.progFlags ?? 0) & BPF_F_SLEEPABLE}`).toBe(`${r.name} ${sleepable ? BPF_F_SLEEPABLE : 0}`);
      expect(`${r.name} ${(r.program.progFlags ?? 0) & BPF_F_XDP_HAS_FRAGS}`).toBe(`${r.name} ${r.name.startsWith("xdp.frags") ? BPF_F_XDP_HAS_FRAGS : 0}`);
    }
  });
  test("names and values agree; every row says its kernel", () => {
    for (const r of rows) {
      if (r.program.expectedAttachTypeName) expect(ATTACH_TYPES[r.program.expectedAttachType!]).toBe(r.program.expectedAttachTypeName);
      expect(r.program.since).toMatch(/^\d+\.\d+$/);
    }
  });
  test("BTF targets with libbpf's prefixes", () => {
    expect(sectionToProgram("tp_btf/sched_switch")).toMatchObject({ needsBtfTarget: true, btfTarget: "btf_trace_sched_switch", expectedAttachTypeName: "BPF_TRACE_RAW_TP" });
    expect(sectionToProgram("lsm.s/file_open")).toMatchObject({ btfTarget: "bpf_lsm_file_open", progFlags: BPF_F_SLEEPABLE });
    expect(sectionToProgram("iter/task")).toMatchObject({ btfTarget: "bpf_iter_task" });
    expect(sectionToProgram("fentry/do_unlinkat")).toMatchObject({ btfTarget: "do_unlinkat", expectedAttachTypeName: "BPF_TRACE_FENTRY" });
    expect(sectionToProgram("fentry")).toMatchObject({ needsBtfTarget: true });
    expect(sectionToProgram("fentry")!.btfTarget).toBeUndefined();
    expect(sectionToProgram("kprobe/x")!.needsBtfTarget).toBeUndefined();
  });
  test("'?' turns autoload off and keeps the rest", () => {
    expect(sectionToProgram("?kprobe/sys_write")).toEqual({ ...sectionToProgram("kprobe/sys_write")!, autoload: false });
    expect(sectionToProgram("?tc/ingress")).toMatchObject({ autoload: false, expectedAttachTypeName: "BPF_TCX_INGRESS" });
    expect(sectionToProgram("?foo")).toBeUndefined();
    expect(sectionToProgram("kprobe/x")!.autoload).toBeUndefined();
  });
  test("the issue's list: every name is in the table with an attach type where the kernel needs one", () => {
    const want: [string, string | undefined][] = [
      ["cgroup/ingress", undefined], ["cgroup_skb/ingress", "BPF_CGROUP_INET_INGRESS"], ["cgroup_skb/egress", "BPF_CGROUP_INET_EGRESS"],
      ["cgroup/sock_create", "BPF_CGROUP_INET_SOCK_CREATE"], ["cgroup/sock_release", "BPF_CGROUP_INET_SOCK_RELEASE"],
      ["cgroup/post_bind4", "BPF_CGROUP_INET4_POST_BIND"], ["cgroup/post_bind6", "BPF_CGROUP_INET6_POST_BIND"],
      ["cgroup/connect_unix", "BPF_CGROUP_UNIX_CONNECT"], ["cgroup/getpeername6", "BPF_CGROUP_INET6_GETPEERNAME"],
      ["cgroup/getsockname_unix", "BPF_CGROUP_UNIX_GETSOCKNAME"], ["cgroup/sysctl", "BPF_CGROUP_SYSCTL"],
      ["cgroup/dev", "BPF_CGROUP_DEVICE"], ["sockops", "BPF_CGROUP_SOCK_OPS"], ["sk_skb/stream_verdict", "BPF_SK_SKB_STREAM_VERDICT"],
      ["sk_msg", "BPF_SK_MSG_VERDICT"], ["sk_lookup", "BPF_SK_LOOKUP"], ["sk_reuseport/migrate", "BPF_SK_REUSEPORT_SELECT_OR_MIGRATE"],
      ["flow_dissector", "BPF_FLOW_DISSECTOR"], ["xdp/devmap", "BPF_XDP_DEVMAP"], ["xdp/cpumap", "BPF_XDP_CPUMAP"],
      ["tcx/egress", "BPF_TCX_EGRESS"], ["netkit/primary", "BPF_NETKIT_PRIMARY"], ["netkit/peer", "BPF_NETKIT_PEER"],
      ["lsm_cgroup/sk_alloc", "BPF_LSM_CGROUP"], ["fmod_ret.s/x", "BPF_MODIFY_RETURN"], ["iter.s/x", "BPF_TRACE_ITER"],
      ["netfilter", "BPF_NETFILTER"], ["kretprobe.multi/x*", "BPF_TRACE_KPROBE_MULTI"], ["uprobe.multi/x", "BPF_TRACE_UPROBE_MULTI"],
    ];
    for (const [name, attach] of want) {
      const sp = sectionToProgram(name);
      if (name === "cgroup/ingress") {
        expect(sp).toBeUndefined(); // not a libbpf name: cgroup_skb/ingress is
        continue;
      }
      expect(`${name} ${sp?.expectedAttachTypeName}`).toBe(`${name} ${attach}`);
    }
    for (const name of ["struct_ops/x", "struct_ops.s/x", "syscall", "uprobe.s/x", "uretprobe.s/x", "ksyscall/x", "kretsyscall/x", "usdt/x", "perf_event", "raw_tp.w/x", "raw_tracepoint.w/x", "lwt_in", "lwt_out", "lwt_xmit", "lwt_seg6local", "sk_skb", "sk_reuseport", "tc", "classifier", "action", "freplace/x"]) {
      expect(sectionToProgram(name)).toBeDefined();
    }
  });
});

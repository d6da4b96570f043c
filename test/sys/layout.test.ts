// The attr layouts against the real uapi headers: gcc compiles a program that prints offsetof and
// sizeof of every field we describe, and each must match. (Oracle: linux-libc-dev's headers.)
import { describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as L from "../../src/sys/layout.ts";

const HEADER = "/usr/include/linux/bpf.h";
const gcc = Bun.which("gcc") ?? Bun.which("cc");
const skip = !gcc ? "no C compiler (apt-get install gcc)" : !existsSync(HEADER) ? "no uapi headers (apt-get install linux-libc-dev)" : undefined;
if (skip) console.warn(`[skip] layout tests: ${skip}`);

/** Each layout, the C expression prefix of its fields inside `union bpf_attr`. */
const BPF_ATTRS: [L.Layout, string][] = [
  [L.BPF_PROG_LOAD_ATTR, ""],
  [L.BPF_MAP_CREATE_ATTR, ""],
  [L.BPF_MAP_ELEM_ATTR, ""],
  [L.BPF_OBJ_ATTR, ""],
  [L.BPF_RAW_TRACEPOINT_OPEN_ATTR, "raw_tracepoint."],
  [L.BPF_OBJ_GET_INFO_BY_FD_ATTR, "info."],
  [L.BPF_ENABLE_STATS_ATTR, "enable_stats."],
  [L.BPF_LINK_CREATE_ATTR, "link_create."],
  [L.BPF_PROG_TEST_RUN_ATTR, "test."],
  [L.BPF_PROG_ATTACH_ATTR, ""],
  [L.BPF_GET_ID_ATTR, ""],
  [L.BPF_PROG_QUERY_ATTR, "query."],
  [L.BPF_ITER_CREATE_ATTR, "iter_create."],
];

function headerHas(field: string): boolean {
  return new RegExp(`\\b${field}\\b`).test(require("node:fs").readFileSync(HEADER, "utf8"));
}

async function measure(): Promise<Map<string, [number, number]>> {
  const lines: string[] = [];
  const emit = (key: string, type: string, member: string) =>
    lines.push(`printf("%s %zu %zu\\n", "${key}", offsetof(${type}, ${member}), sizeof(((${type}*)0)->${member}));`);
  for (const [l, prefix] of BPF_ATTRS) {
    for (const f of l.fields) if (headerHas(f.name)) emit(`${l.name}.${f.name}`, "union bpf_attr", prefix + f.name);
  }
  for (const f of L.PERF_EVENT_ATTR.fields) if (f.name !== "flags") emit(`perf.${f.name}`, "struct perf_event_attr", f.name);
  for (const f of L.BPF_PROG_INFO.fields) if (f.name !== "gpl_compatible") emit(`info.${f.name}`, "struct bpf_prog_info", f.name);
  for (const f of L.BPF_MAP_INFO.fields) emit(`mapinfo.${f.name}`, "struct bpf_map_info", f.name);
  for (const f of L.BPF_BTF_INFO.fields) emit(`btfinfo.${f.name}`, "struct bpf_btf_info", f.name);
  for (const f of L.BPF_LINK_INFO.fields) emit(`linkinfo.${f.name}`, "struct bpf_link_info", f.name);
  const src = `#include <stdio.h>
#include <stddef.h>
#include <string.h>
#include <linux/bpf.h>
#include <linux/perf_event.h>
int main(void) {
${lines.join("\n")}
  /* the bitfield word: set each flag alone and print where its bit lands */
  const char *names[] = {"disabled", "inherit", "exclude_kernel", "freq"};
  for (int i = 0; i < 4; i++) {
    struct perf_event_attr a; memset(&a, 0, sizeof a);
    if (i == 0) a.disabled = 1; if (i == 1) a.inherit = 1; if (i == 2) a.exclude_kernel = 1; if (i == 3) a.freq = 1;
    unsigned long long w; memcpy(&w, (char *)&a + 40, 8);
    printf("flag.%s %d 0\\n", names[i], __builtin_ctzll(w));
  }
  printf("sizeof.perf_event_attr_ver5 %d 0\\n", PERF_ATTR_SIZE_VER5);
  return 0;
}`;
  const dir = mkdtempSync(`${tmpdir()}/bpfload-layout-`);
  writeFileSync(`${dir}/l.c`, src);
  let out: string;
  try {
    const cc = Bun.spawnSync([gcc!, "-o", `${dir}/l`, `${dir}/l.c`]);
    if (cc.exitCode !== 0) throw new Error(cc.stderr.toString());
    out = Bun.spawnSync([`${dir}/l`]).stdout.toString();
  } finally {
    rmSync(dir, { recursive: true, force: true }); // nothing left behind in /tmp
  }
  return new Map(out.trim().split("\n").map((line) => {
    const [k, a, b] = line.split(" ");
    return [k!, [Number(a), Number(b)]];
  }));
}

describe.skipIf(!!skip)("attr layouts match the uapi headers", async () => {
  const real = skip ? new Map() : await measure();

  for (const [l] of BPF_ATTRS) {
    test(l.name, () => {
      let checked = 0;
      for (const f of l.fields) {
        const r = real.get(`${l.name}.${f.name}`);
        if (!r) continue; // newer than this header (e.g. log_true_size is 6.4+)
        expect([f.name, f.offset, f.size]).toEqual([f.name, r[0], r[1]]);
        checked++;
      }
      expect(checked).toBeGreaterThanOrEqual(Math.min(l.fields.length - 1, l.fields.length));
    });
  }

  test("perf_event_attr fields", () => {
    for (const f of L.PERF_EVENT_ATTR.fields) {
      if (f.name === "flags") continue;
      expect([f.name, f.offset, f.size]).toEqual([f.name, ...real.get(`perf.${f.name}`)!]);
    }
    expect(L.PERF_EVENT_ATTR.size).toBe(real.get("sizeof.perf_event_attr_ver5")![0]);
  });

  test("bpf_prog_info fields up to run_cnt", () => {
    for (const f of L.BPF_PROG_INFO.fields) {
      if (f.name === "gpl_compatible") continue; // bitfield: sits between ifindex and netns_dev
      expect([f.name, f.offset, f.size]).toEqual([f.name, ...real.get(`info.${f.name}`)!]);
    }
    expect(L.field(L.BPF_PROG_INFO, "gpl_compatible").offset).toBe(real.get("info.ifindex")![0] + 4);
  });

  test("bpf_map_info fields", () => {
    for (const f of L.BPF_MAP_INFO.fields) expect([f.name, f.offset, f.size]).toEqual([f.name, ...real.get(`mapinfo.${f.name}`)!]);
  });

  test("bpf_btf_info and the head of bpf_link_info", () => {
    for (const f of L.BPF_BTF_INFO.fields) expect([f.name, f.offset, f.size]).toEqual([f.name, ...real.get(`btfinfo.${f.name}`)!]);
    for (const f of L.BPF_LINK_INFO.fields) expect([f.name, f.offset, f.size]).toEqual([f.name, ...real.get(`linkinfo.${f.name}`)!]);
  });

  test("attach_btf_obj_fd shares attach_prog_fd's place (a union)", () => {
    expect(real.get("bpf_attr(BPF_PROG_LOAD).attach_btf_obj_fd")).toEqual(real.get("bpf_attr(BPF_PROG_LOAD).attach_prog_fd"));
  });

  test("perf_event_attr flag bits", () => {
    for (const [name, bit] of Object.entries(L.PERF_ATTR_FLAG)) expect([name, bit]).toEqual([name, real.get(`flag.${name}`)![0]]);
    // the flags word sits between read_format and wakeup_events
    expect(L.field(L.PERF_EVENT_ATTR, "flags").offset).toBe(real.get("perf.read_format")![0] + 8);
  });
});

describe("encode", () => {
  test("returns offsetofend of the last field set: 4.9's BPF_PROG_LOAD ends at kern_version (44)", () => {
    const view = new DataView(new ArrayBuffer(L.BPF_PROG_LOAD_ATTR.size));
    const size = L.encode(L.BPF_PROG_LOAD_ATTR, view, 0, { prog_type: 2, insn_cnt: 13, insns: 1n, license: 2n, kern_version: 0x409e4, prog_name: undefined });
    expect(size).toBe(44);
    expect(view.getUint32(40, true)).toBe(0x409e4);
  });

  test("a program name extends the attr to 64 bytes and is NUL-terminated within 16", () => {
    const view = new DataView(new ArrayBuffer(L.BPF_PROG_LOAD_ATTR.size));
    const size = L.encode(L.BPF_PROG_LOAD_ATTR, view, 0, { prog_type: 1, prog_name: "a_very_long_program_name" });
    expect(size).toBe(64);
    expect(new TextDecoder().decode(new Uint8Array(view.buffer, 48, 16))).toBe("a_very_long_pro\0");
  });

  test("unknown field is a programming error", () => {
    // @ts-expect-error a misspelt field fails the type check (tsc) before it can fail here
    expect(() => L.encode(L.BPF_OBJ_ATTR, new DataView(new ArrayBuffer(16)), 0, { nope: 1 })).toThrow("has no field nope");
  });
});

// The hook union of BPF_LINK_CREATE (tcx 6.6+, netfilter 6.4+) is newer than the 6.1 uapi headers:
// the running kernel's own BTF is the oracle (bpftool writes it out as C, gcc measures it).
const VMLINUX = "/sys/kernel/btf/vmlinux";
const bpftool = Bun.which("bpftool") ?? (existsSync("/usr/sbin/bpftool") ? "/usr/sbin/bpftool" : undefined);
const skipBtf = skip ?? (!bpftool ? "no bpftool" : !existsSync(VMLINUX) ? "no kernel BTF" : undefined);

describe.skipIf(!!skipBtf)("BPF_LINK_CREATE hook attr matches the running kernel's BTF", () => {
  test("every field at the kernel's offset and size", () => {
    const dir = mkdtempSync(`${tmpdir()}/bpfload-layout-btf-`);
    try {
      const dump = Bun.spawnSync([bpftool!, "btf", "dump", "file", VMLINUX, "format", "c"]);
      if (dump.exitCode !== 0) throw new Error(dump.stderr.toString());
      writeFileSync(`${dir}/vmlinux.h`, dump.stdout);
      const members = L.BPF_LINK_CREATE_HOOK_ATTR.fields.map((f) => f.name);
      const lines = members.map((m) => `printf("%s %zu %zu\\n", "${m}", __builtin_offsetof(union bpf_attr, link_create.${m}), sizeof(((union bpf_attr*)0)->link_create.${m}));`);
      writeFileSync(`${dir}/l.c`, `#include "vmlinux.h"\nint printf(const char *, ...);\nint main(void) {\n${lines.join("\n")}\nreturn 0; }\n`);
      const cc = Bun.spawnSync([gcc!, "-w", "-o", `${dir}/l`, `${dir}/l.c`]);
      if (cc.exitCode !== 0) throw new Error(cc.stderr.toString().slice(0, 2000));
      const out = Bun.spawnSync([`${dir}/l`]).stdout.toString().trim().split("\n");
      const real = new Map(out.map((line) => [line.split(" ")[0]!, line.split(" ").slice(1).map(Number)]));
      for (const f of L.BPF_LINK_CREATE_HOOK_ATTR.fields) expect([f.name, f.offset, f.size]).toEqual([f.name, ...real.get(f.name)!]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

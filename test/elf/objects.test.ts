// Every fixture parses; instruction bytes agree with the committed llvm-objdump -d listings.
import { describe, expect, test } from "bun:test";
import { isElf, readObject, type ObjectSpec } from "../../src/elf/index.ts";
import { BPF_F_RDONLY_PROG } from "../../src/uapi.ts";
import { FIXTURE_NAMES, fixture, readObjdump, shdr } from "./helpers.ts";

const objects = new Map<string, ObjectSpec>();
async function obj(name: string): Promise<ObjectSpec> {
  let o = objects.get(name);
  if (!o) objects.set(name, (o = await readObject(fixture(name), `${name}.o`)));
  return o;
}

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

/** The seed article's 13 instructions (KERNEL-FACTS.md). */
const SEED = `
b7 01 00 00 0a 00 00 00  6b 1a fc ff 00 00 00 00  b7 01 00 00 72 6c 64 21  63 1a f8 ff 00 00 00 00
18 01 00 00 48 65 6c 6c  00 00 00 00 6f 20 57 6f  7b 1a f0 ff 00 00 00 00  bf a1 00 00 00 00 00 00
07 01 00 00 f0 ff ff ff  b7 02 00 00 0e 00 00 00  85 00 00 00 06 00 00 00  b7 00 00 00 00 00 00 00
95 00 00 00 00 00 00 00`.replace(/\s+/g, "");

describe("every fixture against its llvm-objdump listing", () => {
  for (const name of FIXTURE_NAMES) {
    test(name, async () => {
      const bytes = fixture(name);
      expect(isElf(bytes)).toBe(true);
      const o = await obj(name);
      const listing = readObjdump(name);
      // every section objdump disassembled is covered, byte for byte, by our functions
      for (const [secName, sec] of listing) {
        const fns = o.functions.filter((f) => f.section === secName).sort((a, b) => a.sectionOffset - b.sectionOffset);
        expect(fns.length).toBeGreaterThan(0);
        const joined = Buffer.concat(fns.map((f) => f.insns));
        expect(hex(joined)).toBe(hex(sec.bytes));
        for (const f of fns) {
          // function symbols appear as objdump headings at the same offset
          expect(sec.labels.get(f.name)).toBe(f.sectionOffset);
          // fileOffset really points at the instructions in the file
          expect(hex(bytes.subarray(f.fileOffset, f.fileOffset + f.insns.length))).toBe(hex(f.insns));
          expect(f.insns.length % 8).toBe(0);
        }
      }
      // and every program section we report is one objdump saw (no invented code)
      for (const p of o.programs) expect(listing.has(p.section)).toBe(true);
    });
  }
});

test("isElf is a magic check only", () => {
  expect(isElf(new Uint8Array([0x7f, 0x45, 0x4c, 0x46]))).toBe(true);
  expect(isElf(new Uint8Array([0x7f, 0x45, 0x4c]))).toBe(false);
  expect(isElf(new TextEncoder().encode("#!/bin/sh\n"))).toBe(false);
});

test("hello.o: the seed's program, 13 instructions at file offset 64", async () => {
  const o = await obj("hello");
  expect(o.programs.length).toBe(1);
  const p = o.programs[0]!;
  expect(p.name).toBe("bpf_prog");
  expect(p.section).toBe(".text");
  expect(p.fileOffset).toBe(64); // the seed's `dd skip=64`
  expect(p.sectionOffset).toBe(0);
  expect(p.insns.length).toBe(104);
  expect(hex(p.insns)).toBe(SEED);
  expect(p.progType).toBeUndefined();
  expect(p.relocations).toEqual([]);
  expect(o.license).toBe("GPL");
  expect(o.version).toBeUndefined();
  // the unreferenced .rodata.str1.1 that clang leaves behind does not become a map
  expect(o.maps).toEqual([]);
});

test("legacy_maps.o: 20-byte struct bpf_map_def, version section, map relocations", async () => {
  const o = await obj("legacy_maps");
  expect(o.version).toBe(0x040900);
  expect(o.license).toBe("GPL");
  expect(o.maps.map((m) => [m.name, m.kind, m.type, m.keySize, m.valueSize, m.maxEntries, m.flags, m.sectionOffset])).toEqual([
    ["counts", "legacy", 1, 4, 8, 1024, 0, 0],
    ["stats", "legacy", 2, 4, 8, 4, 0, 20],
    ["scratch", "legacy", 5, 8, 16, 128, 1, 40],
  ]);
  expect(o.maps[0]!.layout).toContain("20-byte");
  const [p] = o.programs;
  expect(p!.name).toBe("count_write");
  expect(p!.progType).toBe("kprobe");
  expect(p!.attach).toBe("kprobe:sys_write");
  expect(p!.relocations.map((r) => [r.kind, r.map, r.insnIndex])).toEqual([
    ["map", "counts", 9], ["map", "counts", 19], ["map", "stats", 25],
  ]);
  for (const r of p!.relocations) expect(p!.insns[r.insnIndex * 8]).toBe(0x18);
});

test("iproute2_maps.o: 28-byte struct bpf_elf_map with id and pinning", async () => {
  const o = await obj("iproute2_maps");
  expect(o.maps.map((m) => [m.name, m.type, m.keySize, m.valueSize, m.maxEntries, m.id, m.pinning])).toEqual([
    ["acc_map", 2, 4, 4, 2, 0, 2],
    ["drops", 6, 4, 8, 1, 7, 1],
  ]);
  expect(o.maps[1]!.layout).toContain("iproute2");
  const [p] = o.programs;
  expect(p!.section).toBe("classifier");
  expect(p!.progType).toBe("sched_cls");
  expect(p!.relocations.map((r) => r.map)).toEqual(["acc_map", "drops"]);
});

test("btf_maps.o: BTF-defined maps resolved through typedef/const/volatile/struct/enum/array", async () => {
  const o = await obj("btf_maps");
  expect(o.license).toBe("Dual BSD/GPL");
  const m = Object.fromEntries(o.maps.map((x) => [x.name, x]));
  expect(Object.keys(m)).toEqual(["counts", "total", "sized", "by_color"]);
  // struct key_t { u32 pid; char comm[16]; } -> 20 bytes; typedef __u64 counter_t
  expect([m.counts!.type, m.counts!.keySize, m.counts!.valueSize, m.counts!.maxEntries, m.counts!.flags]).toEqual([1, 20, 8, 10240, 1]);
  expect([m.total!.type, m.total!.keySize, m.total!.valueSize, m.total!.maxEntries]).toEqual([2, 4, 8, 1]);
  expect([m.sized!.type, m.sized!.keySize, m.sized!.valueSize, m.sized!.maxEntries, m.sized!.pinning]).toEqual([6, 4, 64, 4, 1]);
  expect([m.by_color!.type, m.by_color!.keySize, m.by_color!.valueSize, m.by_color!.maxEntries]).toEqual([1, 4, 24, 3]);
  expect(m.counts!.kind).toBe("btf");
  expect(m.counts!.keyTypeId).toBeGreaterThan(0);
  expect(m.counts!.section).toBe(".maps");
  const [p] = o.programs;
  expect(p!.attach).toBe("tracepoint:raw_syscalls:sys_enter");
  expect(p!.progType).toBe("tracepoint");
  expect(p!.relocations.map((r) => r.map)).toEqual(["counts", "counts", "total", "sized", "by_color"]);
});

test("multi.o: several sections, several functions in one section, attach points", async () => {
  const o = await obj("multi");
  expect(o.programs.map((p) => [p.name, p.section, p.sectionOffset, p.progType, p.attach ?? null])).toEqual([
    ["open_entry", "kprobe/do_sys_open", 0, "kprobe", "kprobe:do_sys_open"],
    ["open_entry2", "kprobe/do_sys_open", 80, "kprobe", "kprobe:do_sys_open"],
    ["open_return", "kretprobe/do_sys_open", 0, "kprobe", "kretprobe:do_sys_open"],
    ["connect_off", "kprobe/tcp_v4_connect+16", 0, "kprobe", "kprobe:tcp_v4_connect+16"],
    ["on_switch", "tracepoint/sched/sched_switch", 0, "tracepoint", "tracepoint:sched:sched_switch"],
    ["on_execve", "tp/syscalls/sys_enter_execve", 0, "tracepoint", "tracepoint:syscalls:sys_enter_execve"],
    ["raw_exec", "raw_tracepoint/sched_process_exec", 0, "raw_tracepoint", "raw_tracepoint:sched_process_exec"],
    ["raw_enter", "raw_tp/sys_enter", 0, "raw_tracepoint", "raw_tracepoint:sys_enter"],
    ["bash_readline", "uprobe//bin/bash:readline", 0, "kprobe", "uprobe:/bin/bash:readline"],
    ["on_sample", "perf_event", 0, "perf_event", "perf_event"],
    ["xdp_pass", "xdp", 0, "xdp", "xdp"],
    ["sock_all", "socket", 0, "socket_filter", "socket"],
  ]);
  const bytes = fixture("multi");
  const sec = shdr(bytes, "kprobe/do_sys_open");
  const [a, b] = o.programs;
  expect(a!.fileOffset).toBe(sec.offset);
  expect(b!.fileOffset).toBe(sec.offset + 80);
  expect(a!.insns.length + b!.insns.length).toBe(sec.size);
  expect(a!.sectionIndex).toBe(sec.index);
});

test("calls.o: subprograms in .text are functions, not programs; call relocations resolved", async () => {
  const o = await obj("calls");
  expect(o.programs.map((p) => p.name)).toEqual(["prog_a", "prog_b", "prog_c", "prog_d"]);
  const text = o.functions.filter((f) => f.section === ".text");
  expect(text.map((f) => [f.name, f.sectionOffset, f.global])).toEqual([
    ["global_square", 0, true], ["twice", 24, false], ["add3", 56, false], ["loop_cb", 88, false],
  ]);
  const a = o.programs[0]!;
  const textIndex = text[0]!.sectionIndex;
  // static callee: relocation against the .text section symbol, target from imm; global: against the symbol
  expect(a.relocations.map((r) => [r.kind, r.symbol, r.insnIndex, r.target])).toEqual([
    ["call", ".text", 3, { sectionIndex: textIndex, insnIndex: 3 }],
    ["call", "global_square", 7, { sectionIndex: textIndex, insnIndex: 0 }],
  ]);
  const b = o.programs[1]!;
  expect(b.relocations.map((r) => [r.symbol, r.target!.insnIndex])).toEqual([[".text", 7]]);
  // bpf_loop(10, loop_cb, ...): ld_imm64 of a function address (section symbol + byte offset in imm)
  const d = o.programs[3]!;
  expect(d.relocations.map((r) => [r.kind, r.symbol, r.insnIndex, r.target])).toEqual([
    ["func", ".text", 5, { sectionIndex: textIndex, insnIndex: 11 }],
  ]);
});

test("globals.o: .data/.rodata/.bss/.rodata.str1.1 as array maps with offsets", async () => {
  const o = await obj("globals");
  const bytes = fixture("globals");
  expect(o.maps.map((m) => [m.name, m.kind, m.type, m.keySize, m.valueSize, m.maxEntries, m.flags])).toEqual([
    [".data", "data", 2, 4, shdr(bytes, ".data").size, 1, 0],
    [".rodata", "data", 2, 4, 16, 1, BPF_F_RDONLY_PROG],
    [".bss", "data", 2, 4, shdr(bytes, ".bss").size, 1, 0],
    [".rodata.str1.1", "data", 2, 4, 20, 1, BPF_F_RDONLY_PROG],
  ]);
  const m = Object.fromEntries(o.maps.map((x) => [x.name, x]));
  const rodata = shdr(bytes, ".rodata");
  expect(hex(m[".rodata"]!.initialData!)).toBe(hex(bytes.subarray(rodata.offset, rodata.offset + rodata.size)));
  expect(new DataView(m[".rodata"]!.initialData!.buffer).getUint32(0, true)).toBe(42); // target_pid
  expect(new TextDecoder().decode(m[".rodata.str1.1"]!.initialData!)).toBe("over the limit: %d\n\0");
  expect(m[".bss"]!.initialData).toBeUndefined();
  const [p] = o.programs;
  // symbol references (offset = symbol value) and section-symbol references (offset = imm)
  expect(p!.relocations.map((r) => [r.symbol, r.map, r.offset])).toEqual([
    ["target_pid", ".rodata", 0],
    ["misses", ".bss", 0],
    ["flags_data", ".data", 8],
    ["hits", ".data", 0],
    [".data", ".data", 24], // static char greeting[]
    [".bss", ".bss", 8], // static u32 last_cpu
    [".bss", ".bss", 8],
    ["limit", ".rodata", 8],
    [".rodata.str1.1", ".rodata.str1.1", 0],
  ]);
  expect(p!.relocations.every((r) => r.kind === "data")).toBe(true);
});

test("samples49.o: 4.9 samples/bpf style (llc, .eh_frame, version, tail-call sections)", async () => {
  const o = await obj("samples49");
  const bytes = fixture("samples49");
  shdr(bytes, ".rel.eh_frame"); // present, and ignored
  expect(o.version).toBe(0x409e5);
  expect(o.license).toBe("GPL");
  expect(o.programs.map((p) => [p.section, p.name, p.progType, p.attach ?? null, p.tailCallIndex ?? null])).toEqual([
    ["kprobe/sys_write", "bpf_prog1", "kprobe", "kprobe:sys_write", null],
    ["kretprobe/sys_write", "bpf_prog2", "kprobe", "kretprobe:sys_write", null],
    ["kprobe/9", "bpf_func_9", "kprobe", null, 9],
    ["kprobe/1", "bpf_func_1", "kprobe", null, 1],
    ["socket/3", "bpf_socket3", "socket_filter", null, 3],
    ["socket1", "bpf_socket1", "socket_filter", "socket", null],
  ]);
  // symbol order is not section order: maps come in definition (offset) order
  expect(o.maps.map((m) => [m.name, m.type, m.keySize, m.valueSize, m.maxEntries, m.sectionOffset])).toEqual([
    ["progs", 3, 4, 4, 1024, 0],
    ["my_map", 1, 8, 8, 256, 20],
  ]);
  expect(o.programs[0]!.relocations.map((r) => [r.map, r.insnIndex])).toEqual([["my_map", 8], ["my_map", 18], ["progs", 28]]);
  expect(o.programs[5]!.relocations.map((r) => [r.map, r.insnIndex])).toEqual([["progs", 9]]);
});

test("sections and symbols are exposed for tools", async () => {
  const o = await obj("calls");
  expect(o.sections[0]!.name).toBe("");
  expect(o.sections.find((s) => s.name === ".text")!.size).toBe(144);
  expect(o.symbols.find((s) => s.name === "prog_a")!.type).toBe(2);
});

test("core.o: CO-RE relocations are counted per program (not performed)", async () => {
  const o = await obj("core");
  expect(o.programs.map((p) => [p.name, p.coreRelocations ?? 0])).toEqual([["core_prog", 2], ["plain_prog", 0]]);
  for (const name of FIXTURE_NAMES.filter((n) => n !== "core")) {
    for (const p of (await obj(name)).programs) expect(p.coreRelocations).toBeUndefined();
  }
});

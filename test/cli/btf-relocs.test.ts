// `bpfload btf relocs`: the offline CO-RE report, against the VM rig's BTF files of 4.9, 4.19 and
// 5.4 (made by pahole, as BTFHub's are) and this host's own BTF. Oracles: the offsets the rig's
// README checked against DWARF (task_struct.pid at 1128/1160/1176, real_parent at 1136/1176/1192),
// and `bpftool btf dump file F format raw` for type ids and every member's bits_offset. Hostile
// targets (loops, self-containing structs, wrong magic, truncation) end in one line, never a hang.
// Reads files only: no root needed.
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { writeBtf, type BtfTypeRecord } from "../../src/btf/write.ts";
import { Btf } from "../../src/elf/btf.ts";
import { readObject } from "../../src/elf/index.ts";
import { MAIN, REPO, runCli } from "../support.ts";

const VM = `${REPO}/../shared/vm-kernels`;
const FILES: Record<string, { pid: number; realParent: number }> = {
  "btf-4.9.229": { pid: 1128, realParent: 1136 },
  "btf-4.19.72": { pid: 1160, realParent: 1176 },
  "btf-5.4.286": { pid: 1176, realParent: 1192 },
};
const haveFiles = Object.keys(FILES).every((f) => existsSync(`${VM}/${f}`));
if (!haveFiles) console.warn(`[skip] btf relocs against the rig's BTF files: ${VM} is missing`);
const bpftool = Bun.which("bpftool");
const VMLINUX = "/sys/kernel/btf/vmlinux";
const OBJ = `${REPO}/test/fixtures/core_tracing.o`;

const tmp = mkdtempSync(`${tmpdir()}/bpfload-btf-relocs-`);
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** bpftool's first `STRUCT 'task_struct'` with members: its id and each member's byte offset. */
function bpftoolTaskStruct(file: string): { id: number; offsets: Map<string, number> } {
  const out = Bun.spawnSync([bpftool!, "btf", "dump", "file", file, "format", "raw"]).stdout.toString();
  const m = /^\[(\d+)\] STRUCT 'task_struct' size=\d+ vlen=[1-9]\d*\n((?:\t.*\n)+)/m.exec(out)!;
  const offsets = new Map<string, number>();
  for (const f of m[2]!.matchAll(/^\t'([^']*)' type_id=\d+ bits_offset=(\d+)/gm)) offsets.set(f[1]!, Number(f[2]) / 8);
  return { id: Number(m[1]), offsets };
}

function jsonLines(stdout: string): Record<string, any>[] {
  return stdout.trim().split("\n").filter(Boolean).map((l) => JSON.parse(l));
}

async function relocs(args: string[], env?: Record<string, string>) {
  if (!env) return runCli(["btf", "relocs", ...args]);
  const p = Bun.spawnSync([process.execPath, MAIN, "btf", "relocs", ...args], { env: { ...process.env, ...env }, stdout: "pipe", stderr: "pipe" });
  return { code: p.exitCode, stdout: p.stdout.toString(), stderr: p.stderr.toString() };
}

/** The three core_exec relocations of a --json run, by field name. */
function execFields(stdout: string): Map<string, Record<string, any>> {
  const rel = jsonLines(stdout).filter((l) => l.type === "relocation" && l.program === "core_exec");
  return new Map(rel.map((r) => [String(r.local).split(".").pop()!, r]));
}

describe.skipIf(!haveFiles || !bpftool)("btf relocs against kernels without BTF of their own", () => {
  for (const [name, want] of Object.entries(FILES)) {
    test(`${name}: pid, tgid, real_parent where DWARF and bpftool put them`, async () => {
      const file = `${VM}/${name}`;
      const r = await relocs([OBJ, "--btf", file, "--json", "--program", "core_exec"]);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      const oracle = bpftoolTaskStruct(file);
      const got = execFields(r.stdout);
      expect([...got.keys()].sort()).toEqual(["pid", "real_parent", "tgid"]);
      expect(got.get("pid")!.newValue).toBe(String(want.pid));
      expect(got.get("real_parent")!.newValue).toBe(String(want.realParent));
      for (const [field, rel] of got) {
        expect(rel.kind).toBe("byte_off");
        expect(rel.resolved).toBe(true);
        expect(rel.targetType.typeId).toBe(oracle.id);
        expect(rel.field.offset).toBe(oracle.offsets.get(field)!);
        expect(rel.newValue).toBe(String(oracle.offsets.get(field)));
        expect(rel.field.size).toBe(field === "real_parent" ? 8 : 4);
      }
      const verdict = jsonLines(r.stdout).find((l) => l.type === "program")!;
      expect(verdict).toMatchObject({ program: "core_exec", verdict: "ok", relocations: 3 });
    });
  }

  test("BPFLOAD_BTF is the default --btf", async () => {
    const r = await relocs([OBJ, "--json", "--program", "core_exec"], { BPFLOAD_BTF: `${VM}/btf-4.19.72` });
    expect(r.code).toBe(0);
    expect(execFields(r.stdout).get("pid")!.newValue).toBe("1160");
  });

  test("the guarded program: field_exists is 0, the read behind it poisoned, the verdict 'guarded'", async () => {
    const r = await relocs([OBJ, "--btf", `${VM}/btf-5.4.286`, "--json", "--program", "core_guarded"]);
    expect(r.code).toBe(0);
    const lines = jsonLines(r.stdout);
    const rel = lines.filter((l) => l.type === "relocation");
    const exists = rel.find((l) => l.kind === "field_exists")!;
    expect(exists).toMatchObject({ local: "struct task_struct___nope.no_such_field_anywhere", oldValue: "1", newValue: "0", resolved: true });
    const poisoned = rel.filter((l) => l.poisoned);
    expect(poisoned.map((l) => l.local)).toEqual(["struct task_struct___nope.no_such_field_anywhere"]);
    // the ___nope flavor matched the kernel's task_struct: pid's offset is 5.4's
    expect(rel.find((l) => l.kind === "byte_off" && l.local.endsWith(".pid"))!.newValue).toBe("1176");
    expect(rel.find((l) => l.kind === "byte_sz")!.newValue).toBe("4");
    expect(lines.find((l) => l.type === "program")).toMatchObject({ verdict: "guarded" });
  });

  test("plain text: one line per relocation with the access string and where it went, then the verdict", async () => {
    const r = await relocs([OBJ, "--btf", `${VM}/btf-4.9.229`, "--program", "core_exec"]);
    expect(r.code).toBe(0);
    const id = bpftoolTaskStruct(`${VM}/btf-4.9.229`).id;
    expect(r.stdout).toContain(`byte_off struct task_struct.real_parent (0:2): [${id}] struct task_struct.real_parent, offset 1136 size 8: 8 -> 1136`);
    expect(r.stdout).toContain("program core_exec (tracepoint/sched/sched_process_exec): 3 relocations: every relocation resolved: loads");
    expect(r.stderr).toContain("CO-RE relocations against");
  });

  test("a directory of BTF files (and a file that is not BTF): a table of where it runs, exit 1 for the unreadable one", async () => {
    const dir = `${tmp}/btfhub`;
    Bun.spawnSync(["mkdir", "-p", dir]);
    Bun.spawnSync(["mkdir", "-p", `${dir}/debian/10`]); // BTFHub nests DISTRO/VERSION/ARCH
    const place = (f: string) => (f.includes("4.19") ? `${dir}/debian/10/${f}` : `${dir}/${f}`);
    for (const f of Object.keys(FILES)) symlinkSync(`${VM}/${f}`, place(f));
    const good = await relocs([OBJ, "--btf", dir]);
    expect(good.code).toBe(0);
    const table = good.stdout.slice(good.stdout.indexOf("target "));
    for (const f of Object.keys(FILES)) expect(table).toMatch(new RegExp(`${place(f)} +ok +guarded`));
    expect(good.stdout).toContain("runs: core_exec on 3 of 3, core_guarded on 3 of 3");
    expect(good.stdout).not.toContain("#0 "); // relocation lines only with --verbose
    writeFileSync(`${dir}/notes.txt`, "not BTF\n");
    const bad = await relocs([OBJ, "--btf", dir, "--json"]);
    expect(bad.code).toBe(1);
    const lines = jsonLines(bad.stdout);
    expect(lines.find((l) => l.type === "target")!.error).toContain("notes.txt: not usable as --btf: not BTF");
    expect(lines.find((l) => l.type === "summary")!.programs[0].runsOn).toHaveLength(3);
  });
});

describe.skipIf(!existsSync(VMLINUX) || !bpftool)("btf relocs against this kernel's own BTF", () => {
  test("without --btf: /sys/kernel/btf/vmlinux, offsets as bpftool dumps them", async () => {
    const r = await relocs([OBJ, "--json", "--program", "core_exec"], { BPFLOAD_BTF: "" });
    expect(r.code).toBe(0);
    const oracle = bpftoolTaskStruct(VMLINUX);
    for (const [field, rel] of execFields(r.stdout)) {
      expect(rel.targetType.typeId).toBe(oracle.id);
      expect(rel.newValue).toBe(String(oracle.offsets.get(field)));
    }
  });
});

// ---- hostile target BTF: hand-built, each a small file
const INT: BtfTypeRecord = { kind: 1, name: "int", sizeOrType: 4, vlen: 0, kindFlag: false, int: { encoding: 1, offset: 0, bits: 32 } };
const task = (members: { name: string; type: number; offset: number }[]): BtfTypeRecord => ({ kind: 4, name: "task_struct", sizeOrType: 4096, vlen: members.length, kindFlag: false, members });
const typedef = (name: string, type: number): BtfTypeRecord => ({ kind: 8, name, sizeOrType: type, vlen: 0, kindFlag: false });
const ptr = (type: number): BtfTypeRecord => ({ kind: 2, name: "", sizeOrType: type, vlen: 0, kindFlag: false });

describe("btf relocs with hostile target BTF: one clear line, never a hang or a trace", () => {
  const hostile: [string, BtfTypeRecord[], string][] = [
    ["pid's type is a typedef loop", [task([{ name: "pid", type: 2, offset: 0 }, { name: "tgid", type: 4, offset: 32 }, { name: "real_parent", type: 5, offset: 64 }]), typedef("a", 3), typedef("b", 2), INT, ptr(1)], "loop"],
    ["task_struct contains itself as an anonymous member", [task([{ name: "", type: 1, offset: 0 }]), INT], "too deep"],
    ["two anonymous structs contain each other", [task([{ name: "", type: 2, offset: 0 }]), { kind: 4, name: "", sizeOrType: 8, vlen: 1, kindFlag: false, members: [{ name: "", type: 1, offset: 0 }] }, INT], "too deep"],
  ];
  for (const [what, types, reason] of hostile) {
    test(`${what}: the program is refused with the relocation named (exit 1)`, async () => {
      const file = `${tmp}/${what.replace(/\W+/g, "-")}.btf`;
      writeFileSync(file, writeBtf(types));
      const t0 = performance.now();
      const r = await relocs([OBJ, "--btf", file, "--program", "core_exec"]);
      expect(performance.now() - t0).toBeLessThan(15000);
      expect(r.code).toBe(1);
      expect(r.stderr).not.toContain("internal error");
      expect(r.stdout).toContain("refused: a relocation cannot be applied");
      expect(r.stdout).toMatch(new RegExp(`relocation \\d \\(struct task_struct\\.\\w+\\): .*${reason}`));
    });
  }

  test("60,000 task_struct candidates: resolved (all agree on pid) in bounded time", async () => {
    const many: BtfTypeRecord[] = [INT];
    for (let i = 0; i < 60000; i++) many.push({ kind: 4, name: "task_struct", sizeOrType: 8, vlen: 1, kindFlag: false, members: [{ name: "pid", type: 1, offset: 32 }] });
    writeFileSync(`${tmp}/many.btf`, writeBtf(many));
    const r = await relocs([OBJ, "--btf", `${tmp}/many.btf`, "--program", "core_exec", "--json"]);
    expect(r.code).toBe(0);
    expect(execFields(r.stdout).get("pid")!.newValue).toBe("4");
  });

  test("wrong magic, truncated, a directory-less missing file: exit 2 and one line naming the file", async () => {
    writeFileSync(`${tmp}/magic.btf`, new Uint8Array(64).fill(7));
    const real = writeBtf([task([{ name: "pid", type: 2, offset: 0 }]), INT]);
    writeFileSync(`${tmp}/cut.btf`, real.subarray(0, real.length - 9));
    for (const [file, text] of [[`${tmp}/magic.btf`, "not BTF (no BTF magic"], [`${tmp}/cut.btf`, "bad BTF: "], [`${tmp}/absent.btf`, "no such file (ENOENT)"]] as const) {
      const r = await relocs([OBJ, "--btf", file]);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe("");
      const lines = r.stderr.trim().split("\n");
      expect(lines[lines.length - 1]).toStartWith(`bpfload: ${file}: `);
      expect(lines[lines.length - 1]).toContain(text);
    }
  });

  test.skipIf(!haveFiles)("an object whose own BTF loops: the object is named, not the target (exit 2)", async () => {
    const bytes = new Uint8Array(readFileSync(OBJ));
    const obj = await readObject(bytes, OBJ);
    const sec = obj.sections.find((x) => x.name === ".BTF")!;
    const btf = new Btf(bytes.subarray(sec.offset, sec.offset + sec.size));
    const ptr = btf.type(btf.find(4, "task_struct")!.members!.find((m) => m.name === "real_parent")!.type); // PTR to task_struct
    const v = new DataView(bytes.buffer, bytes.byteOffset + sec.offset);
    v.setUint32(ptr.sectionOffset + 4, 8 << 24, true); // now a TYPEDEF ...
    v.setUint32(ptr.sectionOffset + 8, ptr.id, true); // ... of itself
    const file = `${tmp}/looped.o`;
    writeFileSync(file, bytes);
    const r = await relocs([file, "--btf", `${VM}/btf-4.9.229`]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr.trim()).toStartWith(`bpfload: ${file} (section '.BTF', offset `); // the reader checks it whole
    expect(r.stderr).toContain("loop");
    expect(r.stderr).not.toContain("btf-4.9.229");
  });

  test("usage: an unknown action, no object, an unknown program: exit 2", async () => {
    expect((await runCli(["btf", "dump-all", OBJ])).code).toBe(2);
    expect((await runCli(["btf", "relocs"])).code).toBe(2);
    const r = await runCli(["btf", "relocs", OBJ, "--program", "nope", "--btf", `${tmp}/magic.btf`]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("has no program 'nope': it has core_exec, core_guarded");
  });

  test("an object without CO-RE relocations: each program says so (exit 0)", async () => {
    writeFileSync(`${tmp}/small.btf`, writeBtf([task([{ name: "pid", type: 2, offset: 0 }]), INT]));
    const r = await relocs([`${REPO}/test/fixtures/hello.o`, "--btf", `${tmp}/small.btf`]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("0 relocations: no CO-RE relocations");
  });
});

// disasm, extract and asm as a user runs them, against llvm-objdump's listings (committed, and
// live when llvm-objdump is installed) and against the seed's bytes.
import { describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { canUseKernel, REPO, runCli, SEED } from "../support.ts";

const FIX = `${REPO}/test/fixtures`;
const objects = readdirSync(FIX).filter((f) => f.endsWith(".o"));
const dir = mkdtempSync(`${tmpdir()}/bpfload-tools-`);
const llvmObjdump = Bun.which("llvm-objdump");

/** Runs the CLI with the fixtures directory as cwd, so file headers read like the listings'. */
async function inFixtures(args: string[]) {
  const proc = Bun.spawn([process.execPath, `${REPO}/src/main.ts`, ...args], { cwd: FIX, stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { stdout, stderr, code };
}

describe("disasm", () => {
  test("has fixtures to check", () => expect(objects.length).toBeGreaterThanOrEqual(8));
  for (const obj of objects) {
    test(`${obj}: --no-relocs equals the committed llvm-objdump -d listing`, async () => {
      const r = await inFixtures(["disasm", obj, "--no-relocs"]);
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(readFileSync(`${FIX}/${obj.replace(/\.o$/, ".objdump.txt")}`, "utf8"));
    });
    test.skipIf(!llvmObjdump)(`${obj}: default output equals live llvm-objdump -dr`, async () => {
      const theirs = Bun.spawnSync([llvmObjdump!, "-dr", obj], { cwd: FIX }).stdout.toString();
      expect((await inFixtures(["disasm", obj])).stdout).toBe(theirs);
    });
  }

  test("kernel syntax names helpers as the verifier log does", async () => {
    const seed = `${dir}/seed.bin`;
    writeFileSync(seed, SEED);
    const r = await runCli(["disasm", seed, "--syntax", "kernel"]);
    expect(r.stdout.split("\n")).toContain("10: (85) call bpf_trace_printk#6");
    expect(r.stdout.split("\n")).toContain("12: (95) exit");
  });
});

describe("extract", () => {
  test("hello.o's program is the seed's 104 bytes at offset 64, as the article's dd cut them", async () => {
    const out = `${dir}/hello.bin`;
    const r = await runCli(["extract", `${FIX}/hello.o`, "-o", out]);
    expect(r.code).toBe(0);
    expect(new Uint8Array(readFileSync(out))).toEqual(SEED);
    expect(r.stderr).toContain("wrote 13 instructions (104 bytes) of 'bpf_prog' from section '.text' at file offset 64");
  });

  test("pending relocations are reported", async () => {
    const r = await runCli(["extract", `${FIX}/samples49.o`, "--section", "kprobe/sys_write", "-o", `${dir}/p.bin`]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("3 relocation(s) pending");
  });

  const errors: [string, string[], RegExp][] = [
    ["several programs, none chosen", ["extract", `${FIX}/samples49.o`, "-o", `${dir}/x`], /has 6 programs: pick one with --program/],
    ["no such section", ["extract", `${FIX}/multi.o`, "--section", "nope", "-o", `${dir}/x`], /has no section 'nope': it has/],
    ["not an object", ["extract", `${REPO}/test/vm/seed.bin`, "-o", `${dir}/x`], /not an ELF object/],
    ["no -o", ["extract", `${FIX}/hello.o`], /give the output file with -o FILE/],
  ];
  for (const [name, args, msg] of errors) {
    test(`${name}: one line, exit 2`, async () => {
      const r = await runCli(args);
      expect(r.stderr).toMatch(msg);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      expect(r.code).toBe(2);
    });
  }
});

describe("asm", () => {
  for (const obj of objects) {
    test(`${obj}: every program's disasm output assembles back to the same bytes`, async () => {
      const list = (await inFixtures(["disasm", obj, "--no-relocs"])).stdout;
      const src = `${dir}/${obj}.s`;
      writeFileSync(src, list);
      const out = `${dir}/${obj}.bin`;
      const r = await runCli(["asm", src, "-o", out]);
      expect(r.code).toBe(0);
      // the whole object's executable sections, in order, as llvm-objdump listed them
      const expected = list.split("\n").filter((l) => /^\s+\d+:\t/.test(l)).map((l) => l.split("\t")[1]!.trim()).join(" ").split(" ").map((h) => parseInt(h, 16));
      expect([...new Uint8Array(readFileSync(out))]).toEqual(expected);
    });
  }

  test("errors give file:line:column and exit 2", async () => {
    const src = `${dir}/bad.s`;
    writeFileSync(src, "r1 = 10\nr1 +== 3\nexit\n");
    const r = await runCli(["asm", src, "-o", `${dir}/bad.bin`]);
    expect(r.stderr).toMatch(new RegExp(`${src}:2:\\d+: `));
    expect(r.code).toBe(2);
  });

  test.skipIf(!canUseKernel)("a hand-written .s loads and runs directly", async () => {
    const src = `${dir}/hello.s`;
    writeFileSync(src, (await runCli(["disasm", `${REPO}/test/vm/seed.bin`])).stdout);
    const trigger = setInterval(() => Bun.spawn(["/bin/sh", "-c", "true & wait"]), 200);
    try {
      const r = await runCli(["load", src, "--attach", "tracepoint:syscalls:sys_enter_clone", "--count", "1", "--duration", "10"]);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain("Hello World!");
    } finally {
      clearInterval(trigger);
    }
  });
});

describe("hostile objects through the CLI", () => {
  test("a truncated object is one ObjectError line with exit 2 for load, disasm and extract", async () => {
    const bytes = readFileSync(`${FIX}/btf_maps.o`);
    const cut = `${dir}/cut.o`;
    writeFileSync(cut, bytes.subarray(0, Math.floor(bytes.length / 2)));
    for (const args of [["load", cut, "--no-attach"], ["disasm", cut], ["extract", cut, "-o", `${dir}/x`]]) {
      const r = await runCli(args);
      expect(r.stderr).toMatch(/^bpfload: .*cut\.o.*: /);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      expect(r.code).toBe(2);
    }
  });
});

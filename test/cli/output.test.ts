// Nothing lost, clear errors: every byte of a big listing reaches a slow pipe reader, a full disk is
// one line and exit 1, unusable input and output paths are one line with the errno name, numbers
// out of range are refused. No kernel needed (the `probe` case is kernel-gated).
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { disassembleObject } from "../../src/asm/index.ts";
import { canUseKernel, kernelSkipReason, MAIN, REPO, runCli, SEED } from "../support.ts";
import { elf, program } from "./big-object.ts";

const dir = mkdtempSync(`${tmpdir()}/bpfload-out-`);
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, bytes: Uint8Array | string) => {
  writeFileSync(`${dir}/${name}`, bytes);
  return `${dir}/${name}`;
};
const BUN = process.execPath;
const sh = (script: string, timeoutMs = 30000) => {
  const p = Bun.spawnSync(["bash", "-c", script], { stdout: "pipe", stderr: "pipe", timeout: timeoutMs, env: { ...process.env, BUN, MAIN, DIR: dir } });
  return { code: p.exitCode, stdout: p.stdout.toString(), stderr: p.stderr.toString() };
};
const oneLine = (stderr: string) => {
  expect(stderr.trim().split("\n")).toHaveLength(1);
  expect(stderr).not.toContain("    at ");
  expect(stderr).not.toContain("internal error");
};

// 200,000 instructions: a listing of about 11 MB, 170 times what one write into a pipe takes.
const N = 200_000;
const text = program(N);
const big = file("big.o", elf(text, "prog"));
const expected = disassembleObject({ file: big, sections: [{ name: ".text", bytes: text, symbols: [{ name: "prog", offset: 0 }] }] });
const seed = file("seed", SEED);

describe("stdout into a pipe", () => {
  test("a slow reader gets every line of a big listing (Bun's stdout is non-blocking)", () => {
    const r = sh(`"$BUN" "$MAIN" disasm "$DIR/big.o" | (sleep 1; cat) > "$DIR/piped.txt"; echo "$?"`);
    expect(r.stderr).toBe("");
    const got = readFileSync(`${dir}/piped.txt`, "utf8");
    expect(got.length).toBe(expected.length);
    expect(got === expected).toBe(true); // same text as the disassembler gives in-process
  });

  test("| wc -l counts them all", () => {
    const r = sh(`"$BUN" "$MAIN" disasm "$DIR/big.o" | wc -l`);
    expect(Number(r.stdout.trim())).toBe(expected.split("\n").length - 1);
  });

  test("a reader that stops early (| head -1) ends the run quietly, exit 0", () => {
    const r = sh(`"$BUN" "$MAIN" disasm "$DIR/big.o" | head -1; echo "exit \${PIPESTATUS[0]}"`);
    expect(r.stdout).toBe(`${expected.split("\n")[0]}\nexit 0\n`);
    expect(r.stderr).toBe("");
  });
});

describe("a write the system refuses", () => {
  test(">/dev/full: one line with the errno name, exit 1", () => {
    const r = sh(`"$BUN" "$MAIN" disasm "$DIR/big.o" > /dev/full`);
    expect(r.stderr).toBe("bpfload: write stdout: ENOSPC (no space left on device)\n");
    expect(r.code).toBe(1);
  });
  test("--help >/dev/full: one line, exit 1 (cac's console.info goes through the writer too)", () => {
    for (const args of ["--help", "load --help"]) {
      const r = sh(`"$BUN" "$MAIN" ${args} > /dev/full`);
      expect(r.stderr).toBe("bpfload: write stdout: ENOSPC (no space left on device)\n");
      expect(r.code).toBe(1);
    }
  });
  test(">/dev/full with --json: the error still reaches stderr", () => {
    const r = sh(`"$BUN" "$MAIN" disasm --json "$DIR/big.o" > /dev/full`);
    expect(r.stderr).toBe("bpfload: write stdout: ENOSPC (no space left on device)\n");
    expect(r.code).toBe(1);
  });
  test.skipIf(!canUseKernel)(`probe >/dev/full: one line, exit 1${kernelSkipReason ? ` [skip: ${kernelSkipReason}]` : ""}`, () => {
    const r = sh(`"$BUN" "$MAIN" probe > /dev/full`);
    expect(r.stderr).toBe("bpfload: write stdout: ENOSPC (no space left on device)\n");
    expect(r.code).toBe(1);
  });
});

describe("input files that are not files", () => {
  test("/dev/zero is refused up front, not read forever", async () => {
    const r = await runCli(["asm", "/dev/zero", "-o", `${dir}/never`], { timeoutMs: 10000 });
    expect(r.stderr).toBe("bpfload: /dev/zero: is a character device, not a regular file: give a file\n");
    expect(r.code).toBe(2);
    const d = await runCli(["disasm", "/dev/zero"], { timeoutMs: 10000 });
    expect(d.stderr).toContain("is a character device, not a regular file");
    expect(d.code).toBe(2);
  });
  test("a FIFO is refused without waiting for a writer", async () => {
    const fifo = `${dir}/fifo`;
    expect(Bun.spawnSync(["mkfifo", fifo]).exitCode).toBe(0);
    for (const args of [["disasm", fifo], ["load", fifo, "--type", "kprobe"], ["asm", fifo, "-o", `${dir}/x`]]) {
      const r = await runCli(args, { timeoutMs: 10000 });
      expect(r.stderr).toBe(`bpfload: ${fifo}: is a FIFO (named pipe), not a regular file: give a file\n`);
      expect(r.code).toBe(2);
    }
  });
  test("a file over the size cap is EFBIG by name, exit 2", async () => {
    const huge = `${dir}/huge.bin`;
    const f = Bun.spawnSync(["truncate", "-s", "300M", huge]);
    expect(f.exitCode).toBe(0);
    const r = await runCli(["disasm", huge]);
    expect(r.stderr).toBe(`bpfload: ${huge}: larger than 256 MiB, bpfload's limit for an input file (EFBIG)\n`);
    expect(r.code).toBe(2);
    rmSync(huge);
  });
  test("a missing file names ENOENT (exit 2)", async () => {
    const r = await runCli(["asm", `${dir}/nope.s`, "-o", `${dir}/x`]);
    expect(r.stderr).toBe(`bpfload: ${dir}/nope.s: no such file (ENOENT)\n`);
    expect(r.code).toBe(2);
  });
  test("EMFILE is the system refusing: exit 1 (the process uses up its descriptors first)", () => {
    // Modules are loaded first; then every free descriptor is taken, so the open of the input is
    // the kernel's real EMFILE, not a simulated one.
    const script = file(
      "emfile.ts",
      `import { openSync } from "node:fs";
import { main } from "${REPO}/src/cli/index.ts";
await import("${REPO}/src/cli/disasm.ts");
await import("${REPO}/src/asm/index.ts");
try { for (;;) openSync("/dev/null", "r"); } catch (e) { if (e.code !== "EMFILE") throw e; }
process.exitCode = await main(["disasm", ${JSON.stringify(seed)}], "0");
`,
    );
    const r = sh(`ulimit -n 64; "$BUN" "${script}"`);
    expect(r.stderr).toBe(`bpfload: ${seed}: cannot open: EMFILE (too many open files): this process may open no more files: raise the limit (ulimit -n)\n`);
    expect(r.code).toBe(1);
  });
});

describe("output files (-o)", () => {
  const src = file("prog.s", "r0 = 0\nexit\n");
  const hello = `${REPO}/test/fixtures/hello.o`;
  const cases: [string, string, RegExp, number][] = [
    ["a directory", dir, /: cannot write: is a directory: give a file name \(-o DIR\/prog\.bin\) \(EISDIR\)$/, 2],
    ["a missing directory", `${dir}/no/such/dir/out.bin`, /: cannot write: no such directory: create it first, or give another path \(ENOENT\)$/, 2],
    ["/dev/full", "/dev/full", /^bpfload: \/dev\/full: cannot write: ENOSPC \(no space left on device\): free some space, or write elsewhere$/, 1],
  ];
  for (const [name, out, message, code] of cases) {
    for (const args of [["asm", src, "-o", out], ["extract", hello, "-o", out]]) {
      test(`${args[0]} -o ${name}: one line, exit ${code}`, async () => {
        const r = await runCli(args);
        expect(r.stderr.trim()).toMatch(message);
        oneLine(r.stderr);
        expect(r.code).toBe(code);
      });
    }
  }
  test("a place the system will not let us write is exit 1 (EACCES for users, EIO for root on /proc)", async () => {
    const r = await runCli(["asm", src, "-o", "/proc/version"]);
    expect(r.stderr).toMatch(/^bpfload: \/proc\/version: cannot write: (EACCES|EPERM|EIO|EROFS) /);
    oneLine(r.stderr);
    expect(r.code).toBe(1);
  });
  test("a FIFO nobody reads is ENXIO at once, not a wait forever", async () => {
    const fifo = `${dir}/out-fifo`;
    expect(Bun.spawnSync(["mkfifo", fifo]).exitCode).toBe(0);
    const r = await runCli(["asm", src, "-o", fifo], { timeoutMs: 10000 });
    expect(r.stderr).toBe(`bpfload: ${fifo}: cannot write: a FIFO that nobody reads (or a device that is not there) (ENXIO)\n`);
    expect(r.code).toBe(2);
  });
  test("-o into a FIFO with a reader: every byte arrives", () => {
    const r = sh(`mkfifo "$DIR/read-fifo"; (exec 3< "$DIR/read-fifo"; sleep 0.5; wc -c <&3) & sleep 0.2; "$BUN" "$MAIN" extract ${hello} -o "$DIR/read-fifo" 2>/dev/null; wait`, 8000);
    expect(r.stdout.trim()).toBe("104");
  }, 10000);
  test("the bytes written are complete", async () => {
    const r = await runCli(["extract", hello, "-o", `${dir}/hello.bin`]);
    expect(r.code).toBe(0);
    expect(readFileSync(`${dir}/hello.bin`).length).toBe(104);
  });
});

describe("numbers on the command line", () => {
  const cases: [string[], RegExp][] = [
    [["--count", "1.5"], /bad --count '1\.5': give a whole number from 1 to 4294967295/],
    [["--count", "1e99"], /bad --count '1e99'/],
    [["--count=-3"], /bad --count '-3'/],
    [["--count", "-3"], /bad --count '-3': give a whole number from 1 to 4294967295/],
    [["--count", "0"], /--count is out of range: '0' does not fit in 1\.\.0xffffffff/],
    [["--freq", "0x100000000"], /--freq is out of range: '0x100000000' does not fit in 1\.\.0xffffffff/],
    [["--maxactive", "5000"], /--maxactive is out of range: '5000' does not fit in 1\.\.4096/],
    [["--log-level", "2.5"], /bad --log-level '2\.5'/],
    [["--log-level", "8"], /--log-level is out of range: '8' does not fit in 1\.\.7/],
    [["--duration", "-1"], /bad --duration '-1': give seconds/],
    [["--duration", "1e3"], /bad --duration '1e3'/],
    [["--kern-version", "999.999.999"], /--kern-version is out of range: major '999' of '999\.999\.999' does not fit in 0\.\.255/],
    [["--kern-version", "0x1ffffffff"], /--kern-version \(a LINUX_VERSION_CODE, u32\) is out of range: '0x1ffffffff' does not fit in 0\.\.0xffffffff/],
    [["--attach", "uprobe:/usr/bin/bash:0x10000000000000000"], /out of range: a file offset is 0\.\.9007199254740991/],
    [["--attach", "uprobe:/usr/bin/bash:main+0x10000000000000000"], /out of range: an offset from a symbol is 0\.\.9007199254740991/],
    [["--attach", "kprobe:do_sys_open+0x100000000"], /out of range: a kprobe offset \(u32\) is 0\.\.0xffffffff/],
  ];
  for (const [opts, message] of cases) {
    test(`load ${opts.join(" ")}: one line, exit 2`, async () => {
      const r = await runCli(["load", seed, "--type", "kprobe", ...opts]);
      expect(r.stderr).toMatch(message);
      oneLine(r.stderr);
      expect(r.code).toBe(2);
    });
  }
  test("a huge --duration is taken (the timer is chained), not refused or overflowed", async () => {
    // Refused for the nonexistent file, after the options were accepted.
    const r = await runCli(["load", `${dir}/nope`, "--type", "kprobe", "--duration", "3000000"]);
    expect(r.stderr).toBe(`bpfload: ${dir}/nope: no such file (ENOENT)\n`);
  });
  test.skipIf(!canUseKernel)("--kern-version 4.10 is sent as 4.10, not 4.1 (cac makes numeric-looking values numbers)", async () => {
    const r = await runCli(["load", seed, "--type", "kprobe", "--no-attach", "--kern-version", "4.10", "--json"]);
    const loaded = r.stdout.split("\n").filter(Boolean).map((l) => JSON.parse(l)).find((o) => o.type === "loaded");
    expect(loaded?.kernVersion).toBe(0x040a00);
    expect(r.code).toBe(0);
  });
});

describe("option values as typed", () => {
  test("-o 0123 and --output=0x10 name those files, not 123 and 16 (cac makes them numbers)", () => {
    const r = sh(`cd "$DIR" && "$BUN" "$MAIN" asm "$DIR/prog.s" -o 0123 && "$BUN" "$MAIN" asm "$DIR/prog.s" --output=0x10 && ls`);
    expect(r.code).toBe(0);
    expect(r.stdout.split("\n")).toContain("0123");
    expect(r.stdout.split("\n")).toContain("0x10");
    expect(r.stdout.split("\n")).not.toContain("123");
  });
});

describe("boolean flags anywhere", () => {
  test("load --no-attach FILE --type kprobe: the file is the file", async () => {
    const r = await runCli(["load", "--no-attach", `${dir}/nope`, "--type", "kprobe"]);
    expect(r.stderr).toBe(`bpfload: ${dir}/nope: no such file (ENOENT)\n`);
    expect(r.code).toBe(2);
  });
  test("load --load-only FILE and --verbose/--json before the file", async () => {
    for (const flags of [["--load-only"], ["--verbose"], ["--json", "--no-attach"]]) {
      const r = await runCli(["load", ...flags, `${dir}/nope`, "--type", "kprobe"]);
      expect(r.stderr + r.stdout).toContain(`${dir}/nope: no such file (ENOENT)`);
      expect(r.code).toBe(2);
    }
  });
  test("disasm --modern FILE --syntax kernel", async () => {
    const r = await runCli(["disasm", "--modern", seed, "--syntax", "kernel"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("0: (b7) r1 = 10");
  });
});

describe("error messages stay one line", () => {
  test("a newline or escape sequence in a path the user gave is escaped, not printed", async () => {
    const r = await runCli(["load", seed, "--type", "kprobe", "--attach", "uprobe:/nonexistent\np:evil/x /bin/true:0x1\x1b[2J:main", "--duration", "0"]);
    expect(r.code).toBe(2);
    oneLine(r.stderr);
    expect(r.stderr).toContain("\\n");
    expect(r.stderr).toContain("\\x1b");
    expect(r.stderr).not.toContain("\x1b");
  });
});

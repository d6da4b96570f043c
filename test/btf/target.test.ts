// Target BTF sources: raw BTF files (the VM rig's pahole-made files, as BTFHub ships them), an ELF
// with a .BTF section (objcopy-made), BTFHub .tar.xz archives (tar + xz made), the kernel's sysfs
// files with module BTF; and hostile target BTF, which must give one line, never a hang or a
// trace. Oracles: bpftool's dump of the same file (its last type id), and the raw bytes
// themselves. Reads files only (no root needed).
import { afterAll, afterEach, describe, expect, setDefaultTimeout, test } from "bun:test";
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { elfBtfSection, parseTargetBtf, rawTargetBtf, tarBtfMember, TargetBtfError, targetFormat } from "../../src/btf/target.ts";
import { BpfloadError, InputError, SystemError } from "../../src/errors.ts";
import { btfSource } from "../../src/kernel/btf/attach-target.ts";
import { btfFileOption, openBtfFile, openTargetBtf } from "../../src/kernel/btf/core-target.ts";
import { cliMessage } from "../../src/cli/flags.ts";

setDefaultTimeout(60_000); // xz and tar under a loaded machine

const VM = new URL("../../../shared/vm-kernels", import.meta.url).pathname;
const FILES = ["btf-4.9.229", "btf-4.19.72", "btf-5.4.286"].map((f) => `${VM}/${f}`);
const haveFiles = FILES.every((f) => existsSync(f));
if (!haveFiles) console.warn(`[skip] target BTF files: ${VM} is missing (the VM rig's kernels and their BTF)`);
const bpftool = Bun.which("bpftool");

/** bpftool's last type id of a raw BTF file: the number of types. */
function bpftoolTypeCount(file: string): number {
  const out = Bun.spawnSync([bpftool!, "btf", "dump", "file", file, "format", "raw"]).stdout.toString();
  const last = [...out.matchAll(/^\[(\d+)\] /gm)].pop();
  return Number(last![1]);
}

const tmp = mkdtempSync(`${tmpdir()}/bpfload-target-btf-`);
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A header with these section lengths and offsets (types at 0, strings after), then the bytes. */
function btfBlob(typeLen: number, strLen: number, body: Uint8Array = new Uint8Array(0), magic = 0xeb9f): Uint8Array {
  const out = new Uint8Array(24 + body.length);
  const v = new DataView(out.buffer);
  v.setUint16(0, magic, true);
  v.setUint8(2, 1);
  v.setUint32(4, 24, true);
  v.setUint32(8, 0, true);
  v.setUint32(12, typeLen, true);
  v.setUint32(16, typeLen, true);
  v.setUint32(20, strLen, true);
  out.set(body, 24);
  return out;
}

/** A CLI-shaped check: the error is a BpfloadError with one line of text. */
function oneLine(fn: () => unknown): BpfloadError {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(BpfloadError);
  expect((err as Error).message).not.toContain("\n");
  return err as BpfloadError;
}

describe.skipIf(!haveFiles)("target BTF files", () => {
  for (const file of FILES) {
    test.skipIf(!bpftool)(`${file.split("/").pop()}: as many types as bpftool dumps`, () => {
      const btf = openBtfFile(file);
      expect(btf.typeCount - 1).toBe(bpftoolTypeCount(file));
    });
  }

  test("an ELF file with a .BTF section (a vmlinux stand-in made by objcopy) gives the same BTF", () => {
    const obj = `${tmp}/empty.o`;
    const elf = `${tmp}/vmlinux-4.19`;
    writeFileSync(`${tmp}/empty.c`, "int x;\n");
    expect(Bun.spawnSync(["gcc", "-c", "-o", obj, `${tmp}/empty.c`]).exitCode).toBe(0);
    expect(Bun.spawnSync(["objcopy", "--add-section", `.BTF=${FILES[1]}`, obj, elf]).exitCode).toBe(0);
    const raw = new Uint8Array(readFileSync(FILES[1]!));
    expect(targetFormat(new Uint8Array(readFileSync(elf)))).toBe("elf");
    expect(elfBtfSection(new Uint8Array(readFileSync(elf)))).toEqual(raw);
    const btf = openBtfFile(elf);
    expect(btf.typeCount).toBe(parseTargetBtf(raw).typeCount);
    expect(btf.bytes).toEqual(raw);
  });

  test("an ELF file without .BTF: one line saying so", () => {
    const obj = `${tmp}/nobtf.o`;
    writeFileSync(`${tmp}/nobtf.c`, "int y;\n");
    expect(Bun.spawnSync(["gcc", "-c", "-o", obj, `${tmp}/nobtf.c`]).exitCode).toBe(0);
    const e = oneLine(() => openBtfFile(obj));
    expect(e).toBeInstanceOf(InputError);
    expect(e.message).toContain("without a .BTF section");
  });

  test.skipIf(!Bun.which("xz") || !Bun.which("tar"))("a BTFHub archive (KERNEL.btf.tar.xz of one KERNEL.btf) gives the same BTF", () => {
    copyFileSync(FILES[0]!, `${tmp}/4.9.229.btf`);
    const archive = `${tmp}/4.9.229.btf.tar.xz`;
    expect(Bun.spawnSync(["tar", "-cJf", archive, "-C", tmp, "4.9.229.btf"]).exitCode).toBe(0);
    const btf = openBtfFile(archive);
    expect(btf.bytes).toEqual(new Uint8Array(readFileSync(FILES[0]!)));
  });

  test.skipIf(!Bun.which("xz"))("a plain .btf.xz is unpacked too", () => {
    const packed = `${tmp}/5.4.btf.xz`;
    writeFileSync(packed, Bun.spawnSync(["xz", "-c", FILES[2]!]).stdout);
    expect(openBtfFile(packed).bytes).toEqual(new Uint8Array(readFileSync(FILES[2]!)));
  });

  test.skipIf(!Bun.which("xz") || !Bun.which("tar"))("without xz in PATH: one line naming xz and what to do (exit 1)", () => {
    const archive = `${tmp}/noxz.btf.tar.xz`;
    copyFileSync(FILES[0]!, `${tmp}/noxz.btf`);
    expect(Bun.spawnSync(["tar", "-cJf", archive, "-C", tmp, "noxz.btf"]).exitCode).toBe(0);
    const path = process.env.PATH;
    process.env.PATH = `${tmp}/no-such-dir`;
    try {
      const e = oneLine(() => openBtfFile(archive));
      expect(e.exitCode).toBe(1);
      expect(e.message).toContain("needs the xz program, which is not in PATH");
      expect(e.message).toContain("tar -xJf");
    } finally {
      process.env.PATH = path;
    }
  });

  test.skipIf(!Bun.which("xz"))("a corrupt .xz: xz's reason in one line (exit 2)", () => {
    const good = Bun.spawnSync(["xz", "-c", FILES[0]!]).stdout;
    const bad = new Uint8Array(good.subarray(0, 4096));
    bad[100] = bad[100]! ^ 0xff;
    writeFileSync(`${tmp}/bad.xz`, bad);
    const e = oneLine(() => openBtfFile(`${tmp}/bad.xz`));
    expect(e.exitCode).toBe(2);
    expect(e.message).toContain("xz could not unpack it");
  });

  test("a truncated BTFHub file at every 1/64th of its length: one line each, never a hang", () => {
    const raw = new Uint8Array(readFileSync(FILES[0]!));
    for (let i = 0; i < 64; i++) {
      const cut = Math.floor((raw.length * i) / 64);
      writeFileSync(`${tmp}/cut.btf`, raw.subarray(0, cut));
      const e = oneLine(() => openBtfFile(`${tmp}/cut.btf`));
      expect(e.exitCode).toBe(2);
      expect(e.message).toStartWith(`${tmp}/cut.btf: not usable as target BTF: `);
      expect(cliMessage(e)).toStartWith(`${tmp}/cut.btf: not usable as --btf: `);
    }
  });
});

describe("hostile target BTF (pure)", () => {
  test("wrong magic, too short, compressed formats: a TargetBtfError each", () => {
    const cases: [Uint8Array, string][] = [
      [new Uint8Array([1, 2]), "too short"],
      [new Uint8Array(100), "not BTF (no BTF magic"],
      [btfBlob(0, 0, new Uint8Array(0), 0x1234), "not BTF (no BTF magic"],
      [new Uint8Array([0x1f, 0x8b, 8, 0, 0, 0]), "gzip-compressed"],
      [new Uint8Array([0x28, 0xb5, 0x2f, 0xfd, 0, 0]), "zstd-compressed"],
    ];
    for (const [bytes, text] of cases) {
      expect(() => rawTargetBtf(bytes)).toThrow(TargetBtfError);
      expect(() => rawTargetBtf(bytes)).toThrow(text);
    }
  });

  test("huge counts in the header: refused at once, not allocated or walked", () => {
    const t0 = performance.now();
    expect(() => parseTargetBtf(btfBlob(0xfffffff0, 0))).toThrow("BTF type section extends past the end");
    expect(() => parseTargetBtf(btfBlob(0, 0xfffffff0))).toThrow("BTF string section extends past the end");
    // one INT record claiming vlen 0xffff of a struct: truncated, not 65535 members read
    const rec = new Uint8Array(16);
    new DataView(rec.buffer).setUint32(4, (4 << 24) | 0xffff, true);
    expect(() => parseTargetBtf(btfBlob(12, 1, rec))).toThrow("truncated BTF struct record");
    expect(performance.now() - t0).toBeLessThan(1000);
  });

  test("tar: a member larger than the archive, an archive of several files without one .btf", () => {
    const header = (name: string, size: number) => {
      const h = new Uint8Array(512);
      h.set(new TextEncoder().encode(name), 0);
      h.set(new TextEncoder().encode(size.toString(8).padStart(11, "0")), 124);
      h[156] = 0x30;
      h.set(new TextEncoder().encode("ustar"), 257);
      return h;
    };
    const big = new Uint8Array(1024);
    big.set(header("a.btf", 99999));
    expect(targetFormat(big)).toBe("tar");
    expect(() => tarBtfMember(big)).toThrow("truncated tar archive");
    const two = new Uint8Array(3072);
    two.set(header("a.txt", 1));
    two.set(header("b.txt", 1), 1024);
    expect(() => tarBtfMember(two)).toThrow("a tar archive of 2 files, none the one *.btf file (a.txt, b.txt)");
  });
});

describe("the running kernel's BTF and modules (sysfs laid out in a temporary directory)", () => {
  const dir = `${tmp}/sys-btf`;
  afterEach(() => {
    btfSource.dir = "/sys/kernel/btf";
  });

  test("no vmlinux: 'no BTF for this kernel: use --btf FILE' (exit 1)", () => {
    rmSync(dir, { recursive: true, force: true });
    Bun.spawnSync(["mkdir", "-p", dir]);
    btfSource.dir = dir;
    const e = oneLine(() => openTargetBtf());
    expect(e).toBeInstanceOf(SystemError);
    expect(e.message).toStartWith("no BTF for this kernel: use the btf option (a BTF file)");
    expect(cliMessage(e)).toStartWith("no BTF for this kernel: use --btf FILE");
  });

  test.skipIf(!haveFiles)("a 24-byte module BTF (header only) is a module without types; modules are read only when asked", () => {
    rmSync(dir, { recursive: true, force: true });
    Bun.spawnSync(["mkdir", "-p", dir]);
    copyFileSync(FILES[2]!, `${dir}/vmlinux`);
    writeFileSync(`${dir}/empty_mod`, btfBlob(0, 0));
    btfSource.dir = dir;
    const t = openTargetBtf();
    expect(t.fromKernel).toBe(true);
    expect(t.vmlinux.typeCount - 1).toBe(77247);
    writeFileSync(`${dir}/late_mod`, btfBlob(0, 0)); // appears before the first modules() call: read then
    const mods = t.modules();
    expect(mods.map((m) => m.name)).toEqual(["empty_mod", "late_mod"]);
    expect(mods[0]!.btf.firstId).toBe(t.vmlinux.typeCount);
    expect(mods[0]!.btf.typeCount).toBe(t.vmlinux.typeCount);
  });

  test.skipIf(!haveFiles)("a malformed 24-byte module BTF (bad magic, lengths past its end): one line naming it (exit 1)", () => {
    for (const [i, bad] of [btfBlob(0, 0, new Uint8Array(0), 0xbeef), btfBlob(12, 0), btfBlob(0, 100)].entries()) {
      const dir = `${tmp}/sys-btf-bad-${i}`; // one per case: the kernel's BTF is read once per directory
      Bun.spawnSync(["mkdir", "-p", dir]);
      copyFileSync(FILES[2]!, `${dir}/vmlinux`);
      writeFileSync(`${dir}/bad_mod`, bad);
      btfSource.dir = dir;
      const t = openTargetBtf();
      const e = oneLine(() => t.modules());
      expect(e.exitCode).toBe(1);
      expect(e.message).toStartWith(`${dir}/bad_mod: bad BTF: `);
      expect(e.message).toContain("give a BTF file for it with the btf option");
      expect(cliMessage(e)).toContain("give a BTF file for it with --btf FILE");
    }
  });

  test("a header-only --btf file has no types: refused (exit 2)", () => {
    writeFileSync(`${tmp}/empty.btf`, btfBlob(0, 0));
    const e = oneLine(() => openBtfFile(`${tmp}/empty.btf`));
    expect(e.exitCode).toBe(2);
    expect(e.message).toContain("BTF without a single type");
  });

  test("--btf wins over BPFLOAD_BTF; an empty BPFLOAD_BTF is unset", () => {
    expect(btfFileOption("a", { BPFLOAD_BTF: "b" })).toBe("a");
    expect(btfFileOption(undefined, { BPFLOAD_BTF: "b" })).toBe("b");
    expect(btfFileOption(undefined, { BPFLOAD_BTF: "" })).toBeUndefined();
  });

  test("a directory or a FIFO as --btf: refused at once", () => {
    const fifo = `${tmp}/fifo`;
    Bun.spawnSync(["mkfifo", fifo]);
    for (const p of [tmp, fifo]) {
      const e = oneLine(() => openBtfFile(p));
      expect(e.exitCode).toBe(2);
      expect(e.message).toContain("not a regular file");
    }
  });
});

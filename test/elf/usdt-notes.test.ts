// USDT notes and argument specs (src/elf/usdt-notes.ts), pure. Oracles: `readelf -n` and `readelf -lW`
// (binutils) for the notes and the file offsets of the committed sys/sdt.h targets, and gcc's
// offsetof on libbpf-dev's <bpf/usdt.bpf.h> and the uapi <asm/ptrace.h> for the spec layout and
// the pt_regs offsets.
import { describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import {
  encodeUsdtSpec,
  parseUsdtArg,
  parseUsdtArgs,
  readUsdtTarget,
  USDT_ARG_CONST,
  USDT_ARG_REG,
  USDT_ARG_REG_DEREF,
  UsdtError,
} from "../../src/elf/usdt-notes.ts";
import { REPO } from "../support.ts";

const DIR = `${REPO}/test/fixtures/usdt`;
const TARGETS = ["usdt_target", "usdt_target_O0", "usdt_target_nopie"];
const readelf = Bun.which("readelf");
const gcc = Bun.which("gcc");

function target(bytes: Uint8Array) {
  return readUsdtTarget((off, len) => bytes.subarray(off, off + len), bytes.length);
}

/** readelf -n's view of the notes: provider, name, location, base, semaphore, arguments. */
function readelfNotes(path: string) {
  const text = Bun.spawnSync([readelf!, "-n", path]).stdout.toString();
  const out = [];
  const re = /Provider: (\S+)\s+Name: (\S+)\s+Location: (0x[0-9a-f]+), Base: (0x[0-9a-f]+), Semaphore: (0x[0-9a-f]+)\s+Arguments: ?([^\n]*)/g;
  for (const m of text.matchAll(re)) out.push({ provider: m[1]!, name: m[2]!, pc: BigInt(m[3]!), base: BigInt(m[4]!), semaphore: BigInt(m[5]!), args: m[6]!.trim() });
  return out;
}

/** An address mapped to its file offset through readelf -lW's LOAD lines. */
function readelfOffset(path: string, addr: bigint): number | undefined {
  const text = Bun.spawnSync([readelf!, "-lW", path]).stdout.toString();
  for (const l of text.split("\n").filter((x) => x.trim().startsWith("LOAD"))) {
    const [, off, vaddr, , , memsz] = l.trim().split(/\s+/).map((x) => (x.startsWith("0x") ? BigInt(x) : 0n));
    if (addr >= vaddr! && addr < vaddr! + memsz!) return Number(addr - vaddr! + off!);
  }
  return undefined;
}

describe.skipIf(!readelf)("USDT notes against readelf", () => {
  for (const name of TARGETS) {
    test(`${name}: every note, and the file offsets of its sites and semaphores`, () => {
      const path = `${DIR}/${name}`;
      const ours = target(new Uint8Array(readFileSync(path)));
      const theirs = readelfNotes(path);
      expect(theirs.length).toBe(3);
      expect(ours.sites.map((s) => ({ provider: s.provider, name: s.name, pc: s.pc, semaphore: s.semaphore, args: s.args }))).toEqual(
        theirs.map((t) => ({ provider: t.provider, name: t.name, pc: t.pc, semaphore: t.semaphore, args: t.args })),
      );
      for (const s of ours.sites) {
        expect(s.fileOffset).toBe(readelfOffset(path, s.pc)!);
        expect(s.semaphoreOffset).toBe(s.semaphore ? readelfOffset(path, s.semaphore)! : 0);
      }
      expect(ours.machine).toBe("x86_64");
      expect(ours.elfType).toBe(name === "usdt_target_nopie" ? 2 : 3);
    });
  }

  test("a prelinked file: the notes' addresses are moved by .stapsdt.base's displacement", () => {
    const bytes = new Uint8Array(readFileSync(`${DIR}/usdt_target`));
    const before = target(bytes).sites;
    // As prelink leaves it: the sections moved by D, the notes still carry the old pc and base.
    const moved = bytes.slice();
    const dv = new DataView(moved.buffer);
    const D = 0x1000n;
    let found = 0;
    for (let p = 0; p + 8 <= moved.length; p += 4) {
      // each note's desc: pc, base, semaphore right after "stapsdt\0"
      if (new TextDecoder().decode(moved.subarray(p, p + 8)) !== "stapsdt\0") continue;
      dv.setBigUint64(p + 8, dv.getBigUint64(p + 8, true) - D, true);
      dv.setBigUint64(p + 16, dv.getBigUint64(p + 16, true) - D, true);
      found++;
    }
    expect(found).toBe(3);
    expect(target(moved).sites.map((s) => [s.pc, s.fileOffset])).toEqual(before.map((s) => [s.pc, s.fileOffset]));
  });
});

describe("USDT notes of hostile or plain files", () => {
  test("a file without notes has no sites; not ELF and truncated notes are UsdtErrors", () => {
    expect(target(new Uint8Array(readFileSync("/bin/true"))).sites).toEqual([]);
    expect(() => target(new Uint8Array(100))).toThrow(UsdtError);
    const bytes = new Uint8Array(readFileSync(`${DIR}/usdt_target`));
    const bad = bytes.slice();
    for (let p = 0; p + 8 <= bad.length; p += 4) {
      if (new TextDecoder().decode(bad.subarray(p, p + 8)) !== "stapsdt\0") continue;
      new DataView(bad.buffer).setUint32(p - 8, 0x7fffffff, true); // descsz of the first note
      break;
    }
    expect(() => target(bad)).toThrow(/runs past its section/);
  });
});

describe("USDT argument specs", () => {
  test("x86_64 forms: register, memory at register + offset, constants; size and sign", () => {
    expect(parseUsdtArg("-4@%eax", "x86_64")).toEqual({ type: USDT_ARG_REG, valOff: 0n, regOff: 80, signed: true, bitshift: 32 });
    expect(parseUsdtArg("8@-8(%rbp)", "x86_64")).toEqual({ type: USDT_ARG_REG_DEREF, valOff: 0xfffffffffffffff8n, regOff: 32, signed: false, bitshift: 0 });
    expect(parseUsdtArg("4@$5", "x86_64")).toEqual({ type: USDT_ARG_CONST, valOff: 5n, regOff: 0, signed: false, bitshift: 32 });
    expect(parseUsdtArg("1@$-56", "x86_64")).toEqual({ type: USDT_ARG_CONST, valOff: 0xffffffffffffffc8n, regOff: 0, signed: false, bitshift: 56 });
    expect(parseUsdtArg("-2@(%rsp)", "x86_64")).toEqual({ type: USDT_ARG_REG_DEREF, valOff: 0n, regOff: 152, signed: true, bitshift: 48 });
    expect(parseUsdtArg("8@$0x10", "x86_64").valOff).toBe(16n);
    expect(parseUsdtArg("8@%r10b", "x86_64").regOff).toBe(56);
  });

  test("arm64 forms: x/w registers, [reg], [reg, off], plain constants", () => {
    expect(parseUsdtArg("8@x0", "arm64")).toEqual({ type: USDT_ARG_REG, valOff: 0n, regOff: 0, signed: false, bitshift: 0 });
    expect(parseUsdtArg("-4@w30", "arm64")).toEqual({ type: USDT_ARG_REG, valOff: 0n, regOff: 240, signed: true, bitshift: 32 });
    expect(parseUsdtArg("4@[sp, 16]", "arm64")).toEqual({ type: USDT_ARG_REG_DEREF, valOff: 16n, regOff: 248, signed: false, bitshift: 32 });
    expect(parseUsdtArg("-8@[x29, -8]", "arm64")).toEqual({ type: USDT_ARG_REG_DEREF, valOff: 0xfffffffffffffff8n, regOff: 232, signed: true, bitshift: 0 });
    expect(parseUsdtArg("8@[x1]", "arm64")).toEqual({ type: USDT_ARG_REG_DEREF, valOff: 0n, regOff: 8, signed: false, bitshift: 0 });
    expect(parseUsdtArg("-4@-3", "arm64")).toEqual({ type: USDT_ARG_CONST, valOff: 0xfffffffffffffffdn, regOff: 0, signed: true, bitshift: 32 });
    // a space inside [sp, 16] does not split the argument list
    expect(parseUsdtArgs("8@x0 4@[sp, 16] -4@w1", "arm64").map((a) => a.regOff)).toEqual([0, 248, 8]);
  });

  test("what usdt.bpf.h cannot read is refused with the argument named", () => {
    expect(() => parseUsdtArg("8@8(%rax,%rbx,4)", "x86_64")).toThrow(/8@8\(%rax,%rbx,4\).*not one usdt.bpf.h can read/);
    expect(() => parseUsdtArg("8@foo(%rip)", "x86_64")).toThrow(UsdtError);
    expect(() => parseUsdtArg("3@%eax", "x86_64")).toThrow(/SIZE 1, 2, 4 or 8/);
    expect(() => parseUsdtArg("8@%xmm0", "x86_64")).toThrow(/unknown x86_64 register %xmm0/);
    expect(() => parseUsdtArg("8@x31", "arm64")).toThrow(/unknown arm64 register x31/);
    expect(() => parseUsdtArgs(Array(13).fill("8@%rax").join(" "), "x86_64")).toThrow(/at most 12/);
    expect(parseUsdtArgs("", "x86_64")).toEqual([]);
  });

  test.skipIf(!gcc || !existsSync("/usr/include/bpf/usdt.bpf.h"))("the spec layout and the pt_regs offsets agree with usdt.bpf.h and asm/ptrace.h (gcc offsetof)", () => {
    const regs = ["r15", "r14", "r13", "r12", "rbp", "rbx", "r11", "r10", "r9", "r8", "rax", "rcx", "rdx", "rsi", "rdi", "rip", "rsp"];
    const dir = mkdtempSync(`${tmpdir()}/bpfload-usdt-layout-`);
    try {
      writeFileSync(
        `${dir}/l.c`,
        `#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <linux/bpf.h>
#include <linux/ptrace.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/usdt.bpf.h>
const _Bool LINUX_HAS_BPF_COOKIE = 1;
int main(void) {
  struct __bpf_usdt_spec s = {0};
  s.args[1].val_off = 0x1122334455667788ULL; s.args[1].arg_type = BPF_USDT_ARG_REG_DEREF; s.args[1].reg_off = -24;
  s.args[1].arg_signed = true; s.args[1].arg_bitshift = 56; s.usdt_cookie = 0xabcdef; s.arg_cnt = 2;
  s.args[0].val_off = 7; s.args[0].arg_type = BPF_USDT_ARG_CONST; s.args[0].arg_bitshift = 32;
  printf("%zu\\n", sizeof s);
  for (size_t i = 0; i < sizeof s; i++) printf("%02x", ((unsigned char *)&s)[i]);
  printf("\\n");
  ${regs.map((r) => `printf("${r} %zu\\n", offsetof(struct pt_regs, ${r}));`).join("\n  ")}
  return 0;
}
`,
      );
      const cc = Bun.spawnSync([gcc!, "-D__TARGET_ARCH_x86", "-w", "-o", `${dir}/l`, `${dir}/l.c`]);
      expect(cc.stderr.toString()).toBe("");
      const [size, hex, ...offs] = Bun.spawnSync([`${dir}/l`]).stdout.toString().trim().split("\n");
      expect(Number(size)).toBe(208);
      const ours = encodeUsdtSpec(
        [
          { type: USDT_ARG_CONST, valOff: 7n, regOff: 0, signed: false, bitshift: 32 },
          { type: USDT_ARG_REG_DEREF, valOff: 0x1122334455667788n, regOff: -24, signed: true, bitshift: 56 },
        ],
        0xabcdefn,
      );
      expect(Buffer.from(ours).toString("hex")).toBe(hex!);
      for (const line of offs) {
        const [reg, off] = line.split(" ");
        expect([reg, parseUsdtArg(`8@%${reg}`, "x86_64").regOff]).toEqual([reg, Number(off)]);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

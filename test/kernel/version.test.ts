import { describe, expect, test } from "bun:test";
import { detectKernelVersion, parseDebianUnameV, parseKernVersionOption, parseRelease, parseVdsoNote, parseVersionSignature } from "../../src/kernel/features/version.ts";
import { formatVersionCode, kernelVersionCode } from "../../src/uapi.ts";
import { InvalidArgumentError } from "../../src/errors.ts";
import { cliText } from "../cli-text.ts";

describe("kern_version from recorded strings", () => {
  test("Debian 9: uname -v holds the real sublevel, uname -r does not", () => {
    expect(parseDebianUnameV("#1 SMP Debian 4.9.228-1 (2020-07-05)")).toBe(kernelVersionCode(4, 9, 228));
    expect(parseRelease("4.9.0-13-amd64")).toBe(kernelVersionCode(4, 9, 0));
    expect(parseDebianUnameV("#1 SMP PREEMPT_DYNAMIC Debian 6.1.158-1 (2025-11-09)")).toBe(kernelVersionCode(6, 1, 158));
  });
  test("Ubuntu: /proc/version_signature's last field", () => {
    expect(parseVersionSignature("Ubuntu 5.4.0-12.15-generic 5.4.8\n")).toBe(kernelVersionCode(5, 4, 8));
    expect(parseVersionSignature("Ubuntu 4.15.0-20.21-generic 4.15.17")).toBe(0x040f11);
  });
  test("plain uname -r", () => {
    expect(parseRelease("6.18.44-fc-v669")).toBe(kernelVersionCode(6, 18, 44));
    expect(parseRelease("5.10")).toBe(kernelVersionCode(5, 10, 0));
    expect(parseRelease("garbage")).toBeUndefined();
  });
  test("sublevel above 255 is capped as the kernel caps it", () => {
    expect(parseDebianUnameV("#1 SMP Debian 4.9.320-2 (2023-06-26)")).toBe(kernelVersionCode(4, 9, 255));
    expect(kernelVersionCode(4, 9, 320)).toBe(0x0409ff);
    expect(formatVersionCode(0x0409ff)).toBe("4.9.255");
  });
  test("--kern-version accepts dotted, decimal and hex", () => {
    expect(parseKernVersionOption("4.9.228")).toBe(0x0409e4);
    expect(parseKernVersionOption("264676")).toBe(264676);
    expect(parseKernVersionOption("0x409e4")).toBe(0x409e4);
    expect(parseKernVersionOption("four")).toBeUndefined();
  });
  test("--kern-version out of range is refused with the range, never changed and sent", () => {
    expect(parseKernVersionOption("255.255.255")).toBe(0xffffff);
    expect(parseKernVersionOption("0xffffffff")).toBe(0xffffffff);
    expect(() => parseKernVersionOption("999.999.999")).toThrow("kernVersion is out of range: major '999' of '999.999.999' does not fit in 0..255");
    expect(cliText(() => parseKernVersionOption("999.999.999"))).toStartWith("--kern-version is out of range: major '999' of '999.999.999' does not fit in 0..255");
    expect(cliText(() => parseKernVersionOption("0x1ffffffff"))).toBe("--kern-version (a LINUX_VERSION_CODE, u32) is out of range: '0x1ffffffff' does not fit in 0..0xffffffff");
    expect(() => parseKernVersionOption("4.9.256")).toThrow(/patch '256' .* 0\.\.255/);
    expect(() => parseKernVersionOption("4.256")).toThrow(/minor '256'/);
    expect(() => parseKernVersionOption("0x1ffffffff")).toThrow("does not fit in 0..0xffffffff");
    expect(() => parseKernVersionOption("99999999999999999999")).toThrow(InvalidArgumentError);
    expect(parseKernVersionOption("4.9.x")).toBeUndefined();
  });
  test("the seed's hard-coded 264656 is 4.9.208", () => {
    expect(formatVersionCode(264656)).toBe("4.9.208");
  });
});

/** A minimal vDSO-like ELF image: one SHT_NOTE section holding notes. */
function imageWithNotes(notes: { name: string; type: number; desc: number[] }[]): Uint8Array {
  const body: number[] = [];
  for (const n of notes) {
    const name = [...new TextEncoder().encode(n.name), 0];
    const pad = (a: number[]) => a.concat(new Array((4 - (a.length % 4)) % 4).fill(0));
    const u32 = (v: number) => [v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff, (v >>> 24) & 0xff];
    body.push(...u32(name.length), ...u32(n.desc.length), ...u32(n.type), ...pad(name), ...pad(n.desc));
  }
  const img = new Uint8Array(64 + body.length + 128);
  const dv = new DataView(img.buffer);
  img.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]);
  const shoff = 64 + body.length;
  dv.setBigUint64(0x28, BigInt(shoff), true);
  dv.setUint16(0x3a, 64, true);
  dv.setUint16(0x3c, 2, true);
  img.set(body, 64);
  const sh = shoff + 64; // section 1; section 0 stays null
  dv.setUint32(sh + 4, 7, true);
  dv.setBigUint64(sh + 0x18, 64n, true);
  dv.setBigUint64(sh + 0x20, BigInt(body.length), true);
  return img;
}

describe("vDSO note", () => {
  test("finds the Linux note of type 0 after other notes", () => {
    const img = imageWithNotes([
      { name: "GNU", type: 3, desc: [1, 2, 3, 4, 5, 6, 7, 8] },
      { name: "Linux", type: 0, desc: [0xe4, 0x09, 0x04, 0x00] },
    ]);
    expect(parseVdsoNote(img)).toBe(0x0409e4);
  });
  test("no note, truncated or garbage images give undefined, never throw", () => {
    expect(parseVdsoNote(imageWithNotes([{ name: "GNU", type: 0, desc: [1, 2, 3, 4] }]))).toBeUndefined();
    const img = imageWithNotes([{ name: "Linux", type: 0, desc: [1, 2, 3, 4] }]);
    for (let n = 0; n < img.length; n += 7) expect(parseVdsoNote(img.subarray(0, n))).toBeUndefined();
    expect(parseVdsoNote(new Uint8Array(100).fill(0xff))).toBeUndefined();
  });
  test("on this machine the vDSO answers, and agrees with uname -r's major.minor", () => {
    const v = detectKernelVersion();
    const release = parseRelease(require("node:fs").readFileSync("/proc/sys/kernel/osrelease", "utf8"))!;
    expect(v.code >>> 8).toBe(release >>> 8);
    expect(["vdso", "version_signature", "uname -v", "uname -r"]).toContain(v.source);
  });
});

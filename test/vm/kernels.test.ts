// The rig's kernel-image lookup (lib/kernels.ts): pure, against a temporary directory and hand-made headers.
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { bzImageVersionString, debianKernelVersion, describeKernelImage, findKernelImage, kernelsDir } from "./lib/kernels.ts";

const dir = mkdtempSync(join(tmpdir(), "bpfload-vm-kernels-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A minimal bzImage: boot protocol header "HdrS" at 0x202, kernel_version pointer (minus 0x200) at 0x20e. */
function fakeBzImage(version: string): Uint8Array {
  const img = new Uint8Array(0x400);
  img.set(new TextEncoder().encode("HdrS"), 0x202);
  const at = 0x300;
  img[0x20e] = (at - 0x200) & 0xff;
  img[0x20f] = (at - 0x200) >> 8;
  img.set(new TextEncoder().encode(`${version}\0`), at);
  return img;
}

for (const v of ["4.9.229", "4.19.72", "5.4.286"]) writeFileSync(join(dir, `bzImage-${v}-x86_64`), fakeBzImage(`${v} (root@build) #1 SMP`));
writeFileSync(join(dir, "bzImage-4.9.82-x86_64"), fakeBzImage("4.9.82 (root@build) #1 SMP"));

describe("finding a kernel image by version", () => {
  test("4.9 is the newest 4.9.x, never 4.19", () => {
    expect(findKernelImage(dir, "4.9", "bzImage-", "-x86_64")).toBe(join(dir, "bzImage-4.9.229-x86_64"));
    expect(findKernelImage(dir, "4.19", "bzImage-", "-x86_64")).toBe(join(dir, "bzImage-4.19.72-x86_64"));
    expect(findKernelImage(dir, "4.9.82", "bzImage-", "-x86_64")).toBe(join(dir, "bzImage-4.9.82-x86_64"));
  });
  test("a missing version or directory finds nothing (the rig then SKIPs)", () => {
    expect(findKernelImage(dir, "4.14", "bzImage-", "-x86_64")).toBeUndefined();
    expect(findKernelImage(dir, "4.9", "Image-", "-arm64")).toBeUndefined();
    expect(findKernelImage(join(dir, "nope"), "4.9", "bzImage-", "-x86_64")).toBeUndefined();
  });
  test("the directory: the env override, else shared/vm-kernels beside the repo", () => {
    expect(kernelsDir("/src/bpfload", { BPFLOAD_VM_KERNELS: "/k" })).toBe("/k");
    expect(kernelsDir("/src/bpfload", {})).toBe("/src/shared/vm-kernels");
  });
});

describe("which kernel an image is", () => {
  test("the bzImage header's version string", () => {
    expect(bzImageVersionString(fakeBzImage("6.1.0-57-amd64 (debian-kernel@lists.debian.org) #1"))).toBe("6.1.0-57-amd64 (debian-kernel@lists.debian.org) #1");
    expect(bzImageVersionString(new Uint8Array(0x400))).toBeUndefined();
  });
  test("the header wins over the file name", () => {
    const p = join(dir, "renamed");
    writeFileSync(p, fakeBzImage("4.19.72 (root@build) #1 SMP"));
    expect(describeKernelImage(p)).toEqual({ path: p, version: "4.19.72", release: "4.19.72" });
  });
  test("Debian package versions", () => {
    expect(debianKernelVersion("6.1.192-3")).toBe("6.1.192");
    expect(debianKernelVersion("5.10.237-1")).toBe("5.10.237");
  });
  const shared = resolve(import.meta.dir, "../../../shared/vm-kernels/bzImage-4.9.229-x86_64");
  test.skipIf(!existsSync(shared))("the real 4.9 image says it is 4.9.229", () => {
    expect(describeKernelImage(shared)?.version).toBe("4.9.229");
  });
});

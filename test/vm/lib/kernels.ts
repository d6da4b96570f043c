// Bare kernel images for the rig (shared/vm-kernels: bzImage-4.9.229-x86_64, ...): finding one by version,
// and the version a bzImage says it is (so the guest can be told what it must be running).
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";

/** Where `--kernel 4.9` is looked up: $BPFLOAD_VM_KERNELS, else shared/vm-kernels beside the repo. */
export function kernelsDir(repoRoot: string, env: Record<string, string | undefined> = process.env): string {
  return env.BPFLOAD_VM_KERNELS || resolve(repoRoot, "../shared/vm-kernels");
}

export interface KernelImage {
  path: string;
  /** "4.9.229" */
  version: string;
  /** uname -r the guest must report ("4.9.229", "6.1.0-57-amd64"). */
  release: string;
}

/** "4.9.229" is newer than "4.9.82": numeric comparison per component. */
function cmpVersion(a: string, b: string): number {
  const pa = a.split(".").map(Number), pb = b.split(".").map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/**
 * The image for `name` in `dir`: `4.9` matches bzImage-4.9.229-x86_64 (not 4.19), `4.9.229` only that one;
 * the newest when several match. `prefix`/`suffix` name the architecture's files ("bzImage-", "-x86_64").
 */
export function findKernelImage(dir: string, name: string, prefix: string, suffix: string): string | undefined {
  if (!existsSync(dir)) return undefined;
  const found = readdirSync(dir)
    .filter((f) => f.startsWith(prefix) && f.endsWith(suffix))
    .map((f) => ({ f, v: f.slice(prefix.length, f.length - suffix.length) }))
    .filter(({ v }) => v === name || v.startsWith(`${name}.`))
    .sort((a, b) => cmpVersion(a.v, b.v));
  const last = found.pop();
  return last === undefined ? undefined : join(dir, last.f);
}

/**
 * The kernel_version string of an x86 bzImage (boot protocol 2.00+: "HdrS" at 0x202, the string's offset
 * minus 0x200 at 0x20e), e.g. "4.9.229 (root@build) #1 SMP ...". Undefined for anything else.
 */
export function bzImageVersionString(img: Uint8Array): string | undefined {
  if (img.length < 0x210 || new TextDecoder().decode(img.subarray(0x202, 0x206)) !== "HdrS") return undefined;
  const off = 0x200 + (img[0x20e] ?? 0) + ((img[0x20f] ?? 0) << 8);
  if (off <= 0x200 || off >= img.length) return undefined;
  const end = img.indexOf(0, off);
  return new TextDecoder().decode(img.subarray(off, end < 0 ? Math.min(img.length, off + 256) : end));
}

/** Version and release of a kernel image: from its bzImage header, else from the file name. */
export function describeKernelImage(path: string): KernelImage | undefined {
  const header = bzImageVersionString(readFileSync(path).subarray(0, 64 * 1024));
  const release = header?.split(" ")[0] ?? /(\d+\.\d+(?:\.\d+)?[^/]*?)(?:-(?:x86_64|arm64|aarch64))?$/.exec(path)?.[1];
  const version = /^(\d+\.\d+(?:\.\d+)?)/.exec(release ?? "")?.[1];
  return release === undefined || version === undefined ? undefined : { path, version, release };
}

/** "6.1.192" from a Debian kernel package version like "6.1.192-3" (or "5.10.237-1~deb11u1"). */
export function debianKernelVersion(debVersion: string): string | undefined {
  return /^(?:\d+:)?(\d+\.\d+(?:\.\d+)?)/.exec(debVersion)?.[1];
}

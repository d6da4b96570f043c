// LINUX_VERSION_CODE of the running kernel, which kernels before 5.0 demand in a kprobe program's
// kern_version. `uname -r` lies on distributions (Debian 9 says 4.9.0-13 for 4.9.228), so the
// sources are tried from the most to the least reliable, and the answer says which one it came from.
import { InvalidArgumentError, opt, optionText, quote } from "../../errors.ts";
import { formatRange, parseBigInt, U32_MAX } from "../../numbers.ts";
import { readAt, readFile, tryReadText } from "../../sys/files.ts";
import { kernelVersionCode } from "../../uapi.ts";

/** Where kern_version came from: detected, or the caller's own name for the value it gave (the CLI: its flag). */
export type VersionSource = "vdso" | "version_signature" | "uname -v" | "uname -r" | (string & {});

export interface KernelVersion {
  code: number;
  source: VersionSource;
}

// ---- pure parsers (tested on recorded strings) ----

function code3(m: RegExpMatchArray | null): number | undefined {
  if (!m) return undefined;
  return kernelVersionCode(Number(m[1]), Number(m[2]), Number(m[3] ?? 0));
}

/** Ubuntu's /proc/version_signature: "Ubuntu 5.4.0-12.15-generic 5.4.8" → the last field. */
export function parseVersionSignature(text: string): number | undefined {
  return code3(text.trim().match(/\s(\d+)\.(\d+)(?:\.(\d+))?$/));
}

/** Debian's `uname -v`: "#1 SMP Debian 4.9.228-1 (2020-07-05)" → 4.9.228. */
export function parseDebianUnameV(text: string): number | undefined {
  return code3(text.match(/Debian (\d+)\.(\d+)(?:\.(\d+))?/));
}

/** `uname -r`: "6.1.0-18-amd64" → 6.1.0, "4.9.0-13-amd64" → 4.9.0 (wrong on Debian, hence last). */
export function parseRelease(text: string): number | undefined {
  return code3(text.trim().match(/^(\d+)\.(\d+)(?:\.(\d+))?/));
}

/**
 * A kern_version as a user writes it: a number (decimal or 0x hex, a u32: kern_version's size) or
 * "MAJOR.MINOR[.PATCH]" with each part 0..255 (KERNEL_VERSION() packs them in a byte each).
 * Undefined when it is neither form; an InvalidArgumentError (option kernVersion) naming the range
 * when a part does not fit — never silently changed.
 */
export function parseKernVersionOption(text: string): number | undefined {
  const t = text.trim();
  const what = optionText`${opt("kernVersion")} (a LINUX_VERSION_CODE, u32)`;
  const range = { min: 0n, max: U32_MAX };
  let code: bigint | undefined;
  try {
    code = parseBigInt(t, range, String(what));
  } catch (e) {
    // numbers.ts says it with the plain name: say it again with the option marked, for the CLI
    throw new InvalidArgumentError("kernVersion", optionText`${what} is out of range: ${quote(t)} does not fit in ${formatRange(range)}`, { cause: e });
  }
  if (code !== undefined) return Number(code);
  const m = t.match(/^(\d+)\.(\d+)(?:\.(\d+))?$/);
  if (!m) return undefined;
  const names = ["major", "minor", "patch"];
  m.slice(1).forEach((part, i) => {
    if (part !== undefined && BigInt(part) > 255n) {
      throw new InvalidArgumentError("kernVersion", optionText`${opt("kernVersion")} is out of range: ${names[i]} ${quote(part, 20)} of ${quote(t)} does not fit in 0..255 (MAJOR.MINOR.PATCH, each 0..255)`);
    }
  });
  return code3(m);
}

/**
 * Finds the "Linux" ELF note of type 0 in a vDSO image: its 4-byte payload is LINUX_VERSION_CODE.
 * Scans every SHT_NOTE section; every read is bounds-checked (the image comes from memory).
 */
export function parseVdsoNote(img: Uint8Array): number | undefined {
  const dv = new DataView(img.buffer, img.byteOffset, img.byteLength);
  const ok = (off: number, len: number) => off >= 0 && len >= 0 && off + len <= img.length;
  if (!ok(0, 64) || dv.getUint32(0) !== 0x7f454c46 || img[4] !== 2 || img[5] !== 1) return undefined;
  const shoff = Number(dv.getBigUint64(0x28, true));
  const shentsize = dv.getUint16(0x3a, true);
  const shnum = dv.getUint16(0x3c, true);
  if (shentsize < 64) return undefined;
  for (let i = 0; i < shnum; i++) {
    const sh = shoff + i * shentsize;
    if (!ok(sh, 64)) return undefined;
    if (dv.getUint32(sh + 4, true) !== 7 /* SHT_NOTE */) continue;
    const start = Number(dv.getBigUint64(sh + 0x18, true));
    const size = Number(dv.getBigUint64(sh + 0x20, true));
    if (!ok(start, size)) continue;
    for (let p = start; p + 12 <= start + size; ) {
      const namesz = dv.getUint32(p, true);
      const descsz = dv.getUint32(p + 4, true);
      const type = dv.getUint32(p + 8, true);
      const name = p + 12;
      const desc = name + ((namesz + 3) & ~3);
      if (!ok(desc, descsz)) break;
      const isLinux = namesz === 6 && new TextDecoder().decode(img.subarray(name, name + 5)) === "Linux";
      if (isLinux && type === 0 && descsz >= 4) return dv.getUint32(desc, true);
      p = desc + ((descsz + 3) & ~3);
    }
  }
  return undefined;
}

// ---- reading the running system ----

const AT_SYSINFO_EHDR = 33n;

function readVdso(): Uint8Array | undefined {
  const auxv = readFile("/proc/self/auxv");
  const dv = new DataView(auxv.buffer, auxv.byteOffset, auxv.byteLength);
  let base: bigint | undefined;
  for (let p = 0; p + 16 <= auxv.length; p += 16) {
    if (dv.getBigUint64(p, true) === AT_SYSINFO_EHDR) base = dv.getBigUint64(p + 8, true);
  }
  if (!base) return undefined;
  // The vDSO is a few pages; read 2 pages, then more if the section table lies further.
  const img = readAt("/proc/self/mem", Number(base), 8192);
  if (img.length < 64) return undefined;
  const dv2 = new DataView(img.buffer, img.byteOffset, img.byteLength);
  const end = Number(dv2.getBigUint64(0x28, true)) + dv2.getUint16(0x3c, true) * dv2.getUint16(0x3a, true);
  if (end > img.length && end < 1 << 20) return readAt("/proc/self/mem", Number(base), end);
  return img;
}

/** Detects LINUX_VERSION_CODE: vDSO note, then version_signature, then Debian's uname -v, then uname -r. */
export function detectKernelVersion(): KernelVersion {
  try {
    const img = readVdso();
    const code = img && parseVdsoNote(img);
    if (code) return { code, source: "vdso" };
  } catch {
    // auxv or /proc/self/mem unreadable (hardened kernels, no vDSO): fall through.
  }
  const sig = tryReadText("/proc/version_signature");
  const fromSig = sig && parseVersionSignature(sig);
  if (fromSig) return { code: fromSig, source: "version_signature" };
  const unameV = tryReadText("/proc/sys/kernel/version");
  const fromDebian = unameV && parseDebianUnameV(unameV);
  if (fromDebian) return { code: fromDebian, source: "uname -v" };
  const fromRelease = parseRelease(tryReadText("/proc/sys/kernel/osrelease") ?? "");
  return { code: fromRelease ?? 0, source: "uname -r" };
}

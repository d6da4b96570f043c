// The values of an object's __kconfig externs on the running kernel, as libbpf finds them: the
// config file (/boot/config-$(uname -r), else /proc/config.gz, gunzipped), LINUX_KERNEL_VERSION
// from bpfload's version detection, LINUX_HAS_SYSCALL_WRAPPER and LINUX_HAS_BPF_COOKIE by asking
// the kernel. The parsing and the layout are pure (elf/externs.ts).
import { encode, insn } from "../../asm/insn.ts";
import { kconfigData, parseKconfig, type ExternSpec, type KconfigSources } from "../../elf/externs.ts";
import { bpfProgLoad } from "../../sys/bpf.ts";
import { exists, readFile, tryReadText } from "../../sys/files.ts";
import { close } from "../../sys/fd.ts";
import { kallsyms } from "./ksyms.ts";
import { kernelVersion } from "../program.ts";

/** Where the config is looked for, in libbpf's order (tests replace them). */
export const kconfigSource = {
  paths: (): string[] => [`/boot/config-${(tryReadText("/proc/sys/kernel/osrelease") ?? "").trim()}`, "/proc/config.gz"],
};

let cached: { config?: Map<string, string>; problem?: string } | undefined;

/** The running kernel's CONFIG_ lines (read once per process), or why there are none. */
export function kernelConfig(): { config?: Map<string, string>; problem?: string } {
  if (cached) return cached;
  const paths = kconfigSource.paths();
  for (const path of paths) {
    if (!exists(path)) continue;
    try {
      let bytes = readFile(path, 64 * 1024 * 1024);
      if (path.endsWith(".gz")) bytes = Bun.gunzipSync(bytes as Uint8Array<ArrayBuffer>); // Bun's own: importing node:zlib costs ~10 ms of every start
      return (cached = { config: parseKconfig(new TextDecoder().decode(bytes)) });
    } catch (e) {
      return (cached = { problem: `${path} could not be read (${e instanceof Error ? e.message : String(e)})` });
    }
  }
  return (cached = { problem: `none of ${paths.join(", ")} exists (a kernel without CONFIG_IKCONFIG_PROC and no config in /boot)` });
}

/** Forgets the cached config (tests). */
export function forgetKernelConfig(): void {
  cached = undefined;
}

const BPF_PROG_TYPE_TRACEPOINT = 5;
const BPF_FUNC_GET_ATTACH_COOKIE = 174;

/** libbpf's FEAT_BPF_COOKIE: does a tracepoint program that calls bpf_get_attach_cookie load (5.15+)? */
function hasBpfCookie(): boolean {
  const r = bpfProgLoad({ progType: BPF_PROG_TYPE_TRACEPOINT, insns: encode([insn(0x85, { imm: BPF_FUNC_GET_ATTACH_COOKIE }), insn(0x95)]), license: "GPL", kernVersion: kernelVersion().code, logLevel: 0, logSize: 0 });
  if (r.ret >= 0) close(r.ret);
  return r.ret >= 0;
}

/** Syscalls entered through the arch wrappers (__x64_sys_*, __arm64_sys_*: x86_64 4.17+, arm64 4.19+). */
function hasSyscallWrapper(): boolean {
  const prefix = process.arch === "arm64" ? "__arm64_sys_" : "__x64_sys_";
  return kallsyms().has(`${prefix}bpf`);
}

/** The .kconfig map's bytes for these externs (throws ExternError naming a strong extern the kernel lacks). */
export function kconfigValues(externs: ExternSpec[], kernVersion?: number): Uint8Array {
  const needsConfig = externs.some((e) => e.kconfig && e.name.startsWith("CONFIG_"));
  const { config, problem } = needsConfig ? kernelConfig() : { config: undefined, problem: undefined };
  const src: KconfigSources = {
    config, configProblem: problem,
    kernelVersion: kernVersion ?? kernelVersion().code,
    hasSyscallWrapper, hasBpfCookie,
  };
  return kconfigData(externs, src);
}

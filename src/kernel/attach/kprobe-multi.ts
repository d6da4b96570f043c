// kprobe.multi (BPF_TRACE_KPROBE_MULTI link, 5.18+ with CONFIG_FPROBE): one link on every kernel
// function matching a glob, matched as libbpf does against tracefs available_filter_functions
// (the functions ftrace, hence fprobe, can hook). A glob in `--attach kprobe:GLOB` takes that link
// when the program can use it, else one kprobe per function, up to MAX_SEPARATE_PROBES.
import { formatAttachSpec, globToRegExp, type AttachSpec } from "../../attach-spec.ts";
import { InputError, SyscallError, errnoName } from "../../errors.ts";
import { hintFor } from "../../hints.ts";
import { FileError, openFile, readInto } from "../../sys/files.ts";
import { close } from "../../sys/fd.ts";
import { bpfLinkCreateKprobeMulti } from "../../sys/link-multi.ts";
import { attachTypeValue } from "../../uapi.ts";
import { parseFilterFunctions, parseKallsyms } from "./kprobe-doctor.ts";
import { MultiLink, type Link } from "./perf-link.ts";
import type { Program } from "../program.ts";
import { tracefs } from "../tracefs/tracefs.ts";
import { BpfLink } from "./tracing.ts";

/** Without kprobe.multi, a glob becomes this many kprobes at most (each is a perf event and, through tracefs, an event). */
export const MAX_SEPARATE_PROBES = 100;

/**
 * The function names a glob matches, sorted and unique: from available_filter_functions (what
 * libbpf matches), else from kallsyms' function symbols (no `.cold` parts, no `__pfx_` padding).
 * Names the kernel lists as invalid (`__ftrace_invalid_address___N`) are left out, as libbpf does.
 */
export function matchKernelFunctions(pattern: string, filterText: string | undefined, kallsymsText: string | undefined): { names: string[]; from: string } {
  const re = globToRegExp(pattern);
  const from = filterText !== undefined ? "available_filter_functions" : "/proc/kallsyms";
  const all = filterText !== undefined ? [...parseFilterFunctions(filterText)] : parseKallsyms(kallsymsText ?? "").map((e) => e.name).filter((n) => !n.includes(".cold") && !n.startsWith("__pfx_"));
  const names = [...new Set(all.filter((n) => re.test(n) && !n.startsWith("__ftrace_invalid_address__")))].sort();
  return { names, from };
}

/**
 * A /proc or tracefs text file, undefined when it cannot be read. These answer about 4 KB per read
 * (1,300 reads for a 6.x kallsyms), so one buffer is reused rather than one allocated per read.
 */
export function readKernelText(path: string): string | undefined {
  let fd: number;
  try {
    fd = openFile(path);
  } catch (e) {
    if (e instanceof FileError) return undefined;
    throw e;
  }
  try {
    const buf = new Uint8Array(256 * 1024);
    const decoder = new TextDecoder();
    let text = "";
    for (;;) {
      const n = readInto(fd, buf);
      if (n < 0) return undefined;
      if (n === 0) return text + decoder.decode();
      text += decoder.decode(buf.subarray(0, n), { stream: true });
    }
  } finally {
    close(fd);
  }
}

/** available_filter_functions, undefined without tracefs or when it cannot be read. */
export function readFilterFunctions(): string | undefined {
  try {
    return readKernelText(`${tracefs()}/available_filter_functions`);
  } catch {
    return undefined; // no tracefs (and it cannot be mounted)
  }
}

function liveKernelFunctions(pattern: string): { names: string[]; from: string } {
  const filter = readFilterFunctions();
  return matchKernelFunctions(pattern, filter, filter === undefined ? readKernelText("/proc/kallsyms") : undefined);
}

/** What the glob code asks the kernel, swapped by the tests for a fake (test/kernel/kprobe-multi.test.ts). */
export const kprobeMultiSeam = {
  functions: liveKernelFunctions,
  link: (progFd: number, names: string[], retprobe: boolean) => bpfLinkCreateKprobeMulti(progFd, attachTypeValue("BPF_TRACE_KPROBE_MULTI"), names, { retprobe }),
};

const kernelFunctions = (pattern: string) => kprobeMultiSeam.functions(pattern);

type MultiSpec = AttachSpec & { kind: "kprobe.multi" | "kretprobe.multi" };

function noMatch(pattern: string, from: string): InputError {
  return new InputError(pattern, `no kernel function matches this glob (in ${from})`);
}

/** Tries the one link; returns it, or the errno the kernel refused it with. */
function linkMulti(prog: Program, names: string[], retprobe: boolean, target: string): BpfLink | number {
  const r = kprobeMultiSeam.link(prog.fd, names, retprobe);
  return r.ret >= 0 ? new BpfLink(target, r.ret) : r.errno;
}

const MULTI_HINT: Record<string, string> = {
  EOPNOTSUPP: "this kernel has no kprobe.multi (Linux 5.18+ built with CONFIG_FPROBE): use kprobe:FUNC for each function",
  EINVAL: "the kernel refused the kprobe.multi link (before 5.18 it has none; the program must be loaded for it: a kprobe.multi/ section)",
  ESRCH: "one of the functions cannot be found or hooked by fprobe (not in available_filter_functions?)",
  ENOENT: "one of the functions cannot be found or hooked by fprobe (not in available_filter_functions?)",
};

export function attachKprobeMulti(prog: Program, spec: MultiSpec): BpfLink {
  const target = formatAttachSpec(spec);
  const { names, from } = kernelFunctions(spec.pattern);
  if (!names.length) throw noMatch(spec.pattern, from);
  const r = linkMulti(prog, names, spec.kind === "kretprobe.multi", `${target} (${names.length} functions)`);
  if (typeof r !== "number") return r;
  const name = errnoName(r);
  throw new SyscallError(`attach '${prog.name}' to ${target}`, "BPF_LINK_CREATE(kprobe_multi)", r, MULTI_HINT[name] ?? hintFor("BPF_LINK_CREATE", name, { euid: process.geteuid?.() ?? 0 }));
}

/**
 * `kprobe:GLOB`: the kprobe.multi link when the kernel and the program take it, else one kprobe
 * per matching function (attachOne), refused above MAX_SEPARATE_PROBES with what to do.
 */
export function attachKprobeGlob(prog: Program, spec: AttachSpec & { kind: "kprobe" | "kretprobe" }, attachOne: (one: AttachSpec & { kind: "kprobe" | "kretprobe" }) => Link): Link {
  const target = formatAttachSpec(spec);
  const { names, from } = kernelFunctions(spec.func);
  if (!names.length) throw noMatch(spec.func, from);
  const multi = linkMulti(prog, names, spec.kind === "kretprobe", `${target} (kprobe.multi, ${names.length} functions)`);
  if (typeof multi !== "number") return multi;
  if (names.length > MAX_SEPARATE_PROBES) {
    throw new SyscallError(
      `attach '${prog.name}' to ${target}`,
      "BPF_LINK_CREATE(kprobe_multi)",
      multi,
      `the glob matches ${names.length} functions, more than the ${MAX_SEPARATE_PROBES} separate kprobes bpfload places without kprobe.multi (5.18+, CONFIG_FPROBE, a program from a kprobe.multi/ section): narrow the glob`,
    );
  }
  const links: Link[] = [];
  try {
    for (const func of names) links.push(attachOne(spec.kind === "kprobe" ? { kind: "kprobe", func, offset: 0 } : { kind: "kretprobe", func }));
  } catch (e) {
    for (const l of links) l.close();
    throw e;
  }
  const listed = names.length <= 5 ? names.join(", ") : `${names.slice(0, 5).join(", ")}, …`;
  return new MultiLink(`${target} (${names.length} kprobe${names.length === 1 ? "" : "s"}: ${listed})`, links);
}

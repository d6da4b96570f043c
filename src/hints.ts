// What to tell the user when a call fails: one table keyed by (call, errno, circumstances),
// so every hint lives in one place and is tested. A hint that says which option to change names it
// as the library does (opt(): the CLI shows its flag there). Pure.
import { opt, optionText, type ErrorText } from "./errors.ts";
import { formatVersionCode, kernelVersionCode } from "./uapi.ts";

export interface HintContext {
  /** Effective uid of this process. */
  euid: number;
  /** LINUX_VERSION_CODE of the running kernel, when known. */
  kernel?: number;
  progType?: string;
  /** kern_version sent with BPF_PROG_LOAD and where it came from. */
  kernVersion?: { code: number; source: string };
  /** The verifier log came back empty. */
  logEmpty?: boolean;
  /** The log ends in the verifier's summary without an error: something after verification failed. */
  verifierPassed?: boolean;
  /** max_entries sent with BPF_MAP_CREATE. */
  maxEntries?: number;
  /** BPF_PROG_LOAD without expected_attach_type for a program type that needs one (cgroup_sock_addr, ...). */
  attachTypeMissing?: boolean;
  /** Syscall tracepoint (syscalls:sys_enter_*). */
  syscallTracepoint?: boolean;
}

interface Row {
  call: string | RegExp;
  errno: string;
  when?: (c: HintContext) => boolean;
  text: (c: HintContext) => ErrorText;
}

const before = (c: HintContext, major: number, minor: number) =>
  c.kernel !== undefined && c.kernel < kernelVersionCode(major, minor, 0);

const NEEDS_ROOT = "run as root (BPF needs CAP_SYS_ADMIN, or CAP_BPF and CAP_PERFMON on 5.8+)";

/** First matching row wins: put the specific rows before the general ones. */
const TABLE: Row[] = [
  { call: /./, errno: "EPERM", when: (c) => c.euid !== 0, text: () => NEEDS_ROOT },
  { call: /./, errno: "EACCES", when: (c) => c.euid !== 0, text: () => NEEDS_ROOT },
  {
    call: /^BPF_(PROG_LOAD|MAP_CREATE)$/,
    errno: "EPERM",
    text: (c) =>
      before(c, 5, 11)
        ? "RLIMIT_MEMLOCK is too low even after raising it (kernels before 5.11 charge BPF memory to it): check `ulimit -l` and the container's limits"
        : "the kernel denied BPF to root: a container without CAP_SYS_ADMIN/CAP_BPF, a seccomp profile, or kernel lockdown",
  },
  { call: /./, errno: "EPERM", text: () => "the kernel denied the operation: a container without the needed capabilities, a seccomp profile, or kernel lockdown" },
  {
    call: "BPF_PROG_LOAD",
    errno: "EINVAL",
    when: (c) => c.progType === "kprobe" && !!c.logEmpty && (c.kernel === undefined || before(c, 5, 0)),
    text: (c) => {
      const kv = c.kernVersion ? `0x${c.kernVersion.code.toString(16)} (${formatVersionCode(c.kernVersion.code)}, from ${c.kernVersion.source})` : "the one sent";
      return optionText`kernels before 5.0 refuse a kprobe program whose kern_version differs from the running kernel's: kern_version ${kv} does not match? pass ${opt("kernVersion")} with the value of LINUX_VERSION_CODE`;
    },
  },
  {
    call: "BPF_PROG_LOAD",
    errno: "EINVAL",
    when: (c) => !!c.verifierPassed,
    text: () => "the verifier accepted the program but the kernel refused it afterwards: e.g. a PROG_ARRAY shared with programs of another type, or a helper this program type may not call",
  },
  {
    call: "BPF_PROG_LOAD",
    errno: "EINVAL",
    when: (c) => !!c.logEmpty && !!c.attachTypeMissing,
    text: (c) =>
      `a ${c.progType} program needs an expected attach type, which the section name gives (e.g. cgroup/connect4, cgroup/getsockopt, sk_lookup): put the program in such a section (libbpf's names)`,
  },
  {
    call: "BPF_PROG_LOAD",
    errno: "EINVAL",
    when: (c) => !!c.logEmpty,
    text: () => "the kernel refused the program before verifying it: an unknown program type or flag for this kernel, or too many instructions (4096 before 5.2)",
  },
  {
    call: "BPF_PROG_LOAD",
    errno: "E2BIG",
    text: () =>
      "the program is too large or too complex: the verifier stops after 1,000,000 processed instructions (far fewer before 5.2, where a program may also have at most 4,096): bound the loops or split the program with tail calls",
  },
  { call: /./, errno: "E2BIG", text: () => "this kernel is older than the attributes sent: bpfload sent a field it does not know" },
  { call: "BPF_PROG_LOAD", errno: "ENOSPC", text: () => "the verifier log did not fit in the largest buffer the kernel accepts" },
  {
    call: "BPF_MAP_CREATE",
    errno: "EINVAL",
    when: (c) => c.maxEntries === 0,
    text: () => optionText`max_entries is 0: only a perf_event_array may leave it 0 (libbpf and bpfload then size it to the number of possible CPUs); a tool's user space sizes such maps at run time: give the size with ${opt("map.maxEntries", "NAME:max_entries=N[,value_size=M]", "the map's maxEntries")}`,
  },
  { call: "BPF_MAP_CREATE", errno: "EINVAL", text: () => optionText`this kernel does not know this map type or one of its flags, or the key/value sizes are invalid for it (sizes a tool sets at run time: ${opt("map.maxEntries", "NAME:max_entries=N,value_size=M", "the map's maxEntries and valueSize")})` },
  {
    call: "PERF_EVENT_IOC_SET_BPF",
    errno: "EINVAL",
    when: (c) => !!c.syscallTracepoint && before(c, 4, 14),
    text: () => "BPF programs on syscalls:* tracepoints need Linux 4.14; attach to raw_syscalls:sys_enter or use a kprobe",
  },
  { call: "PERF_EVENT_IOC_SET_BPF", errno: "EINVAL", text: () => "the program type does not match the event (kprobe programs for kprobes, tracepoint programs for tracepoints)" },
  { call: "BPF_RAW_TRACEPOINT_OPEN", errno: "EINVAL", text: () => optionText`a raw tracepoint takes a raw_tracepoint program (${opt("type", "raw_tracepoint", "program type raw_tracepoint")})` },
  {
    // fentry/fexit/fmod_ret/lsm/freplace go through a BPF trampoline on the target function
    call: "BPF_RAW_TRACEPOINT_OPEN",
    errno: "ENOTSUPP",
    text: () => `this kernel cannot place a BPF trampoline on that function${process.arch === "arm64" ? " (Debian's 6.1 arm64 kernel refuses every fentry/fexit/lsm attach this way: arm64 got ftrace direct calls later)" : " (fentry/fexit/lsm need the kernel's BPF trampoline: x86_64 from 5.5)"}; a kprobe or tp_btf program can observe the same place`,
  },
  { call: "PERF_EVENT_IOC_SET_BPF", errno: "EEXIST", text: () => "a BPF program is already attached to this event" },
  { call: "perf_event_open", errno: "ENOENT", text: () => "the event does not exist (was the probe removed meanwhile?)" },
  { call: "perf_event_open", errno: "ENODEV", text: () => "this kernel lacks the perf event type (no CONFIG_PERF_EVENTS, or no kprobe/uprobe PMU before 4.17)" },
  {
    call: /^BPF_(PROG_LOAD|MAP_CREATE)$/,
    errno: "EMFILE",
    text: () => "every map and program holds a file descriptor and this process reached its limit (`ulimit -n`): raise it, e.g. `ulimit -n 65536`",
  },
  { call: /./, errno: "EMFILE", text: () => "too many open files: raise `ulimit -n`" },
  { call: "kprobe_events", errno: "ENOENT", text: () => "no such kernel function: check the name in /proc/kallsyms (static and inlined functions may have no probe point)" },
  { call: "kprobe_events", errno: "EINVAL", text: () => "the kernel refused the probe: an unknown function, an offset that is not an instruction boundary (or lies inside the ftrace entry nops), or a function on the kprobe blacklist" },
  { call: "kprobe_events", errno: "EBUSY", text: () => "the probe event is in use" },
  { call: "uprobe", errno: "ENOENT", text: () => "no such file: give the absolute path of the executable or library" },
  { call: "uprobe", errno: "EINVAL", text: () => "the kernel refused the uprobe: the offset is not inside an executable segment of the file, or not an instruction boundary" },
  { call: "kprobe_events", errno: "EEXIST", text: () => "a probe event with this name exists already" },
];

export function hintFor(call: string, errnoName: string, ctx: HintContext): ErrorText | undefined {
  for (const row of TABLE) {
    const callMatches = typeof row.call === "string" ? row.call === call : row.call.test(call);
    if (callMatches && row.errno === errnoName && (!row.when || row.when(ctx))) return row.text(ctx);
  }
  return undefined;
}

// "Does this kernel have X?" answered by trying the smallest thing that needs X, once per process
// (the approach of libbpf's feature probes and cilium/ebpf's feature tests), never by the version
// number: distribution kernels backport (RHEL 8's 4.18 has global data, a 5.2 feature).
// FEATURE_SINCE (since.ts) still names the version in messages, and the agreement test checks on
// every rig kernel that each probe's answer matches the table, so neither can drift.
import { encode, insn, LD_IMM64, type Instruction } from "../../asm/insn.ts";
import { BtfBuilder, BTF_FUNC_GLOBAL, BTF_VAR_GLOBAL_ALLOCATED } from "../../elf/btf-builder.ts";
import { NotSupportedError, ERRNO, type ErrorText } from "../../errors.ts";
import { FEATURE_SINCE, newerThan, since, type FeatureKey } from "../../since.ts";
import { BPF_MAP_TYPE_ARRAY, BPF_PROG_TYPE_RAW_TRACEPOINT, BPF_PROG_TYPE_SOCKET_FILTER } from "../../uapi.ts";
import { FEATURE_IDS, type FeatureId } from "./ids.ts";
import { liveKernel, type ProbeKernel } from "./kernel.ts";

const { EBADF } = ERRNO;
const BPF_PROG_TYPE_CGROUP_SOCK_ADDR = 18;
const BPF_CGROUP_INET4_CONNECT = 10;
const BPF_FUNC_KTIME_GET_COARSE_NS = 160;
const BPF_FUNC_PROBE_READ_KERNEL = 113;
const BPF_PROG_TYPE_TRACEPOINT = 5;

// The probes' tiny programs, through the project's one instruction codec (asm/insn.ts).
const MOV_R0 = (imm: number) => insn(0xb7, { imm });
const EXIT = insn(0x95);
const program = (...insns: Instruction[]) => encode(insns);

/** Loads a program and closes it at once: did the kernel take it? */
function loads(k: ProbeKernel, progType: number, insns: Uint8Array, extra: { name?: string; expectedAttachType?: number } = {}): boolean {
  const r = k.progLoad({ progType, insns, license: "GPL", kernVersion: k.versionCode(), logLevel: 0, logSize: 0, ...extra });
  if (r.ret >= 0) k.close(r.ret);
  return r.ret >= 0;
}

function btfLoads(k: ProbeKernel, build: (b: BtfBuilder) => void): boolean {
  const b = new BtfBuilder();
  build(b);
  const r = k.btfLoad(b.build());
  if (r.ret >= 0) k.close(r.ret);
  return r.ret >= 0;
}

/** The global-data probe: ld_imm64 r1 = &map[0] value (BPF_PSEUDO_MAP_VALUE) on a one-entry array. */
function globalData(k: ProbeKernel): boolean {
  const map = k.mapCreate({ mapType: BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 8, maxEntries: 1 });
  if (map.ret < 0) return false;
  try {
    return loads(k, BPF_PROG_TYPE_SOCKET_FILTER, program(insn(LD_IMM64, { dst: 1, src: 2 /* BPF_PSEUDO_MAP_VALUE */, imm: map.ret }), MOV_R0(0), EXIT));
  } finally {
    k.close(map.ret);
  }
}

export { FEATURE_IDS, type FeatureId } from "./ids.ts"; // the list alone: "bpfload" exports it without loading the probes

export interface FeatureProbe {
  /** FEATURE_SINCE key: what messages call it and the version they name. */
  since: FeatureKey;
  /** The answer, by trying; absent when only the real attempt can tell. */
  probe?: (k: ProbeKernel) => boolean;
  /** False when the kernel was built without what the feature rides on, so its version says nothing. */
  configured?: (k: ProbeKernel) => boolean;
  /** How it is probed (or why it is not). */
  how: string;
}

// Network hook probes (issue 11): the program type's smallest program, then the link the feature is.
const BPF_PROG_TYPE_XDP = 6;
const BPF_PROG_TYPE_SCHED_CLS_ = 3;
const BPF_PROG_TYPE_SK_LOOKUP = 30;
const BPF_PROG_TYPE_NETFILTER_ = 32;
const ATTACH = { xdp: 37, tcxIngress: 46, netfilter: 45, skLookup: 36 } as const;
const XDP_FLAGS_SKB_MODE = 2;

/** Loads a probe program, hands its fd to `link`, closes it: link's answer, or false when it did not load. */
function withProgram(k: ProbeKernel, progType: number, insns: Uint8Array, expectedAttachType: number | undefined, link: (fd: number) => boolean): boolean {
  const r = k.progLoad({ progType, insns, license: "GPL", kernVersion: k.versionCode(), logLevel: 0, logSize: 0, expectedAttachType });
  if (r.ret < 0) return false;
  try {
    return link(r.ret);
  } finally {
    k.close(r.ret);
  }
}

export const FEATURES: Record<FeatureId, FeatureProbe> = {
  xdpLink: {
    since: "XDP bpf_link",
    // No error tells a kernel without XDP links from a refused link (EINVAL both), so the probe makes
    // one: generic mode on lo (ifindex 1 in every namespace) for an XDP_PASS program, closed at once:
    // nothing changes for the packets. EBUSY/EEXIST: lo has someone's XDP program, links exist.
    how: "an XDP_PASS program linked to lo in generic mode (and closed): made, or EBUSY, where XDP links exist; EINVAL before",
    probe: (k) => withProgram(k, BPF_PROG_TYPE_XDP, program(MOV_R0(2), EXIT), undefined, (fd) => [0, 16, 17].includes(k.linkCreate({ progFd: fd, target: 1, attachType: ATTACH.xdp, flags: XDP_FLAGS_SKB_MODE }))),
  },
  tcxLink: {
    since: "tcx links",
    how: "BPF_LINK_CREATE BPF_TCX_INGRESS for a sched_cls program on ifindex 0: ENODEV with tcx, EINVAL before",
    probe: (k) => withProgram(k, BPF_PROG_TYPE_SCHED_CLS_, program(MOV_R0(0), EXIT), undefined, (fd) => k.linkCreate({ progFd: fd, target: 0, attachType: ATTACH.tcxIngress }) === 19),
  },
  netfilterLink: {
    since: "netfilter bpf_link",
    how: "a netfilter program (the type came with its link), linked with pf 0: EAFNOSUPPORT where netfilter links exist",
    probe: (k) => withProgram(k, BPF_PROG_TYPE_NETFILTER_, program(MOV_R0(1), EXIT), ATTACH.netfilter, (fd) => k.linkCreate({ progFd: fd, target: 0, attachType: ATTACH.netfilter, netfilter: { pf: 0, hooknum: 0, priority: 0 } }) === 97),
  },
  skLookup: {
    since: "sk_lookup programs and netns links",
    how: "r0=1 (SK_PASS); exit as sk_lookup with expected_attach_type BPF_SK_LOOKUP (the type came with its netns link)",
    probe: (k) => loads(k, BPF_PROG_TYPE_SK_LOOKUP, program(MOV_R0(1), EXIT), { expectedAttachType: ATTACH.skLookup }),
  },
  programNames: {
    since: "program and map names",
    how: "r0=0; exit as a socket filter with prog_name set (older kernels: E2BIG past their attr, or EINVAL)",
    probe: (k) => loads(k, BPF_PROG_TYPE_SOCKET_FILTER, program(MOV_R0(0), EXIT), { name: "bpfload_probe" }),
  },
  globalData: {
    since: "global data (.data/.rodata/.bss)",
    how: "a one-entry array map and an ld_imm64 BPF_PSEUDO_MAP_VALUE of it",
    probe: globalData,
  },
  bpfToBpfCalls: {
    since: "BPF-to-BPF calls",
    how: "call +1 (BPF_PSEUDO_CALL) to a second function that returns 0",
    probe: (k) => loads(k, BPF_PROG_TYPE_SOCKET_FILTER, program(insn(0x85, { src: 1 /* BPF_PSEUDO_CALL */, imm: 1 }), EXIT, MOV_R0(0), EXIT)),
  },
  kretprobeMaxactive: {
    since: "kretprobe maxactive",
    // Only kprobe_events knows it, and trying the real 'r<N>:' line is no probe: 4.9 takes
    // 'r5:bpfload/x func' without an error and creates kprobes/r_func_0 instead, an event outside
    // bpfload's group (seen on the rig's 4.9.229). What tracefs' README says kprobe_events accepts
    // is the answer ("r[maxactive]" from 4.12; 4.9's says "p|r[:..."); a README that documents no
    // kprobe_events syntax at all leaves only the table.
    how: "tracefs README: kprobe_events syntax 'r[maxactive]'",
    probe: (k) => {
      const readme = k.readTracefsFile("README") ?? "";
      if (readme.includes("r[maxactive]")) return true;
      if (/\bp\|r\[|\br\[:/.test(readme)) return false;
      return !newerThan(FEATURE_SINCE["kretprobe maxactive"], k.versionCode());
    },
    configured: (k) => k.hasTracefsFile("kprobe_events"),
  },
  kprobePmu: {
    since: "kprobe/uprobe perf PMU",
    how: "/sys/bus/event_source/devices/kprobe",
    probe: (k) => k.hasPmu("kprobe"),
    configured: (k) => k.hasPmu("kprobe") || k.hasTracefsFile("kprobe_events"),
  },
  uprobePmu: {
    since: "kprobe/uprobe perf PMU",
    how: "/sys/bus/event_source/devices/uprobe",
    probe: (k) => k.hasPmu("uprobe"),
    configured: (k) => k.hasPmu("uprobe") || k.hasTracefsFile("uprobe_events"),
  },
  rawTracepoints: {
    since: "raw tracepoints",
    how: "r0=0; exit as a raw_tracepoint program",
    probe: (k) => loads(k, BPF_PROG_TYPE_RAW_TRACEPOINT, program(MOV_R0(0), EXIT)),
  },
  bpfLink: {
    since: "bpf_link",
    how: "BPF_LINK_CREATE with prog_fd -1: EBADF where the command exists, EINVAL before",
    probe: (k) => k.linkCreateErrno() === EBADF,
  },
  btf: {
    since: "BTF",
    how: "BPF_BTF_LOAD of one INT",
    probe: (k) => btfLoads(k, (b) => b.int("int", 4)),
  },
  btfFunc: {
    since: "BTF functions (FUNC, FUNC_PROTO)",
    how: "BPF_BTF_LOAD of int f(int a), static",
    probe: (k) => btfLoads(k, (b) => {
      const int = b.int("int", 4);
      b.func("f", b.funcProto(int, [{ name: "a", type: int }]));
    }),
  },
  btfFuncGlobal: {
    since: "BTF global functions",
    how: "BPF_BTF_LOAD of int f(int a) with global linkage",
    probe: (k) => btfLoads(k, (b) => {
      const int = b.int("int", 4);
      b.func("f", b.funcProto(int, [{ name: "a", type: int }]), BTF_FUNC_GLOBAL);
    }),
  },
  btfDatasec: {
    since: "BTF variables (VAR, DATASEC)",
    how: "BPF_BTF_LOAD of an int variable in a .data DATASEC",
    probe: (k) => btfLoads(k, (b) => {
      const int = b.int("int", 4);
      const x = b.variable("x", int, BTF_VAR_GLOBAL_ALLOCATED);
      b.datasec(".data", 4, [{ type: x, offset: 0, size: 4 }]);
    }),
  },
  btfFloat: {
    since: "BTF_KIND_FLOAT",
    how: "BPF_BTF_LOAD of a 4-byte FLOAT",
    probe: (k) => btfLoads(k, (b) => b.float("float", 4)),
  },
  btfDeclTag: {
    since: "BTF_KIND_DECL_TAG",
    how: "BPF_BTF_LOAD of a DECL_TAG on an int variable",
    probe: (k) => btfLoads(k, (b) => {
      const x = b.variable("x", b.int("int", 4));
      b.declTag("tag", x);
    }),
  },
  btfTypeTag: {
    since: "BTF_KIND_TYPE_TAG",
    how: "BPF_BTF_LOAD of a pointer to a TYPE_TAG'd int",
    probe: (k) => btfLoads(k, (b) => {
      b.ptr(b.typeTag("tag", b.int("int", 4)));
    }),
  },
  btfEnum64: {
    since: "BTF_KIND_ENUM64",
    how: "BPF_BTF_LOAD of an 8-byte ENUM64 with one value",
    probe: (k) => btfLoads(k, (b) => b.enum64("e", 8, [{ name: "a", value: 1n }])),
  },
  expectedAttachType: {
    since: "expected_attach_type",
    how: "r0=1; exit as cgroup_sock_addr with expected_attach_type BPF_CGROUP_INET4_CONNECT",
    probe: (k) => loads(k, BPF_PROG_TYPE_CGROUP_SOCK_ADDR, program(MOV_R0(1), EXIT), { expectedAttachType: BPF_CGROUP_INET4_CONNECT }),
  },
  logTrueSize: {
    since: "verifier log_true_size",
    how: "r0=0; exit with a log and the whole attr: 6.4+ writes log_true_size back, older kernels leave it 0",
    probe: (k) => {
      const r = k.progLoad({ progType: BPF_PROG_TYPE_SOCKET_FILTER, insns: program(MOV_R0(0), EXIT), license: "GPL", kernVersion: k.versionCode(), logLevel: 1, logSize: 4096, askLogTrueSize: true });
      if (r.ret >= 0) k.close(r.ret);
      return r.ret >= 0 && r.logTrueSize > 0;
    },
  },
  bigVerifierLog: {
    since: "verifier log of up to 1 GiB",
    // The largest log_size the kernel takes: UINT_MAX >> 8 before 5.2, UINT_MAX >> 2 after. The
    // 2-instruction program logs under 200 bytes, so a 4 KiB buffer claimed as 1 GiB is safe.
    how: "r0=0; exit with log_size UINT_MAX >> 2 claimed (EINVAL where the cap is UINT_MAX >> 8)",
    probe: (k) => {
      const r = k.progLoad({ progType: BPF_PROG_TYPE_SOCKET_FILTER, insns: program(MOV_R0(0), EXIT), license: "GPL", kernVersion: k.versionCode(), logLevel: 1, logSize: 4096, claimedLogSize: 0x3fffffff });
      if (r.ret >= 0) k.close(r.ret);
      return r.ret >= 0;
    },
  },
  memcgAccounting: {
    since: "memcg accounting instead of RLIMIT_MEMLOCK",
    how: "a call to bpf_ktime_get_coarse_ns, the helper of the same release (libbpf's probe)",
    probe: (k) => loads(k, BPF_PROG_TYPE_SOCKET_FILTER, program(insn(0x85, { imm: BPF_FUNC_KTIME_GET_COARSE_NS }), EXIT)),
  },
  probeReadKernel: {
    since: "bpf_probe_read_kernel/_user",
    // libbpf's FEAT_PROBE_READ_KERN: without it calls are rewritten to bpf_probe_read (elf/helper-rewrite.ts)
    how: "a tracepoint program calling bpf_probe_read_kernel(fp-8, 8, NULL) (libbpf's probe)",
    probe: (k) => loads(k, BPF_PROG_TYPE_TRACEPOINT, program(
      insn(0xbf, { dst: 1, src: 10 }), // r1 = r10
      insn(0x07, { dst: 1, imm: -8 }), // r1 += -8
      insn(0xb7, { dst: 2, imm: 8 }), // r2 = 8
      insn(0xb7, { dst: 3, imm: 0 }), // r3 = 0
      insn(0x85, { imm: BPF_FUNC_PROBE_READ_KERNEL }),
      EXIT,
    )),
  },
  syscallTracepoints: {
    since: "BPF on syscalls:* tracepoints",
    how: "a tracepoint program attached to syscalls:sys_enter_getpid",
    probe: (k) => k.syscallTracepointRefusal() === undefined,
    configured: (k) => k.hasTracefsFile("events/syscalls"),
  },
};

const cache = new Map<FeatureId, boolean | undefined>();

/** The probe's answer (undefined: not probed), cached for the process on the live kernel. */
export function hasFeature(id: FeatureId, k: ProbeKernel = liveKernel): boolean | undefined {
  if (k !== liveKernel) return FEATURES[id].probe?.(k);
  if (!cache.has(id)) cache.set(id, FEATURES[id].probe?.(k));
  return cache.get(id);
}

/** Sets (undefined: forgets) the cached answer; tests use it to play a kernel without a feature. */
export function setFeatureAnswer(id: FeatureId, answer: boolean | undefined): void {
  if (answer === undefined) cache.delete(id);
  else cache.set(id, answer);
}

/** The version that brought a feature, as messages say it ("4.16"). */
export function featureSince(id: FeatureId): string {
  return since(FEATURE_SINCE[FEATURES[id].since]);
}

/** Refuses, naming the version, only when the probe says the kernel lacks the feature. */
export function requireFeature(id: FeatureId, what: ErrorText, detail?: ErrorText, k: ProbeKernel = liveKernel): void {
  if (hasFeature(id, k) === false) throw new NotSupportedError(what, featureSince(id), detail);
}

export interface FeatureAnswer {
  supported: boolean | "unknown";
  /** The version that brought it (FEATURE_SINCE). */
  since: string;
  /** The FEATURE_SINCE key. */
  feature: string;
  /** Present (false) when the kernel was built without what it needs: then the version says nothing. */
  configured?: false;
  how: string;
}

/** Every probe's answer, for `bpfload probe`. */
export function probeFeatures(k: ProbeKernel = liveKernel): Record<FeatureId, FeatureAnswer> {
  const out = {} as Record<FeatureId, FeatureAnswer>;
  for (const id of FEATURE_IDS) {
    const f = FEATURES[id];
    const answer = hasFeature(id, k);
    out[id] = {
      supported: answer ?? "unknown",
      since: featureSince(id),
      feature: f.since,
      ...(f.configured && !f.configured(k) ? { configured: false as const } : {}),
      how: f.how,
    };
  }
  return out;
}


// The network hooks' requirements by the names the attach code uses: the FEATURE_IDS probes above
// (cgroup links came with BPF_LINK_CREATE itself, 5.7: the bpfLink probe answers).
export const HOOK_FEATURES = {
  tcx: { since: "tcx links" as FeatureKey, probe: () => hasFeature("tcxLink") },
  netfilter: { since: "netfilter bpf_link" as FeatureKey, probe: () => hasFeature("netfilterLink") },
  xdpLink: { since: "XDP bpf_link" as FeatureKey, probe: () => hasFeature("xdpLink") },
  cgroupLink: { since: "bpf_link" as FeatureKey, probe: () => hasFeature("bpfLink") },
} satisfies Record<string, { since: FeatureKey; probe?: () => boolean | undefined }>;

const hookCache = new Map<string, boolean | undefined>();

/** Refuses naming the version when the probe says no; does nothing when it cannot tell. */
export function requireHookFeature(id: keyof typeof HOOK_FEATURES, what: ErrorText, detail?: ErrorText): void {
  const f = HOOK_FEATURES[id];
  if (!hookCache.has(id)) hookCache.set(id, f.probe?.());
  if (hookCache.get(id) === false) throw new NotSupportedError(what, since(FEATURE_SINCE[f.since]), detail);
}

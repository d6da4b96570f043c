// The one table from ELF section names to what a program needs at load: program type, expected
// attach type, prog flags (sleepable, XDP frags), whether it needs a BTF target (attach_btf_id),
// the attach point when the name gives one, and the kernel that brought it (for messages). It
// follows libbpf's section table (libbpf.c section_defs: "name+" is the name or "name/…"), plus
// the habits of Linux 4.9's samples/bpf loader (prefix matches such as "socket1" and "xdp1";
// "kprobe/N", "kretprobe/N" and "socket/N" name tail-call targets for index N of the object's
// PROG_ARRAY), and libbpf's "?" prefix: a "?name" program is not loaded unless asked for by name.
// Shared by load, disasm and the hints. Pure data and string handling.

import { since } from "../since.ts";
import { attachTypeValue, BPF_F_SLEEPABLE, BPF_F_XDP_HAS_FRAGS, type AttachTypeName, type ProgTypeName } from "../uapi.ts";

/** What a section name says about the programs in it. */
export interface SectionProgram {
  progType: ProgTypeName;
  /** Attach point in CLI syntax ("kprobe:FUNC", "tracepoint:CAT:NAME", …); absent when the name does not give one. */
  attach?: string;
  /** The section is "TYPE/N": the program belongs at index N of the object's PROG_ARRAY map (4.9 samples). */
  tailCallIndex?: number;
  /** expected_attach_type for BPF_PROG_LOAD (enum bpf_attach_type value) and its bpf.h name. */
  expectedAttachType?: number;
  expectedAttachTypeName?: AttachTypeName;
  /**
   * libbpf's SEC_ATTACHABLE_OPT: the expected attach type may be left out on kernels without
   * expected_attach_type (4.17), where the program type alone was enough.
   */
  expectedAttachTypeOptional?: boolean;
  /** prog_flags: BPF_F_SLEEPABLE ("*.s" sections, syscall), BPF_F_XDP_HAS_FRAGS ("xdp.frags*"). */
  progFlags?: number;
  /** The program is loaded against a BTF type (attach_btf_id): fentry/, lsm/, tp_btf/, iter/, freplace/… */
  needsBtfTarget?: boolean;
  /** The BTF name to look up for attach_btf_id, when the section names it (libbpf's prefixes: btf_trace_, bpf_lsm_, bpf_iter_). */
  btfTarget?: string;
  /** "?name": libbpf's autoload off — load only when selected by --program/--section. */
  autoload?: false;
  /** The first kernel (mainline) with this program type and attach type, "major.minor", for messages. */
  since: string;
}

/**
 * How a table entry matches:
 * - "exact": the whole section name;
 * - "slash": the name itself or the name followed by "/…" (libbpf's "name+"; the rest is passed to `attach`);
 * - "prefix": any section name starting with it (the 4.9 samples loader used strncmp: "socket1", "xdp_prog").
 */
type Match = "exact" | "slash" | "prefix";

interface Entry {
  name: string;
  match: Match;
  progType: ProgTypeName;
  attachType?: AttachTypeName;
  /** SEC_ATTACHABLE_OPT in libbpf */
  optional?: boolean;
  sleepable?: boolean;
  frags?: boolean;
  /** needs attach_btf_id; the string is the prefix libbpf puts before the name after the slash */
  btf?: string;
  since: [number, number];
  /** Builds the attach point from the part after "name/" (slash) or from nothing (exact/prefix). */
  attach?: (rest: string | undefined) => string | undefined;
  /** "name/N" with decimal N is a tail-call target (4.9 samples: kprobe/, kretprobe/, socket/). */
  tailCalls?: boolean;
}

const fixed = (s: string) => () => s;
const probe = (kind: string) => (rest: string | undefined) => (rest ? `${kind}:${rest}` : undefined);
const tracepoint = (rest: string | undefined) => {
  if (!rest) return undefined;
  const slash = rest.indexOf("/");
  if (slash <= 0 || slash === rest.length - 1) return undefined;
  return `tracepoint:${rest.slice(0, slash)}:${rest.slice(slash + 1)}`;
};
/** libbpf: "uprobe/PATH:FUNC[+OFF]" (PATH may itself start with "/"). */
const uprobe = (kind: string) => (rest: string | undefined) => {
  if (!rest) return undefined;
  const colon = rest.lastIndexOf(":");
  if (colon <= 0 || colon === rest.length - 1) return undefined;
  return `${kind}:${rest}`;
};

const slash = (name: string, progType: ProgTypeName, since: [number, number], more: Partial<Entry> = {}): Entry => ({ name, match: "slash", progType, since, ...more });
const exact = (name: string, progType: ProgTypeName, since: [number, number], more: Partial<Entry> = {}): Entry => ({ name, match: "exact", progType, since, ...more });
const prefix = (name: string, progType: ProgTypeName, since: [number, number], more: Partial<Entry> = {}): Entry => ({ name, match: "prefix", progType, since, ...more });
const sockAddr = (n: string, attachType: AttachTypeName, v: [number, number]) => exact(`cgroup/${n}`, "cgroup_sock_addr", v, { attachType });

/** Order matters only among "prefix" entries sharing a prefix: longer names come first. */
const TABLE: Entry[] = [
  // kprobes and uprobes
  slash("kprobe", "kprobe", [4, 1], { attach: probe("kprobe"), tailCalls: true }),
  slash("kretprobe", "kprobe", [4, 1], { attach: probe("kretprobe"), tailCalls: true }),
  slash("uprobe", "kprobe", [4, 3], { attach: uprobe("uprobe") }),
  slash("uretprobe", "kprobe", [4, 3], { attach: uprobe("uretprobe") }),
  slash("uprobe.s", "kprobe", [6, 0], { sleepable: true }),
  slash("uretprobe.s", "kprobe", [6, 0], { sleepable: true }),
  slash("ksyscall", "kprobe", [4, 1], { attach: probe("ksyscall") }),
  slash("kretsyscall", "kprobe", [4, 1], { attach: probe("kretsyscall") }),
  slash("kprobe.multi", "kprobe", [5, 18], { attachType: "BPF_TRACE_KPROBE_MULTI", attach: probe("kprobe.multi") }),
  slash("kretprobe.multi", "kprobe", [5, 18], { attachType: "BPF_TRACE_KPROBE_MULTI", attach: probe("kretprobe.multi") }),
  slash("uprobe.multi", "kprobe", [6, 6], { attachType: "BPF_TRACE_UPROBE_MULTI", attach: uprobe("uprobe.multi") }),
  slash("uretprobe.multi", "kprobe", [6, 6], { attachType: "BPF_TRACE_UPROBE_MULTI", attach: uprobe("uretprobe.multi") }),
  slash("uprobe.multi.s", "kprobe", [6, 6], { attachType: "BPF_TRACE_UPROBE_MULTI", sleepable: true, attach: uprobe("uprobe.multi") }),
  slash("uretprobe.multi.s", "kprobe", [6, 6], { attachType: "BPF_TRACE_UPROBE_MULTI", sleepable: true, attach: uprobe("uretprobe.multi") }),
  slash("usdt", "kprobe", [4, 3], { attach: uprobe("usdt") }),
  slash("usdt.s", "kprobe", [6, 0], { sleepable: true, attach: uprobe("usdt") }),
  // tracepoints
  slash("tracepoint", "tracepoint", [4, 7], { attach: tracepoint }),
  slash("tp", "tracepoint", [4, 7], { attach: tracepoint }),
  slash("raw_tracepoint", "raw_tracepoint", [4, 17], { attach: probe("raw_tracepoint") }),
  slash("raw_tp", "raw_tracepoint", [4, 17], { attach: probe("raw_tracepoint") }),
  slash("raw_tracepoint.w", "raw_tracepoint_writable", [5, 2]),
  slash("raw_tp.w", "raw_tracepoint_writable", [5, 2]),
  prefix("perf_event", "perf_event", [4, 9], { attach: fixed("perf_event") }),
  // BTF-based tracing: loaded against a kernel BTF type (attach_btf_id)
  slash("tp_btf", "tracing", [5, 5], { attachType: "BPF_TRACE_RAW_TP", btf: "btf_trace_", attach: probe("tp_btf") }),
  slash("fentry", "tracing", [5, 5], { attachType: "BPF_TRACE_FENTRY", btf: "", attach: probe("fentry") }),
  slash("fmod_ret", "tracing", [5, 7], { attachType: "BPF_MODIFY_RETURN", btf: "", attach: probe("fmod_ret") }),
  slash("fexit", "tracing", [5, 5], { attachType: "BPF_TRACE_FEXIT", btf: "", attach: probe("fexit") }),
  slash("fentry.s", "tracing", [5, 10], { attachType: "BPF_TRACE_FENTRY", btf: "", sleepable: true, attach: probe("fentry") }),
  slash("fmod_ret.s", "tracing", [5, 10], { attachType: "BPF_MODIFY_RETURN", btf: "", sleepable: true, attach: probe("fmod_ret") }),
  slash("fexit.s", "tracing", [5, 10], { attachType: "BPF_TRACE_FEXIT", btf: "", sleepable: true, attach: probe("fexit") }),
  slash("freplace", "ext", [5, 6], { btf: "" }),
  slash("lsm", "lsm", [5, 7], { attachType: "BPF_LSM_MAC", btf: "bpf_lsm_", attach: probe("lsm") }),
  slash("lsm.s", "lsm", [5, 11], { attachType: "BPF_LSM_MAC", btf: "bpf_lsm_", sleepable: true, attach: probe("lsm") }),
  slash("lsm_cgroup", "lsm", [6, 0], { attachType: "BPF_LSM_CGROUP", btf: "bpf_lsm_" }),
  slash("iter", "tracing", [5, 8], { attachType: "BPF_TRACE_ITER", btf: "bpf_iter_", attach: probe("iter") }),
  slash("iter.s", "tracing", [5, 17], { attachType: "BPF_TRACE_ITER", btf: "bpf_iter_", sleepable: true, attach: probe("iter") }),
  slash("struct_ops", "struct_ops", [5, 6]),
  slash("struct_ops.s", "struct_ops", [6, 2], { sleepable: true }),
  exact("syscall", "syscall", [5, 14], { sleepable: true }),
  // XDP
  exact("xdp.frags/devmap", "xdp", [5, 18], { attachType: "BPF_XDP_DEVMAP", frags: true }),
  exact("xdp/devmap", "xdp", [5, 8], { attachType: "BPF_XDP_DEVMAP", attach: fixed("xdp") }),
  exact("xdp.frags/cpumap", "xdp", [5, 18], { attachType: "BPF_XDP_CPUMAP", frags: true }),
  exact("xdp/cpumap", "xdp", [5, 9], { attachType: "BPF_XDP_CPUMAP", attach: fixed("xdp") }),
  exact("xdp.frags", "xdp", [5, 18], { attachType: "BPF_XDP", frags: true, attach: fixed("xdp") }),
  prefix("xdp", "xdp", [4, 8], { attachType: "BPF_XDP", optional: true, attach: fixed("xdp") }),
  // sockets, tc
  prefix("socket", "socket_filter", [3, 19], { attach: fixed("socket"), tailCalls: true }),
  exact("sk_reuseport/migrate", "sk_reuseport", [5, 14], { attachType: "BPF_SK_REUSEPORT_SELECT_OR_MIGRATE" }),
  exact("sk_reuseport", "sk_reuseport", [4, 19], { attachType: "BPF_SK_REUSEPORT_SELECT" }),
  exact("tc/ingress", "sched_cls", [6, 6], { attachType: "BPF_TCX_INGRESS" }),
  exact("tc/egress", "sched_cls", [6, 6], { attachType: "BPF_TCX_EGRESS" }),
  exact("tcx/ingress", "sched_cls", [6, 6], { attachType: "BPF_TCX_INGRESS" }),
  exact("tcx/egress", "sched_cls", [6, 6], { attachType: "BPF_TCX_EGRESS" }),
  slash("tc", "sched_cls", [4, 1]),
  prefix("classifier", "sched_cls", [4, 1]),
  prefix("action", "sched_act", [4, 1]),
  exact("netkit/primary", "sched_cls", [6, 7], { attachType: "BPF_NETKIT_PRIMARY" }),
  exact("netkit/peer", "sched_cls", [6, 7], { attachType: "BPF_NETKIT_PEER" }),
  exact("lwt_in", "lwt_in", [4, 10]),
  exact("lwt_out", "lwt_out", [4, 10]),
  exact("lwt_xmit", "lwt_xmit", [4, 10]),
  exact("lwt_seg6local", "lwt_seg6local", [4, 18]),
  prefix("sockops", "sock_ops", [4, 13], { attachType: "BPF_CGROUP_SOCK_OPS", optional: true }),
  exact("sk_skb/stream_parser", "sk_skb", [4, 14], { attachType: "BPF_SK_SKB_STREAM_PARSER", optional: true }),
  exact("sk_skb/stream_verdict", "sk_skb", [4, 14], { attachType: "BPF_SK_SKB_STREAM_VERDICT", optional: true }),
  exact("sk_skb/verdict", "sk_skb", [5, 13], { attachType: "BPF_SK_SKB_VERDICT", optional: true }),
  slash("sk_skb", "sk_skb", [4, 14]),
  exact("sk_msg", "sk_msg", [4, 17], { attachType: "BPF_SK_MSG_VERDICT", optional: true }),
  exact("lirc_mode2", "lirc_mode2", [4, 18], { attachType: "BPF_LIRC_MODE2", optional: true }),
  exact("flow_dissector", "flow_dissector", [4, 20], { attachType: "BPF_FLOW_DISSECTOR", optional: true }),
  exact("sk_lookup", "sk_lookup", [5, 9], { attachType: "BPF_SK_LOOKUP" }),
  exact("netfilter", "netfilter", [6, 4], { attachType: "BPF_NETFILTER" }),
  // cgroups
  exact("cgroup_skb/ingress", "cgroup_skb", [4, 10], { attachType: "BPF_CGROUP_INET_INGRESS", optional: true }),
  exact("cgroup_skb/egress", "cgroup_skb", [4, 10], { attachType: "BPF_CGROUP_INET_EGRESS", optional: true }),
  exact("cgroup/skb", "cgroup_skb", [4, 10]),
  exact("cgroup/sock_create", "cgroup_sock", [4, 10], { attachType: "BPF_CGROUP_INET_SOCK_CREATE" }),
  exact("cgroup/sock_release", "cgroup_sock", [5, 9], { attachType: "BPF_CGROUP_INET_SOCK_RELEASE" }),
  exact("cgroup/sock", "cgroup_sock", [4, 10], { attachType: "BPF_CGROUP_INET_SOCK_CREATE", optional: true }),
  exact("cgroup/post_bind4", "cgroup_sock", [4, 17], { attachType: "BPF_CGROUP_INET4_POST_BIND" }),
  exact("cgroup/post_bind6", "cgroup_sock", [4, 17], { attachType: "BPF_CGROUP_INET6_POST_BIND" }),
  sockAddr("bind4", "BPF_CGROUP_INET4_BIND", [4, 17]),
  sockAddr("bind6", "BPF_CGROUP_INET6_BIND", [4, 17]),
  sockAddr("connect4", "BPF_CGROUP_INET4_CONNECT", [4, 17]),
  sockAddr("connect6", "BPF_CGROUP_INET6_CONNECT", [4, 17]),
  sockAddr("connect_unix", "BPF_CGROUP_UNIX_CONNECT", [6, 7]),
  sockAddr("sendmsg4", "BPF_CGROUP_UDP4_SENDMSG", [4, 18]),
  sockAddr("sendmsg6", "BPF_CGROUP_UDP6_SENDMSG", [4, 18]),
  sockAddr("sendmsg_unix", "BPF_CGROUP_UNIX_SENDMSG", [6, 7]),
  sockAddr("recvmsg4", "BPF_CGROUP_UDP4_RECVMSG", [5, 2]),
  sockAddr("recvmsg6", "BPF_CGROUP_UDP6_RECVMSG", [5, 2]),
  sockAddr("recvmsg_unix", "BPF_CGROUP_UNIX_RECVMSG", [6, 7]),
  sockAddr("getpeername4", "BPF_CGROUP_INET4_GETPEERNAME", [5, 8]),
  sockAddr("getpeername6", "BPF_CGROUP_INET6_GETPEERNAME", [5, 8]),
  sockAddr("getpeername_unix", "BPF_CGROUP_UNIX_GETPEERNAME", [6, 7]),
  sockAddr("getsockname4", "BPF_CGROUP_INET4_GETSOCKNAME", [5, 8]),
  sockAddr("getsockname6", "BPF_CGROUP_INET6_GETSOCKNAME", [5, 8]),
  sockAddr("getsockname_unix", "BPF_CGROUP_UNIX_GETSOCKNAME", [6, 7]),
  exact("cgroup/sysctl", "cgroup_sysctl", [5, 2], { attachType: "BPF_CGROUP_SYSCTL" }),
  exact("cgroup/getsockopt", "cgroup_sockopt", [5, 3], { attachType: "BPF_CGROUP_GETSOCKOPT" }),
  exact("cgroup/setsockopt", "cgroup_sockopt", [5, 3], { attachType: "BPF_CGROUP_SETSOCKOPT" }),
  exact("cgroup/dev", "cgroup_device", [4, 15], { attachType: "BPF_CGROUP_DEVICE", optional: true }),
];

const BY_NAME = new Map(TABLE.filter((e) => e.match !== "prefix").map((e) => [e.name, e]));
const PREFIXES = TABLE.filter((e) => e.match === "prefix").sort((a, b) => b.name.length - a.name.length);

/** Every section name (or name prefix) the table knows, for help texts and tests. */
export const KNOWN_SECTION_NAMES: readonly string[] = TABLE.map((e) => (e.match === "slash" ? `${e.name}[/…]` : e.match === "prefix" ? `${e.name}…` : e.name));

/** The table's rows, for tests and documentation: name, how it matches, and what it gives. */
export function sectionTable(): { name: string; match: Match; program: SectionProgram }[] {
  return TABLE.map((e) => ({ name: e.name, match: e.match, program: build(e, undefined) }));
}

/**
 * Program type, expected attach type, flags, attach point and tail-call index from an ELF section
 * name; undefined for names the table does not know (".text", "maps", "license", data sections,
 * unknown program sections). A leading "?" (libbpf: autoload off) is reported as `autoload: false`.
 */
export function sectionToProgram(section: string): SectionProgram | undefined {
  if (section.startsWith("?")) {
    const sp = sectionToProgram(section.slice(1));
    return sp && { ...sp, autoload: false };
  }
  // exact names, and "name/rest" split at each slash from the left ("cgroup/skb" before "cgroup")
  const exactEntry = BY_NAME.get(section);
  if (exactEntry) return build(exactEntry, undefined);
  for (let i = section.indexOf("/"); i > 0; i = section.indexOf("/", i + 1)) {
    const e = BY_NAME.get(section.slice(0, i));
    if (e && e.match === "slash") return build(e, section.slice(i + 1));
  }
  for (const e of PREFIXES) {
    if (!section.startsWith(e.name)) continue;
    const rest = section.slice(e.name.length);
    // "socket/3": tail-call target (4.9 samples loader); "socket1", "socket": attachable
    if (rest.startsWith("/")) return build(e, rest.slice(1));
    return build(e, undefined);
  }
  return undefined;
}

function build(e: Entry, rest: string | undefined): SectionProgram {
  if (e.tailCalls && rest !== undefined && /^[0-9]+$/.test(rest)) {
    const n = Number(rest);
    if (n <= 0xffffffff) return { progType: e.progType, tailCallIndex: n, since: since(e.since) };
  }
  const out: SectionProgram = { progType: e.progType, since: since(e.since) };
  const attach = e.attach?.(e.match === "prefix" ? undefined : rest);
  if (attach !== undefined) out.attach = attach;
  if (e.attachType) {
    out.expectedAttachType = attachTypeValue(e.attachType);
    out.expectedAttachTypeName = e.attachType;
    if (e.optional) out.expectedAttachTypeOptional = true;
  }
  const flags = (e.sleepable ? BPF_F_SLEEPABLE : 0) | (e.frags ? BPF_F_XDP_HAS_FRAGS : 0);
  if (flags) out.progFlags = flags;
  if (e.btf !== undefined) {
    out.needsBtfTarget = true;
    if (rest) out.btfTarget = e.btf + rest;
  }
  return out;
}

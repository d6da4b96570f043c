// The one table from ELF section names to program types and attach points: libbpf's names
// (kprobe/, tracepoint/ and tp/, raw_tracepoint/ and raw_tp/, fentry/, cgroup/…) and the habits
// of Linux 4.9's samples/bpf loader (prefix matches such as "socket1" and "xdp1"; "kprobe/N",
// "kretprobe/N" and "socket/N" name tail-call targets for index N of the object's PROG_ARRAY).
// Pure data and string handling.

import type { ProgTypeName } from "../uapi.ts";

/** What a section name says about the programs in it. */
export interface SectionProgram {
  progType: ProgTypeName;
  /** Attach point in CLI syntax ("kprobe:FUNC", "tracepoint:CAT:NAME", …); absent when the name does not give one. */
  attach?: string;
  /** The section is "TYPE/N": the program belongs at index N of the object's PROG_ARRAY map (4.9 samples). */
  tailCallIndex?: number;
}

/**
 * How a table entry matches:
 * - "exact": the whole section name;
 * - "slash": the name itself or the name followed by "/…" (the rest is passed to `attach`);
 * - "prefix": any section name starting with it (the 4.9 samples loader used strncmp: "socket1", "xdp_prog").
 */
type Match = "exact" | "slash" | "prefix";

interface Entry {
  name: string;
  match: Match;
  progType: ProgTypeName;
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

/** Order matters only among "prefix" entries sharing a prefix: longer names come first. */
const TABLE: Entry[] = [
  // probes
  { name: "kprobe", match: "slash", progType: "kprobe", attach: probe("kprobe"), tailCalls: true },
  { name: "kretprobe", match: "slash", progType: "kprobe", attach: probe("kretprobe"), tailCalls: true },
  { name: "uprobe", match: "slash", progType: "kprobe", attach: uprobe("uprobe") },
  { name: "uretprobe", match: "slash", progType: "kprobe", attach: uprobe("uretprobe") },
  { name: "uprobe.s", match: "slash", progType: "kprobe" },
  { name: "uretprobe.s", match: "slash", progType: "kprobe" },
  { name: "ksyscall", match: "slash", progType: "kprobe" },
  { name: "kretsyscall", match: "slash", progType: "kprobe" },
  { name: "kprobe.multi", match: "slash", progType: "kprobe" },
  { name: "kretprobe.multi", match: "slash", progType: "kprobe" },
  { name: "usdt", match: "slash", progType: "kprobe" },
  // tracepoints
  { name: "tracepoint", match: "slash", progType: "tracepoint", attach: tracepoint },
  { name: "tp", match: "slash", progType: "tracepoint", attach: tracepoint },
  { name: "raw_tracepoint", match: "slash", progType: "raw_tracepoint", attach: probe("raw_tracepoint") },
  { name: "raw_tp", match: "slash", progType: "raw_tracepoint", attach: probe("raw_tracepoint") },
  { name: "raw_tracepoint.w", match: "slash", progType: "raw_tracepoint_writable" },
  { name: "raw_tp.w", match: "slash", progType: "raw_tracepoint_writable" },
  { name: "perf_event", match: "prefix", progType: "perf_event", attach: fixed("perf_event") },
  // BTF-based tracing (need kernel BTF to load; no attach point derived here)
  { name: "tp_btf", match: "slash", progType: "tracing" },
  { name: "fentry", match: "slash", progType: "tracing" },
  { name: "fexit", match: "slash", progType: "tracing" },
  { name: "fmod_ret", match: "slash", progType: "tracing" },
  { name: "fentry.s", match: "slash", progType: "tracing" },
  { name: "fexit.s", match: "slash", progType: "tracing" },
  { name: "fmod_ret.s", match: "slash", progType: "tracing" },
  { name: "iter", match: "slash", progType: "tracing" },
  { name: "iter.s", match: "slash", progType: "tracing" },
  { name: "freplace", match: "slash", progType: "ext" },
  { name: "lsm", match: "slash", progType: "lsm" },
  { name: "lsm.s", match: "slash", progType: "lsm" },
  { name: "lsm_cgroup", match: "slash", progType: "lsm" },
  { name: "struct_ops", match: "slash", progType: "struct_ops" },
  { name: "struct_ops.s", match: "slash", progType: "struct_ops" },
  { name: "syscall", match: "exact", progType: "syscall" },
  // networking
  { name: "socket", match: "prefix", progType: "socket_filter", attach: fixed("socket"), tailCalls: true },
  { name: "xdp", match: "prefix", progType: "xdp", attach: fixed("xdp") },
  { name: "classifier", match: "prefix", progType: "sched_cls" },
  { name: "tc", match: "slash", progType: "sched_cls" },
  { name: "tcx", match: "slash", progType: "sched_cls" },
  { name: "netkit", match: "slash", progType: "sched_cls" },
  { name: "action", match: "prefix", progType: "sched_act" },
  { name: "cgroup_skb", match: "slash", progType: "cgroup_skb" },
  { name: "cgroup/skb", match: "exact", progType: "cgroup_skb" },
  { name: "cgroup/sock", match: "exact", progType: "cgroup_sock" },
  { name: "cgroup/sock_create", match: "exact", progType: "cgroup_sock" },
  { name: "cgroup/sock_release", match: "exact", progType: "cgroup_sock" },
  { name: "cgroup/post_bind4", match: "exact", progType: "cgroup_sock" },
  { name: "cgroup/post_bind6", match: "exact", progType: "cgroup_sock" },
  ...["bind4", "bind6", "connect4", "connect6", "connect_unix", "sendmsg4", "sendmsg6", "sendmsg_unix",
    "recvmsg4", "recvmsg6", "recvmsg_unix", "getpeername4", "getpeername6", "getpeername_unix", "getsockname4",
    "getsockname6", "getsockname_unix"].map(
    (n): Entry => ({ name: `cgroup/${n}`, match: "exact", progType: "cgroup_sock_addr" }),
  ),
  { name: "cgroup/dev", match: "exact", progType: "cgroup_device" },
  { name: "cgroup/sysctl", match: "exact", progType: "cgroup_sysctl" },
  { name: "cgroup/getsockopt", match: "exact", progType: "cgroup_sockopt" },
  { name: "cgroup/setsockopt", match: "exact", progType: "cgroup_sockopt" },
  { name: "sockops", match: "prefix", progType: "sock_ops" },
  { name: "sk_skb", match: "slash", progType: "sk_skb" },
  { name: "sk_msg", match: "exact", progType: "sk_msg" },
  { name: "lwt_in", match: "exact", progType: "lwt_in" },
  { name: "lwt_out", match: "exact", progType: "lwt_out" },
  { name: "lwt_xmit", match: "exact", progType: "lwt_xmit" },
  { name: "lwt_seg6local", match: "exact", progType: "lwt_seg6local" },
  { name: "lirc_mode2", match: "exact", progType: "lirc_mode2" },
  { name: "sk_reuseport", match: "slash", progType: "sk_reuseport" },
  { name: "flow_dissector", match: "exact", progType: "flow_dissector" },
  { name: "sk_lookup", match: "exact", progType: "sk_lookup" },
  { name: "netfilter", match: "exact", progType: "netfilter" },
];

const BY_NAME = new Map(TABLE.filter((e) => e.match !== "prefix").map((e) => [e.name, e]));
const PREFIXES = TABLE.filter((e) => e.match === "prefix").sort((a, b) => b.name.length - a.name.length);

/** Every section name (or name prefix) the table knows, for help texts and tests. */
export const KNOWN_SECTION_NAMES: readonly string[] = TABLE.map((e) => (e.match === "slash" ? `${e.name}[/…]` : e.match === "prefix" ? `${e.name}…` : e.name));

/**
 * Program type, attach point and tail-call index from an ELF section name; undefined for names the
 * table does not know (".text", "maps", "license", data sections, unknown program sections).
 */
export function sectionToProgram(section: string): SectionProgram | undefined {
  // exact names, and "name/rest" split at each slash from the left ("cgroup/skb" before "cgroup")
  const exact = BY_NAME.get(section);
  if (exact) return build(exact, undefined);
  for (let slash = section.indexOf("/"); slash > 0; slash = section.indexOf("/", slash + 1)) {
    const e = BY_NAME.get(section.slice(0, slash));
    if (e && e.match === "slash") return build(e, section.slice(slash + 1));
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
    if (n <= 0xffffffff) return { progType: e.progType, tailCallIndex: n };
  }
  const out: SectionProgram = { progType: e.progType };
  const attach = e.attach?.(e.match === "prefix" ? undefined : rest);
  if (attach !== undefined) out.attach = attach;
  return out;
}

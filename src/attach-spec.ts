// Attach points as users write them (`kprobe:FUNC+OFF`, `tracepoint:CAT:NAME`), parsed into data,
// and the names bpfload gives the probe events it creates. Pure: no kernel access.
import { InvalidArgumentError, quote } from "./errors.ts";
import { formatRange, parseInteger, U32_MAX, type IntRange } from "./numbers.ts";
import type { AttachTypeName, ProgTypeName } from "./uapi.ts";

export type AttachSpec =
  | { kind: "kprobe"; func: string; offset: number }
  | { kind: "kretprobe"; func: string; maxactive?: number }
  /** A syscall by its name without prefix (`execve`): the kernel's symbol for it is found at attach (libbpf's ksyscall). */
  | { kind: "ksyscall" | "kretsyscall"; name: string }
  /** One BPF_TRACE_KPROBE_MULTI link on every function matching a glob (5.18+). */
  | { kind: "kprobe.multi" | "kretprobe.multi"; pattern: string }
  /** One BPF_TRACE_UPROBE_MULTI link on every function of PATH matching a glob (6.6+). */
  | { kind: "uprobe.multi" | "uretprobe.multi"; path: string; pattern: string }
  /** A USDT probe of a binary (its .note.stapsdt notes): a uprobe at each site, arguments in libbpf's spec map. */
  | { kind: "usdt"; path: string; provider: string; name: string }
  | { kind: "tracepoint"; category: string; name: string }
  | { kind: "raw_tracepoint"; name: string }
  /** `symbol` undefined: `offset` is a raw file offset; otherwise an offset from the symbol. */
  | { kind: "uprobe" | "uretprobe"; path: string; symbol?: string; offset: number }
  | { kind: "perf_event"; event: "cpu-clock" }
  | { kind: "socket"; iface: string }
  /** `mode` undefined: the kernel picks (native where the driver has it, else generic). */
  | { kind: "xdp"; iface: string; mode?: "generic" | "native" }
  | { kind: "tc"; iface: string; direction: "ingress" | "egress" }
  /** `attachType` (BPF_CGROUP_* name: ingress, egress, sock_create, ...) undefined: from the section. */
  | { kind: "cgroup"; path: string; attachType?: string }
  /** The flow dissector of bpfload's network namespace. */
  | { kind: "flow_dissector" }
  /** Socket lookup in a network namespace: a netns file path (/proc/PID/ns/net, /run/netns/NAME); undefined: bpfload's own. */
  | { kind: "sk_lookup"; netns?: string }
  /** A netfilter hook (6.4+ link): family, hook and priority (the hook's order; lower runs first). */
  | { kind: "netfilter"; family: "ipv4" | "ipv6"; hook: NetfilterHook; priority: number }
  /** A sockmap/sockhash: a map of the object by name, or a pinned one by path. */
  | { kind: "sk_msg"; map: string }
  | { kind: "sk_skb"; map: string; hook: "stream_verdict" | "stream_parser" | "verdict" }
  // BTF-based: the target is resolved at load (attach_btf_id), the attach is a bpf_link
  | { kind: BtfAttachKind; name: string }
  /** freplace: the function of another program that the program was loaded against (--target). */
  | { kind: "freplace"; func: string }
  /** A struct_ops variable of the object (SEC(".struct_ops")), registered with the kernel: not an --attach of its own. */
  | { kind: "struct_ops"; map: string };

export const NETFILTER_HOOKS = ["prerouting", "local_in", "forward", "local_out", "postrouting"] as const;
export type NetfilterHook = (typeof NETFILTER_HOOKS)[number];
/** The kernel refuses NF_IP_PRI_FIRST and NF_IP_PRI_LAST (INT_MIN, INT_MAX) for BPF links. */
const NF_PRIORITY: IntRange = { min: -(2n ** 31n) + 1n, max: 2n ** 31n - 2n };

/** Attach kinds whose program is loaded against a kernel BTF type and attached through a bpf_link. */
export const BTF_ATTACH_KINDS = ["tp_btf", "fentry", "fexit", "fmod_ret", "lsm", "iter"] as const;
export type BtfAttachKind = (typeof BTF_ATTACH_KINDS)[number];

/** For each BTF kind: expected attach type and the BTF name prefix of its target (libbpf's). */
const BTF_KIND_TARGET: Record<BtfAttachKind, { attachType: AttachTypeName; prefix: string; what: string }> = {
  tp_btf: { attachType: "BPF_TRACE_RAW_TP", prefix: "btf_trace_", what: "tracepoint name (tp_btf:sched_switch)" },
  fentry: { attachType: "BPF_TRACE_FENTRY", prefix: "", what: "kernel function (fentry:do_unlinkat)" },
  fexit: { attachType: "BPF_TRACE_FEXIT", prefix: "", what: "kernel function (fexit:do_unlinkat)" },
  fmod_ret: { attachType: "BPF_MODIFY_RETURN", prefix: "", what: "kernel function (fmod_ret:FUNC)" },
  lsm: { attachType: "BPF_LSM_MAC", prefix: "bpf_lsm_", what: "LSM hook (lsm:file_open)" },
  iter: { attachType: "BPF_TRACE_ITER", prefix: "bpf_iter_", what: "iterator target (iter:task)" },
};

export function isBtfAttachKind(kind: string): kind is BtfAttachKind {
  return (BTF_ATTACH_KINDS as readonly string[]).includes(kind);
}

/** What a program for this BTF attach point is loaded with: expected attach type and BTF target name. */
export function btfLoadTarget(s: AttachSpec & { kind: BtfAttachKind }): { attachType: AttachTypeName; btfTarget: string } {
  const t = BTF_KIND_TARGET[s.kind];
  return { attachType: t.attachType, btfTarget: t.prefix + s.name };
}

// (sk_lookup[:NETNS] and netfilter:FAMILY:HOOK[:PRIORITY] are left out of this list, which every
// error quotes and which must stay one readable line: their own errors say their syntax.)
export const ATTACH_SYNTAX =
  "kprobe:FUNC[+OFFSET], kretprobe:FUNC, tracepoint:CATEGORY:NAME, raw_tracepoint:NAME, uprobe:PATH:SYMBOL[+OFFSET], uprobe:PATH:0xFILEOFFSET, uretprobe:PATH:SYMBOL, perf_event[:cpu-clock], socket[:IFACE], xdp:IFACE[:generic|native], tc:IFACE:ingress|egress, cgroup:PATH[:ATTACH_TYPE], flow_dissector, sk_msg:MAP, sk_skb:MAP[:stream_verdict|stream_parser|verdict], tp_btf:NAME, fentry:FUNC, fexit:FUNC, fmod_ret:FUNC, lsm:HOOK, iter:TARGET, ksyscall:NAME, kprobe.multi:GLOB, uprobe.multi:PATH:GLOB, usdt:PATH:PROVIDER:NAME";

const SYMBOL = /^[A-Za-z_][A-Za-z0-9_.]*$/;
/** A function-name glob as libbpf takes them: `*` and `?` (at least one) among symbol characters. */
const GLOB = /^[A-Za-z0-9_.*?]+$/;
/** Does this function name hold a glob wildcard? */
export const isGlob = (name: string): boolean => /[*?]/.test(name);
/** A glob (`*` any run, `?` one character; no classes, as libbpf's glob_match) as an anchored RegExp. */
export function globToRegExp(glob: string): RegExp {
  const body = glob.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".");
  return new RegExp(`^${body}$`);
}
/** USDT provider and probe names: C identifiers (sys/sdt.h pastes them into symbol names). */
const USDT_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const TP_PART = /^[A-Za-z0-9_]+$/;

/** struct kprobe's offset is an unsigned int. */
const KPROBE_OFFSET: IntRange = { min: 0n, max: U32_MAX };
/**
 * A uprobe's file offset (or symbol offset): u64 for the kernel, which refuses any beyond the file's
 * size; bpfload keeps it exact up to 2^53-1, far more than any file, and refuses the rest.
 */
const FILE_OFFSET: IntRange = { min: 0n, max: BigInt(Number.MAX_SAFE_INTEGER) };

const NUMBER = /^(0x[0-9a-f]+|\d+)$/i;

/**
 * What a uprobe path may not hold: NUL (no kernel path API takes one) and the other control
 * characters (C0, DEL, C1) and line/paragraph separators, which are never meant. Spaces are kept:
 * the perf PMU takes them (the tracefs writer refuses them with its own message).
 */
const PATH_CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

/** An offset in decimal or 0x hex, within `range`: parsed exactly (BigInt), never wrapped. */
function parseOffset(text: string, spec: string, range: IntRange, what: string): number {
  const bad = (why: string) => new InvalidArgumentError("attach", `bad offset ${quote(text)} in attach point ${quote(spec, 80)}: ${why}`);
  if (!NUMBER.test(text)) throw bad("use a decimal or 0x hex number");
  try {
    return parseInteger(text, range, what)!;
  } catch {
    throw bad(`out of range: ${what} is ${formatRange(range)}`);
  }
}

export function parseAttachSpec(spec: string): AttachSpec {
  const colon = spec.indexOf(":");
  const kind = colon < 0 ? spec : spec.slice(0, colon);
  const rest = colon < 0 ? "" : spec.slice(colon + 1);
  const bad = (why: string) => new InvalidArgumentError("attach", `bad attach point ${quote(spec, 80)}: ${why} (expected ${ATTACH_SYNTAX})`);
  switch (kind) {
    case "kprobe":
    case "p": {
      const [func = "", off] = rest.split("+");
      if (isGlob(func)) {
        if (!GLOB.test(func)) throw bad("invalid kernel function glob (letters, digits, _ . * ?)");
        if (off !== undefined) throw bad("a glob takes no offset");
        return { kind: "kprobe", func, offset: 0 };
      }
      if (!SYMBOL.test(func)) throw bad("missing or invalid kernel function name");
      return { kind: "kprobe", func, offset: off === undefined ? 0 : parseOffset(off, spec, KPROBE_OFFSET, "a kprobe offset (u32)") };
    }
    case "kretprobe":
    case "r": {
      if (rest.includes("+")) throw bad("a kretprobe takes no offset");
      if (!(isGlob(rest) ? GLOB : SYMBOL).test(rest)) throw bad("missing or invalid kernel function name");
      return { kind: "kretprobe", func: rest };
    }
    case "ksyscall":
    case "kretsyscall": {
      // libbpf's ksyscall/NAME: the syscall's name, without sys_ or an arch prefix
      if (!/^[a-z0-9_]+$/.test(rest)) throw bad(`give the syscall's name (${kind}:execve)`);
      return { kind, name: rest };
    }
    case "kprobe.multi":
    case "kretprobe.multi": {
      if (!GLOB.test(rest)) throw bad(`give a kernel function name or glob (${kind}:vfs_*)`);
      return { kind, pattern: rest };
    }
    case "uprobe.multi":
    case "uretprobe.multi": {
      const colon = rest.lastIndexOf(":");
      const path = rest.slice(0, colon);
      const pattern = rest.slice(colon + 1);
      if (colon <= 0 || !path.startsWith("/")) throw bad(`give an absolute path and a function glob (${kind}:/usr/lib/libc.so.6:malloc*)`);
      if (PATH_CONTROL.test(path)) throw bad(`the path ${quote(path)} holds a control character (no file is named so on purpose)`);
      if (!GLOB.test(pattern)) throw bad(`invalid function glob ${quote(pattern)}`);
      return { kind, path, pattern };
    }
    case "usdt": {
      // usdt:PATH:PROVIDER:NAME; the path may hold colons, provider and name may not
      const parts = rest.split(":");
      const name = parts.pop() ?? "";
      const provider = parts.pop() ?? "";
      const path = parts.join(":");
      if (!path.startsWith("/")) throw bad("give an absolute path, the provider and the probe name (usdt:/usr/bin/python3:python:function__entry)");
      if (PATH_CONTROL.test(path)) throw bad(`the path ${quote(path)} holds a control character (no file is named so on purpose)`);
      if (!USDT_NAME.test(provider) || !USDT_NAME.test(name)) throw bad("the provider and the probe name are C identifiers (usdt:PATH:PROVIDER:NAME)");
      return { kind, path, provider, name };
    }
    case "tracepoint":
    case "tp": {
      const parts = rest.split(/[:/]/);
      if (parts.length !== 2 || !parts.every((p) => TP_PART.test(p))) throw bad("give the category and the event name");
      return { kind: "tracepoint", category: parts[0]!, name: parts[1]! };
    }
    case "raw_tracepoint":
    case "raw_tp": {
      if (!TP_PART.test(rest)) throw bad("give the tracepoint name (e.g. raw_tracepoint:sched_switch)");
      return { kind: "raw_tracepoint", name: rest };
    }
    case "uprobe":
    case "uretprobe": {
      const colon = rest.lastIndexOf(":");
      const path = rest.slice(0, colon);
      const target = rest.slice(colon + 1);
      if (colon <= 0 || !path.startsWith("/") || !target) throw bad("give an absolute path and a symbol or file offset (uprobe:/bin/bash:readline)");
      if (PATH_CONTROL.test(path)) throw bad(`the path ${quote(path)} holds a control character (no file is named so on purpose)`);
      if (NUMBER.test(target)) return { kind, path, offset: parseOffset(target, spec, FILE_OFFSET, "a file offset") };
      const [symbol = "", off] = target.split("+");
      if (!SYMBOL.test(symbol)) throw bad(`invalid symbol ${quote(symbol)}`);
      if (kind === "uretprobe" && off !== undefined) throw bad("a uretprobe takes no offset");
      return { kind, path, symbol, offset: off === undefined ? 0 : parseOffset(off, spec, FILE_OFFSET, "an offset from a symbol") };
    }
    case "perf_event": {
      if (rest && rest !== "cpu-clock") throw bad(`unknown perf event ${quote(rest)} (bpfload samples cpu-clock)`);
      return { kind: "perf_event", event: "cpu-clock" };
    }
    case "socket": {
      if (rest && !/^[A-Za-z0-9_.:@-]{1,15}$/.test(rest)) throw bad(`invalid interface name ${quote(rest)}`);
      return { kind: "socket", iface: rest || "lo" };
    }
    case "xdp": {
      const [iface = "", mode, ...more] = rest.split(":");
      if (!IFACE.test(iface)) throw bad("give the interface (xdp:eth0, xdp:eth0:generic)");
      if (more.length || (mode !== undefined && mode !== "generic" && mode !== "native")) throw bad("the XDP mode is generic or native");
      return mode ? { kind: "xdp", iface, mode } : { kind: "xdp", iface };
    }
    case "tc": {
      const [iface = "", direction, ...more] = rest.split(":");
      if (!IFACE.test(iface)) throw bad("give the interface and the direction (tc:eth0:ingress)");
      if (more.length || (direction !== "ingress" && direction !== "egress")) throw bad("the direction is ingress or egress (tc:eth0:ingress)");
      return { kind: "tc", iface, direction };
    }
    case "cgroup": {
      // cgroup:PATH or cgroup:PATH:TYPE, TYPE a name without slashes (ingress, egress, sock_create...)
      const colon = rest.lastIndexOf(":");
      const tail = colon > 0 ? rest.slice(colon + 1) : "";
      const typed = /^[a-z][a-z0-9_]*$/.test(tail);
      const path = typed ? rest.slice(0, colon) : rest;
      if (!path.startsWith("/")) throw bad("give the cgroup directory's absolute path (cgroup:/sys/fs/cgroup/test)");
      return typed ? { kind: "cgroup", path, attachType: tail } : { kind: "cgroup", path };
    }
    case "flow_dissector": {
      if (rest) throw bad("flow_dissector attaches to bpfload's own network namespace and takes no argument");
      return { kind: "flow_dissector" };
    }
    case "sk_lookup": {
      // NETNS: a namespace file (absolute path) or a name `ip netns` made (/run/netns/NAME)
      if (!rest) return { kind: "sk_lookup" };
      if (rest.startsWith("/")) {
        if (PATH_CONTROL.test(rest)) throw bad(`the path ${quote(rest)} holds a control character`);
        return { kind: "sk_lookup", netns: rest };
      }
      if (!/^[A-Za-z0-9_.-]{1,64}$/.test(rest) || rest === "." || rest === "..") throw bad("give a network namespace: a path (/proc/PID/ns/net) or a name of `ip netns` (sk_lookup:blue)");
      return { kind: "sk_lookup", netns: `/run/netns/${rest}` };
    }
    case "netfilter": {
      const [family = "", hook = "", prio, ...more] = rest.split(":");
      if (family !== "ipv4" && family !== "ipv6") throw bad("give the family and the hook: netfilter:ipv4:local_in[:PRIORITY] (family ipv4 or ipv6)");
      if (!(NETFILTER_HOOKS as readonly string[]).includes(hook) || more.length) throw bad(`the netfilter hook is one of ${NETFILTER_HOOKS.join(", ")} (netfilter:${family}:local_in)`);
      let priority = 0;
      if (prio !== undefined) {
        if (!/^-?\d+$/.test(prio)) throw bad(`the priority ${quote(prio)} is not an integer`);
        priority = Number(prio);
        if (!(priority >= Number(NF_PRIORITY.min) && priority <= Number(NF_PRIORITY.max))) throw bad(`the priority is ${formatRange(NF_PRIORITY)} (the first and last are the kernel's own)`);
      }
      return { kind: "netfilter", family, hook: hook as NetfilterHook, priority };
    }
    case "sk_msg":
    case "sk_skb": {
      // MAP: a map name of the object, or a pin path (which may hold colons: the hook is the last part)
      const colon = rest.lastIndexOf(":");
      const last = colon >= 0 ? rest.slice(colon + 1) : "";
      const hooked = kind === "sk_skb" && ["stream_verdict", "stream_parser", "verdict"].includes(last);
      const map = hooked ? rest.slice(0, colon) : rest;
      if (!map.startsWith("/") && !/^[A-Za-z_.][A-Za-z0-9_.]*$/.test(map)) throw bad(`give the sockmap or sockhash: a map of the object by name, or a pin path (${kind}:socks)`);
      if (kind === "sk_msg") return { kind, map };
      return { kind, map, hook: hooked ? (last as "stream_verdict" | "stream_parser" | "verdict") : "stream_verdict" };
    }
    default:
      if (isBtfAttachKind(kind)) {
        if (!SYMBOL.test(rest) || rest.includes(".")) throw bad(`give the ${BTF_KIND_TARGET[kind].what}`);
        return { kind, name: rest };
      }
      throw bad(`unknown kind ${quote(kind)}`);
  }
}

/** Linux interface names: up to 15 bytes (IFNAMSIZ - 1), no slash, colon or space. */
const IFACE = /^[A-Za-z0-9_.@-]{1,15}$/;

export function formatAttachSpec(s: AttachSpec): string {
  switch (s.kind) {
    case "kprobe":
      return `kprobe:${s.func}${s.offset ? `+${s.offset}` : ""}`;
    case "kretprobe":
      return `kretprobe:${s.func}`;
    case "ksyscall":
    case "kretsyscall":
      return `${s.kind}:${s.name}`;
    case "kprobe.multi":
    case "kretprobe.multi":
      return `${s.kind}:${s.pattern}`;
    case "uprobe.multi":
    case "uretprobe.multi":
      return `${s.kind}:${s.path}:${s.pattern}`;
    case "usdt":
      return `usdt:${s.path}:${s.provider}:${s.name}`;
    case "tracepoint":
      return `tracepoint:${s.category}:${s.name}`;
    case "raw_tracepoint":
      return `raw_tracepoint:${s.name}`;
    case "uprobe":
    case "uretprobe":
      return `${s.kind}:${s.path}:${s.symbol === undefined ? `0x${s.offset.toString(16)}` : `${s.symbol}${s.offset ? `+${s.offset}` : ""}`}`;
    case "perf_event":
      return `perf_event:${s.event}`;
    case "socket":
      return `socket:${s.iface}`;
    case "xdp":
      return `xdp:${s.iface}${s.mode ? `:${s.mode}` : ""}`;
    case "tc":
      return `tc:${s.iface}:${s.direction}`;
    case "cgroup":
      return `cgroup:${s.path}${s.attachType ? `:${s.attachType}` : ""}`;
    case "flow_dissector":
      return "flow_dissector";
    case "sk_lookup":
      return s.netns === undefined ? "sk_lookup" : `sk_lookup:${s.netns.startsWith("/run/netns/") && !s.netns.slice(11).includes("/") ? s.netns.slice(11) : s.netns}`;
    case "netfilter":
      return `netfilter:${s.family}:${s.hook}${s.priority ? `:${s.priority}` : ""}`;
    case "sk_msg":
      return `sk_msg:${s.map}`;
    case "sk_skb":
      return `sk_skb:${s.map}:${s.hook}`;
    case "freplace":
      return `freplace:${s.func}`;
    case "struct_ops":
      return `struct_ops:${s.map}`;
    default:
      return `${s.kind}:${s.name}`;
  }
}

/** The program type an attach point needs when the user did not say. */
export function progTypeFor(s: AttachSpec): ProgTypeName {
  switch (s.kind) {
    case "kprobe":
    case "kretprobe":
    case "ksyscall":
    case "kretsyscall":
    case "kprobe.multi":
    case "kretprobe.multi":
    case "uprobe.multi":
    case "uretprobe.multi":
    case "usdt":
    case "uprobe":
    case "uretprobe":
      return "kprobe";
    case "socket":
      return "socket_filter";
    case "tc":
      return "sched_cls";
    case "cgroup":
      return "cgroup_skb";
    case "lsm":
      return "lsm";
    case "tp_btf":
    case "fentry":
    case "fexit":
    case "fmod_ret":
    case "iter":
      return "tracing";
    case "freplace":
      return "ext";
    default:
      return s.kind;
  }
}

/** tracefs group of every probe event bpfload creates. */
export const EVENT_GROUP = "bpfload";
const MAX_EVENT_NAME = 63;

/**
 * Who created a probe event, in terms that stay true across PID namespaces: the pid (meaningful
 * only inside `pidns`), the process start time (field 22 of /proc/PID/stat, clock ticks since boot:
 * a reused pid has another) and the inode of the creator's PID namespace (/proc/self/ns/pid).
 */
export interface EventOwner {
  pid: number;
  /** Undefined for names made by older bpfload versions, which carried the pid only. */
  start?: number;
  pidns?: number;
}

/**
 * Event name for a probe bpfload creates: `bpfload2_<pid>_<start>_<pidns>_<seq>_<label>`, numbers
 * in base 36 to stay well inside the kernel's 63 characters (about 34 before the label). The
 * sequence makes it unique within the process; the label is what it probes, for people.
 */
export function probeEventName(owner: Required<EventOwner>, seq: number, label: string): string {
  const b36 = (n: number) => n.toString(36);
  const prefix = `bpfload2_${b36(owner.pid)}_${b36(owner.start)}_${b36(owner.pidns)}_${b36(seq)}_`;
  const clean = label.replace(/[^A-Za-z0-9_]/g, "_");
  return (prefix + clean).slice(0, MAX_EVENT_NAME);
}

/** The owner of an event bpfload created, or undefined if the name is not one of ours. */
export function probeEventOwner(event: string): EventOwner | undefined {
  const m = event.match(/^bpfload2_([0-9a-z]{1,13})_([0-9a-z]{1,13})_([0-9a-z]{1,13})_[0-9a-z]+_/);
  if (m) return { pid: parseInt(m[1]!, 36), start: parseInt(m[2]!, 36), pidns: parseInt(m[3]!, 36) };
  // `bpfload_<pid>_<seq>_<func>`: names of bpfload versions before the start time and namespace
  // were added. Still swept by pid alone, as those versions did, so an upgrade does not strand
  // the leftovers of their SIGKILLed runs (the namespace blind spot remains for those names only).
  const old = event.match(/^bpfload_(\d{1,10})_\d+_/);
  return old ? { pid: Number(old[1]) } : undefined;
}

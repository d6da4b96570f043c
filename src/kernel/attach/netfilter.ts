// A netfilter hook (BPF_NETFILTER, 6.4+): a bpf_link with the protocol family, the hook and its
// priority; the program's verdict is NF_DROP (0) or NF_ACCEPT (1). Only a link exists for it, so it
// goes away with bpfload's fd, even after a SIGKILL: nothing to record. Without a priority bpfload
// asks for 0 (where iptables' filter table sits; lower numbers run first).
import { formatAttachSpec, NETFILTER_HOOKS, type AttachSpec } from "../../attach-spec.ts";
import { BPF_ATTACH } from "../../net/attach-types.ts";
import { bpfLinkCreate } from "../../sys/bpf.ts";
import { FdLink, type Link } from "./perf-link.ts";
import type { Program } from "../program.ts";
import { hookError } from "./common.ts";
import { ERRNO } from "../../errors.ts";

/** NFPROTO_* (linux/netfilter.h). */
const NFPROTO = { ipv4: 2, ipv6: 10 } as const;
const { EINVAL, EOPNOTSUPP, EAFNOSUPPORT, EBUSY } = ERRNO;

export function attachNetfilter(prog: Program, spec: AttachSpec & { kind: "netfilter" }): Link {
  const target = formatAttachSpec(spec);
  const what = `attach '${prog.name}' to ${target}`;
  // enum nf_inet_hooks: NF_INET_PRE_ROUTING 0 .. NF_INET_POST_ROUTING 4, in NETFILTER_HOOKS' order
  const hooknum = NETFILTER_HOOKS.indexOf(spec.hook);
  const r = bpfLinkCreate({ progFd: prog.fd, target: 0, attachType: BPF_ATTACH.netfilter, netfilter: { pf: NFPROTO[spec.family], hooknum, priority: spec.priority } });
  if (r.ret >= 0) return new FdLink(`${target} (netfilter link)`, r.ret);
  const hint =
    r.errno === EINVAL
      ? "netfilter programs attach through a bpf_link (Linux 6.4), loaded as netfilter with expected attach type BPF_NETFILTER (section \"netfilter\")"
      : r.errno === EAFNOSUPPORT || r.errno === EOPNOTSUPP
        ? `this kernel has no ${spec.family} netfilter (CONFIG_NETFILTER, nf_conntrack/${spec.family === "ipv4" ? "CONFIG_NF_DEFRAG_IPV4" : "CONFIG_IPV6"})`
        : r.errno === EBUSY
          ? "a hook with the same priority is there already: pick another (netfilter:FAMILY:HOOK:PRIORITY)"
          : undefined;
  throw hookError(what, "BPF_LINK_CREATE", r.errno, hint);
}

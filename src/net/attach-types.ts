// enum bpf_attach_type values for the network and cgroup hooks, and which one a section name
// means (libbpf's names). Pure. To fold into sections.ts once its table carries attach types.

/** enum bpf_attach_type (linux/bpf.h); checked against the header in test/net/attach-types.test.ts. */
export const BPF_ATTACH = {
  cgroup_inet_ingress: 0,
  cgroup_inet_egress: 1,
  cgroup_inet_sock_create: 2,
  cgroup_sock_ops: 3,
  sk_skb_stream_parser: 4,
  sk_skb_stream_verdict: 5,
  cgroup_device: 6,
  sk_msg_verdict: 7,
  cgroup_inet4_bind: 8,
  cgroup_inet6_bind: 9,
  cgroup_inet4_connect: 10,
  cgroup_inet6_connect: 11,
  cgroup_inet4_post_bind: 12,
  cgroup_inet6_post_bind: 13,
  cgroup_udp4_sendmsg: 14,
  cgroup_udp6_sendmsg: 15,
  flow_dissector: 17,
  cgroup_sysctl: 18,
  cgroup_udp4_recvmsg: 19,
  cgroup_udp6_recvmsg: 20,
  cgroup_getsockopt: 21,
  cgroup_setsockopt: 22,
  cgroup_inet4_getpeername: 29,
  cgroup_inet6_getpeername: 30,
  cgroup_inet4_getsockname: 31,
  cgroup_inet6_getsockname: 32,
  cgroup_inet_sock_release: 34,
  sk_lookup: 36,
  xdp: 37,
  netfilter: 45,
  tcx_ingress: 46,
  tcx_egress: 47,
} as const;

/** The cgroup attach types by the short names `cgroup:PATH:TYPE` takes (and libbpf's section suffixes). */
export const CGROUP_ATTACH: Record<string, number> = {
  ingress: BPF_ATTACH.cgroup_inet_ingress,
  egress: BPF_ATTACH.cgroup_inet_egress,
  sock_create: BPF_ATTACH.cgroup_inet_sock_create,
  sock_release: BPF_ATTACH.cgroup_inet_sock_release,
  sockops: BPF_ATTACH.cgroup_sock_ops,
  dev: BPF_ATTACH.cgroup_device,
  bind4: BPF_ATTACH.cgroup_inet4_bind,
  bind6: BPF_ATTACH.cgroup_inet6_bind,
  connect4: BPF_ATTACH.cgroup_inet4_connect,
  connect6: BPF_ATTACH.cgroup_inet6_connect,
  post_bind4: BPF_ATTACH.cgroup_inet4_post_bind,
  post_bind6: BPF_ATTACH.cgroup_inet6_post_bind,
  sendmsg4: BPF_ATTACH.cgroup_udp4_sendmsg,
  sendmsg6: BPF_ATTACH.cgroup_udp6_sendmsg,
  recvmsg4: BPF_ATTACH.cgroup_udp4_recvmsg,
  recvmsg6: BPF_ATTACH.cgroup_udp6_recvmsg,
  sysctl: BPF_ATTACH.cgroup_sysctl,
  getsockopt: BPF_ATTACH.cgroup_getsockopt,
  setsockopt: BPF_ATTACH.cgroup_setsockopt,
  getpeername4: BPF_ATTACH.cgroup_inet4_getpeername,
  getpeername6: BPF_ATTACH.cgroup_inet6_getpeername,
  getsockname4: BPF_ATTACH.cgroup_inet4_getsockname,
  getsockname6: BPF_ATTACH.cgroup_inet6_getsockname,
};

/**
 * The cgroup attach type name a section implies: "cgroup_skb/ingress" → ingress, "cgroup/connect4"
 * → connect4, "cgroup/sock" → sock_create, "sockops" → sockops; undefined when the section does not
 * say ("cgroup/skb": ingress or egress is the user's choice).
 */
export function cgroupAttachFromSection(section: string): string | undefined {
  const skb = section.match(/^cgroup_skb\/(ingress|egress)$/);
  if (skb) return skb[1];
  if (section.startsWith("sockops")) return "sockops";
  const m = section.match(/^cgroup\/([a-z0-9_]+)$/);
  if (!m) return undefined;
  const name = m[1] === "sock" ? "sock_create" : m[1]!;
  return name in CGROUP_ATTACH ? name : undefined;
}

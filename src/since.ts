// Which kernel version brought what, so an error on an older kernel can say what is missing and
// where it arrived instead of a bare EINVAL. Pure data (from the kernel's history; see
// ../shared/design/KERNEL-FACTS.md for the loader-relevant rows).
import type { MapTypeName, ProgTypeName } from "./uapi.ts";

type V = [number, number];

export const FEATURE_SINCE = {
  "kretprobe maxactive": [4, 12],
  "program and map ids": [4, 13],
  "BPF on syscalls:* tracepoints": [4, 14],
  "program and map names": [4, 15],
  "BPF-to-BPF calls": [4, 16],
  "kprobe/uprobe perf PMU": [4, 17],
  "raw tracepoints": [4, 17],
  expected_attach_type: [4, 17],
  BTF: [4, 18],
  "kern_version check removed": [5, 0],
  "BTF functions (FUNC, FUNC_PROTO)": [5, 0],
  "BTF variables (VAR, DATASEC)": [5, 2],
  "global data (.data/.rodata/.bss)": [5, 2],
  "1M instruction limit": [5, 2],
  "verifier log of up to 1 GiB": [5, 2],
  "BTF global functions": [5, 6],
  "bpf_probe_read_kernel/_user": [5, 5],
  bpf_link: [5, 7],
  "run-time statistics (BPF_ENABLE_STATS)": [5, 8],
  "memcg accounting instead of RLIMIT_MEMLOCK": [5, 11],
  "BTF_KIND_FLOAT": [5, 13],
  "bpf_link for perf events": [5, 15],
  "BTF_KIND_DECL_TAG": [5, 16],
  "BTF_KIND_TYPE_TAG": [5, 17],
  "BTF_KIND_ENUM64": [6, 0],
  "rotating verifier log": [6, 4],
  "verifier log_true_size": [6, 4],
  BPF_PROG_TEST_RUN: [4, 12],
  "BPF_PROG_TEST_RUN ctx_in for raw_tracepoint": [5, 10],
  "BPF_PROG_TEST_RUN for tracing programs": [5, 5],
  "XDP bpf_link": [5, 9],
  "netfilter bpf_link": [6, 4],
  "tcx links": [6, 6],
  "sk_lookup programs and netns links": [5, 9],
} satisfies Record<string, V>;

export const PROG_TYPE_SINCE: Partial<Record<ProgTypeName, V>> = {
  socket_filter: [3, 19], kprobe: [4, 1], sched_cls: [4, 1], sched_act: [4, 1], tracepoint: [4, 7], xdp: [4, 8],
  perf_event: [4, 9], cgroup_skb: [4, 10], cgroup_sock: [4, 10], lwt_in: [4, 10], lwt_out: [4, 10], lwt_xmit: [4, 10],
  sock_ops: [4, 13], sk_skb: [4, 14], cgroup_device: [4, 15], sk_msg: [4, 17], raw_tracepoint: [4, 17],
  cgroup_sock_addr: [4, 17], lwt_seg6local: [4, 18], lirc_mode2: [4, 18], sk_reuseport: [4, 19], flow_dissector: [4, 20],
  cgroup_sysctl: [5, 2], raw_tracepoint_writable: [5, 2], cgroup_sockopt: [5, 3], tracing: [5, 5], struct_ops: [5, 6],
  ext: [5, 6], lsm: [5, 7], sk_lookup: [5, 9], syscall: [5, 14], netfilter: [6, 4],
};

export const MAP_TYPE_SINCE: Partial<Record<MapTypeName, V>> = {
  hash: [3, 19], array: [3, 19], prog_array: [4, 2], perf_event_array: [4, 3], percpu_hash: [4, 6], percpu_array: [4, 6],
  stack_trace: [4, 6], cgroup_array: [4, 8], lru_hash: [4, 10], lru_percpu_hash: [4, 10], lpm_trie: [4, 11],
  array_of_maps: [4, 12], hash_of_maps: [4, 12], devmap: [4, 14], sockmap: [4, 14], cpumap: [4, 15], xskmap: [4, 18],
  sockhash: [4, 18], cgroup_storage: [4, 19], reuseport_sockarray: [4, 19], percpu_cgroup_storage: [4, 20], queue: [4, 20],
  stack: [4, 20], sk_storage: [5, 2], devmap_hash: [5, 4], struct_ops: [5, 6], ringbuf: [5, 8], inode_storage: [5, 10],
  task_storage: [5, 11], bloom_filter: [5, 16], user_ringbuf: [6, 1], cgrp_storage: [6, 2], arena: [6, 9],
};

export type FeatureKey = keyof typeof FEATURE_SINCE;

export const since = (v: V): string => `${v[0]}.${v[1]}`;

/** Is `v` newer than the running kernel's version code? */
export function newerThan(v: V, kernel: number): boolean {
  return kernel < (v[0] << 16) + (v[1] << 8);
}

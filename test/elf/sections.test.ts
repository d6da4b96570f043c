// The section-name table: libbpf names and the 4.9 samples' names.
import { expect, test } from "bun:test";
import { sectionToProgram } from "../../src/elf/index.ts";

const cases: [string, Partial<NonNullable<ReturnType<typeof sectionToProgram>>> | undefined][] = [
  // kprobes (libbpf and samples/bpf)
  ["kprobe/sys_write", { progType: "kprobe", attach: "kprobe:sys_write" }],
  ["kprobe/SyS_clone", { progType: "kprobe", attach: "kprobe:SyS_clone" }],
  ["kprobe/tcp_v4_connect+16", { progType: "kprobe", attach: "kprobe:tcp_v4_connect+16" }],
  ["kprobe/__x64_sys_clone", { progType: "kprobe", attach: "kprobe:__x64_sys_clone" }],
  ["kretprobe/sys_write", { progType: "kprobe", attach: "kretprobe:sys_write" }],
  ["kprobe", { progType: "kprobe" }],
  ["kprobe/", { progType: "kprobe" }],
  ["kretprobe", { progType: "kprobe" }],
  // 4.9 samples tail-call targets
  ["kprobe/9", { progType: "kprobe", tailCallIndex: 9 }],
  ["kprobe/0", { progType: "kprobe", tailCallIndex: 0 }],
  ["kretprobe/12", { progType: "kprobe", tailCallIndex: 12 }],
  ["socket/3", { progType: "socket_filter", tailCallIndex: 3 }],
  // sockets: prefix match as in the 4.9 loader
  ["socket", { progType: "socket_filter", attach: "socket" }],
  ["socket1", { progType: "socket_filter", attach: "socket" }],
  ["socket_filter_x", { progType: "socket_filter", attach: "socket" }],
  // uprobes
  ["uprobe//bin/bash:readline", { progType: "kprobe", attach: "uprobe:/bin/bash:readline" }],
  ["uprobe/libc.so.6:malloc+0x10", { progType: "kprobe", attach: "uprobe:libc.so.6:malloc+0x10" }],
  ["uretprobe//usr/lib/libc.so.6:free", { progType: "kprobe", attach: "uretprobe:/usr/lib/libc.so.6:free" }],
  ["uprobe", { progType: "kprobe" }],
  ["uprobe/nocolon", { progType: "kprobe" }],
  ["ksyscall/clone", { progType: "kprobe", attach: "ksyscall:clone" }],
  ["usdt/x:y:z", { progType: "kprobe", attach: "usdt:x:y:z" }],
  // tracepoints
  ["tracepoint/syscalls/sys_enter_open", { progType: "tracepoint", attach: "tracepoint:syscalls:sys_enter_open" }],
  ["tp/sched/sched_switch", { progType: "tracepoint", attach: "tracepoint:sched:sched_switch" }],
  ["tracepoint/raw_syscalls/sys_enter", { progType: "tracepoint", attach: "tracepoint:raw_syscalls:sys_enter" }],
  ["tracepoint/nocategory", { progType: "tracepoint" }],
  ["tracepoint", { progType: "tracepoint" }],
  ["raw_tracepoint/sched_switch", { progType: "raw_tracepoint", attach: "raw_tracepoint:sched_switch" }],
  ["raw_tp/sys_enter", { progType: "raw_tracepoint", attach: "raw_tracepoint:sys_enter" }],
  ["raw_tp", { progType: "raw_tracepoint" }],
  ["raw_tp.w/x", { progType: "raw_tracepoint_writable" }],
  ["perf_event", { progType: "perf_event", attach: "perf_event" }],
  // BTF tracing
  ["fentry/do_unlinkat", { progType: "tracing", attach: "fentry:do_unlinkat" }],
  ["fexit/do_unlinkat", { progType: "tracing", attach: "fexit:do_unlinkat" }],
  ["tp_btf/sched_switch", { progType: "tracing", attach: "tp_btf:sched_switch" }],
  ["iter/task", { progType: "tracing", attach: "iter:task" }],
  ["lsm/file_open", { progType: "lsm", attach: "lsm:file_open" }],
  ["freplace/foo", { progType: "ext" }],
  ["struct_ops/x", { progType: "struct_ops" }],
  ["syscall", { progType: "syscall" }],
  // networking
  ["xdp", { progType: "xdp", attach: "xdp" }],
  ["xdp1", { progType: "xdp", attach: "xdp" }],
  ["xdp.frags", { progType: "xdp", attach: "xdp" }],
  ["xdp/devmap", { progType: "xdp", attach: "xdp" }],
  ["classifier", { progType: "sched_cls" }],
  ["tc", { progType: "sched_cls" }],
  ["tc/ingress", { progType: "sched_cls" }],
  ["action", { progType: "sched_act" }],
  ["cgroup/skb", { progType: "cgroup_skb" }],
  ["cgroup_skb/ingress", { progType: "cgroup_skb" }],
  ["cgroup/sock", { progType: "cgroup_sock" }],
  ["cgroup/sock_create", { progType: "cgroup_sock" }],
  ["cgroup/connect4", { progType: "cgroup_sock_addr" }],
  ["cgroup/sendmsg6", { progType: "cgroup_sock_addr" }],
  ["cgroup/dev", { progType: "cgroup_device" }],
  ["cgroup/sysctl", { progType: "cgroup_sysctl" }],
  ["cgroup/getsockopt", { progType: "cgroup_sockopt" }],
  ["sockops", { progType: "sock_ops" }],
  ["sk_skb/stream_parser", { progType: "sk_skb" }],
  ["sk_msg", { progType: "sk_msg" }],
  ["lwt_xmit", { progType: "lwt_xmit" }],
  ["flow_dissector", { progType: "flow_dissector" }],
  ["sk_lookup", { progType: "sk_lookup" }],
  // not programs / unknown
  [".text", undefined],
  ["maps", undefined],
  [".maps", undefined],
  ["license", undefined],
  ["version", undefined],
  [".rodata", undefined],
  ["cgroup/unknown", undefined],
  ["kprobes/x", undefined],
  ["foo", undefined],
  ["", undefined],
];

for (const [name, want] of cases) {
  test(`section '${name}'`, () => {
    const got = sectionToProgram(name);
    if (want === undefined) expect(got).toBeUndefined();
    else {
      expect(got).toMatchObject(want);
      // the old fields are exact: no attach point or tail-call index where none was asked for
      expect(got!.attach).toBe(want.attach);
      expect(got!.tailCallIndex).toBe(want.tailCallIndex);
    }
  });
}

// SPDX-License-Identifier: GPL-2.0
// The example's eBPF program: a socket filter that counts packets and returns a verdict set from
// user space before loading (a `const volatile` knob), and a tracepoint program that counts
// execve() calls per process, prints a line and sends a record through a ring buffer (5.8+).
// Build: clang -O2 -g -target bpf -I/usr/include/$(uname -m)-linux-gnu -c counter.c -o counter.o
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

const volatile __u32 verdict = 0; // what count_packets returns: set it with spec.variables

struct event {
	__u32 pid;
	__u32 cpu;
	char comm[16];
};

struct event last_event; // .bss: also puts `struct event` into the BTF, for decoding records

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} packets SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);   // tgid
	__type(value, __u64); // execve() calls
} execs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} events SEC(".maps");

SEC("socket")
int count_packets(struct __sk_buff *skb)
{
	__u32 key = 0;
	__u64 *n = bpf_map_lookup_elem(&packets, &key);

	if (n)
		*n += 1; // per-CPU: no other CPU writes this slot
	return verdict;
}

SEC("tracepoint/syscalls/sys_enter_execve")
int on_execve(void *ctx)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	__u64 one = 1, *n = bpf_map_lookup_elem(&execs, &tgid);
	struct event *e;

	if (n)
		__sync_fetch_and_add(n, 1);
	else
		bpf_map_update_elem(&execs, &tgid, &one, BPF_NOEXIST);

	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (e) {
		e->pid = tgid;
		e->cpu = bpf_get_smp_processor_id();
		bpf_get_current_comm(e->comm, sizeof(e->comm));
		last_event = *e;
		bpf_ringbuf_submit(e, 0);
	}
	bpf_printk("execve by %d", tgid);
	return 0;
}

/* The C loader a user would otherwise write (the seed article's, without the while(1)): load the
 * seed program as a tracepoint program, attach it to syscalls:sys_enter_clone through a perf
 * event, then detach and exit. Same syscalls as `bpfload load ... --duration 0`. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/perf_event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv) {
	unsigned char insns[4096];
	int f = open(argv[1], O_RDONLY);
	int n = read(f, insns, sizeof insns);
	close(f);
	char idbuf[32] = {0};
	f = open(argv[2], O_RDONLY); /* events/syscalls/sys_enter_clone/id */
	if (f < 0 || read(f, idbuf, sizeof idbuf - 1) <= 0) { perror("id"); return 1; }
	close(f);
	union bpf_attr attr;
	memset(&attr, 0, sizeof attr);
	attr.prog_type = BPF_PROG_TYPE_TRACEPOINT;
	attr.insns = (unsigned long)insns;
	attr.insn_cnt = n / 8;
	attr.license = (unsigned long)"GPL";
	int pfd = syscall(SYS_bpf, BPF_PROG_LOAD, &attr, sizeof attr);
	if (pfd < 0) { perror("BPF_PROG_LOAD"); return 1; }
	struct perf_event_attr pa;
	memset(&pa, 0, sizeof pa);
	pa.type = PERF_TYPE_TRACEPOINT;
	pa.size = sizeof pa;
	pa.config = atoi(idbuf);
	pa.sample_period = 1;
	pa.wakeup_events = 1;
	pa.sample_type = PERF_SAMPLE_RAW;
	int efd = syscall(SYS_perf_event_open, &pa, -1, 0, -1, PERF_FLAG_FD_CLOEXEC);
	if (efd < 0) { perror("perf_event_open"); return 1; }
	if (ioctl(efd, PERF_EVENT_IOC_SET_BPF, pfd) < 0 || ioctl(efd, PERF_EVENT_IOC_ENABLE, 0) < 0) { perror("ioctl"); return 1; }
	ioctl(efd, PERF_EVENT_IOC_DISABLE, 0);
	close(efd);
	close(pfd);
	return 0;
}

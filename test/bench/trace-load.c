/* The loader beside `cat trace_pipe` in test/bench/trace-pipe.ts: loads an object with libbpf,
 * attaches its programs, says "ready" on stderr and waits SECONDS; it does not read trace_pipe.
 * Build: gcc -O2 trace-load.c -lbpf -o trace-load */
#include <bpf/libbpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 3) { fprintf(stderr, "usage: trace-load OBJ SECONDS\n"); return 2; }
	struct bpf_object *obj = bpf_object__open_file(argv[1], NULL);
	if (!obj || bpf_object__load(obj)) { fprintf(stderr, "load failed\n"); return 1; }
	struct bpf_program *prog;
	bpf_object__for_each_program(prog, obj) {
		if (!bpf_program__attach(prog)) { fprintf(stderr, "attach failed\n"); return 1; }
	}
	fprintf(stderr, "ready\n");
	usleep((useconds_t)(atof(argv[2]) * 1e6));
	return 0;
}

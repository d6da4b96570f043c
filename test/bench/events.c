/* The libbpf side of test/bench/events.ts: loads the same object (ringbuf.o or perf_array.o),
 * attaches it, consumes with ring_buffer__poll / perf_buffer__poll for SECONDS, and prints
 * "records N lost M". RING_BYTES (optional): the ring buffer's size instead of the object's.
 * Build: gcc -O2 events.c -lbpf -o events */
#include <bpf/libbpf.h>
#include <bpf/bpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static unsigned long long records, lost;

static int on_ring(void *ctx, void *data, size_t size) { records++; return 0; }
static void on_perf(void *ctx, int cpu, void *data, unsigned int size) { records++; }
static void on_lost(void *ctx, int cpu, unsigned long long n) { lost += n; }

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }

int main(int argc, char **argv)
{
	if (argc < 3) { fprintf(stderr, "usage: events OBJ SECONDS [RING_BYTES]\n"); return 2; }
	struct bpf_object *obj = bpf_object__open_file(argv[1], NULL);
	if (!obj) { fprintf(stderr, "open failed\n"); return 1; }
	if (argc > 3 && bpf_map__set_max_entries(bpf_object__find_map_by_name(obj, "events"), atoi(argv[3]))) { fprintf(stderr, "resize failed\n"); return 1; }
	if (bpf_object__load(obj)) { fprintf(stderr, "load failed\n"); return 1; }
	struct bpf_program *prog = bpf_object__next_program(obj, NULL);
	struct bpf_link *link = bpf_program__attach(prog);
	if (!link) { fprintf(stderr, "attach failed\n"); return 1; }
	int fd = bpf_object__find_map_fd_by_name(obj, "events");
	int is_ring = strstr(argv[1], "ringbuf") != NULL;
	struct ring_buffer *rb = is_ring ? ring_buffer__new(fd, on_ring, NULL, NULL) : NULL;
	struct perf_buffer *pb = is_ring ? NULL : perf_buffer__new(fd, 64, on_perf, on_lost, NULL, NULL);
	fprintf(stderr, "ready\n");
	double end = now() + atof(argv[2]);
	while (now() < end) {
		if (rb) ring_buffer__poll(rb, 50); else perf_buffer__poll(pb, 50);
	}
	if (is_ring) {
		int d = bpf_object__find_map_fd_by_name(obj, "events_dropped");
		unsigned int k = 0;
		unsigned long long v = 0;
		bpf_map_lookup_elem(d, &k, &v);
		lost = v;
	}
	printf("records %llu lost %llu\n", records, lost);
	return 0;
}

// The reference for test/bench/lib-map.ts: N lookups of key 0 of the map with id ARGV[1] through
// libbpf's bpf_map_lookup_elem, one syscall each, as a C loader does. Prints lookups per second.
#include <bpf/bpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: %s MAP_ID COUNT\n", argv[0]);
		return 2;
	}
	int fd = bpf_map_get_fd_by_id(atoi(argv[1]));
	long n = atol(argv[2]);
	unsigned int key = 0;
	unsigned long long value;
	struct timespec a, b;

	if (fd < 0) {
		perror("bpf_map_get_fd_by_id");
		return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (long i = 0; i < n; i++) {
		if (bpf_map_lookup_elem(fd, &key, &value)) {
			perror("bpf_map_lookup_elem");
			return 1;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	double secs = (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9;
	printf("%.0f\n", n / secs);
	return 0;
}

/* The producer of test/bench/events.ts: calls getppid for SECONDS (each call is one record of the
 * ringbuf/perf_array fixtures), BATCH at a time with a pause of USEC microseconds between batches
 * (0: as fast as it can), and prints the number of calls, so the bench knows how many records
 * were made and can check received + lost == made.
 * Usage: events-trigger SECONDS [BATCH USEC] */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }

int main(int argc, char **argv)
{
	double secs = atof(argv[1]);
	long batch = argc > 2 ? atol(argv[2]) : 1024, usec = argc > 3 ? atol(argv[3]) : 0;
	double start = now(), end = start + secs;
	long calls = 0;
	for (;;) {
		for (long i = 0; i < batch; i++) getppid();
		calls += batch;
		if (usec) usleep(usec);
		if (now() >= end) break;
	}
	printf("calls %ld seconds %.6f\n", calls, now() - start);
	return 0;
}

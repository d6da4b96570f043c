/* Calls getppid N times, BATCH at a time with a pause of USEC microseconds between batches (0: as
 * fast as it can): the producer of test/bench/events.ts. */
#include <stdlib.h>
#include <unistd.h>
int main(int argc, char **argv)
{
	long n = atol(argv[1]), batch = argc > 2 ? atol(argv[2]) : n, usec = argc > 3 ? atol(argv[3]) : 0;
	for (long i = 0; i < n; i++) {
		getppid();
		if (usec && (i + 1) % batch == 0) usleep(usec);
	}
	return 0;
}

/* Wall time of one run of a command, in microseconds, for test/vm/bench.sh (a busybox guest has no
 * `time` with sub-10-ms resolution): fork, exec CMD with stdout/stderr to /dev/null, wait, print the
 * CLOCK_MONOTONIC time from before the fork to after the wait. Exit 1 when CMD did not exit 0.
 *   gcc -static -O2 -o runtimes test/bench/runtimes.c;  runtimes CMD ARGS... */
#include <fcntl.h>
#include <stdio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long now_us(void) {
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000000LL + t.tv_nsec / 1000;
}

int main(int argc, char **argv) {
	if (argc < 2) { fprintf(stderr, "usage: runtimes CMD ARGS...\n"); return 2; }
	long long t0 = now_us();
	pid_t pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);
		dup2(null, 1);
		dup2(null, 2);
		execv(argv[1], argv + 1);
		_exit(127);
	}
	int status = 0;
	if (pid < 0 || waitpid(pid, &status, 0) < 0) { perror("runtimes"); return 1; }
	long long t1 = now_us();
	printf("%lld\n", t1 - t0);
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}

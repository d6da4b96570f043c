/* Test helper (built by btf-observed.test.ts with gcc): a connected TCP pair on 127.0.0.1, the
 * client put into a pinned sockmap at key 0, then N messages of SIZE bytes sent through it and
 * read back on the other end. Prints "sent N" when all arrived; exit 1 with the failing call. */
#include <arpa/inet.h>
#include <linux/bpf.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

static long bpf(int cmd, union bpf_attr *attr) { return syscall(__NR_bpf, cmd, attr, sizeof(*attr)); }
static int fail(const char *what) { perror(what); return 1; }

int main(int argc, char **argv)
{
	if (argc != 4) return fprintf(stderr, "usage: %s PINNED_SOCKMAP N SIZE\n", argv[0]), 2;
	int n = atoi(argv[2]), size = atoi(argv[3]);
	union bpf_attr a;
	memset(&a, 0, sizeof(a));
	a.pathname = (unsigned long)argv[1];
	int map = bpf(BPF_OBJ_GET, &a);
	if (map < 0) return fail("BPF_OBJ_GET");

	struct sockaddr_in addr = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(addr);
	int srv = socket(AF_INET, SOCK_STREAM, 0);
	if (srv < 0 || bind(srv, (struct sockaddr *)&addr, sizeof(addr)) || listen(srv, 1) || getsockname(srv, (struct sockaddr *)&addr, &len)) return fail("listen");
	int cli = socket(AF_INET, SOCK_STREAM, 0);
	if (cli < 0 || connect(cli, (struct sockaddr *)&addr, sizeof(addr))) return fail("connect");
	int peer = accept(srv, NULL, NULL);
	if (peer < 0) return fail("accept");

	unsigned int key = 0, value = cli;
	memset(&a, 0, sizeof(a));
	a.map_fd = map;
	a.key = (unsigned long)&key;
	a.value = (unsigned long)&value;
	if (bpf(BPF_MAP_UPDATE_ELEM, &a)) return fail("BPF_MAP_UPDATE_ELEM");

	char buf[4096];
	memset(buf, 'x', sizeof(buf));
	if (size > (int)sizeof(buf)) size = sizeof(buf);
	for (int i = 0; i < n; i++) {
		if (send(cli, buf, size, 0) != size) return fail("send");
		for (int got = 0; got < size;) {
			ssize_t r = recv(peer, buf, size - got, 0);
			if (r <= 0) return fail("recv");
			got += r;
		}
	}
	printf("sent %d\n", n);
	return 0;
}

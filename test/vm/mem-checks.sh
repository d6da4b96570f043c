# VM checks of memory handed to the kernel, maps and verifier round trips (the `mem` work), on a
# kernel that is not the development host's: 6.1 and 5.10 predate log_true_size (6.4), so the log
# grows by guesses with an attr that ends before it.
#   npx bun test/vm/run.ts --arch x64 --checks test/vm/mem-checks.sh [--suite bullseye]
. /vm/lib.sh

# btf_maps.o's 'sized' is a percpu_array of 64-byte values: read at exit, one value per CPU.
check mem-percpu-print -t 90 -g 'echo x >/dev/null' -e "map 'sized' \(percpu_array, 4 entries, key 4 B, value 64 B per CPU, [0-9]+ CPUs\)" -- \
  bpfload load fixtures/btf_maps.o --duration 3
# A perf_event_array without max_entries: one slot per possible CPU, said with --verbose.
check mem-perf-event-array -t 60 -e "max_entries 0 means one per CPU \(as libbpf does\): [0-9]+ possible CPUs" -- \
  bpfload load fixtures/perf_events.o --no-attach --verbose
# A level-2 log of ~2.4 MB (30,000 moves, then a read of a register never written): grown from
# 256 KiB until it fits, and shown whole up to the verifier's verdict.
{ echo 'r0 = 0'; seq 30000 | sed 's/.*/r1 = r0/'; echo 'r0 = r3'; echo exit; } > /tmp/big.s
check mem-big-log -t 120 -x -e "^processed 3000[0-9] insns" -- \
  bpfload load /tmp/big.s --type socket_filter --log-level 2 --no-attach
check mem-big-log-verdict -t 120 -x -e "R3 !read_ok" -- \
  bpfload load /tmp/big.s --type socket_filter --log-level 2 --no-attach
# An fentry program: refused for its BTF target before loading (exit 2), not as a verifier failure.
check mem-fentry -t 60 -x -e "program type tracing needs a BTF target" -- bpfload load fixtures/fentry.o --no-attach

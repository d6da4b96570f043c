# VM checks, run by the guest's /init with busybox sh from /vm (see guest/lib.sh for the helpers and the
# VMCHECK output protocol). /vm/env sets VM_ARCH (x64|arm64), VM_BINARY_KIND (bpfload|standin), VM_TRIPLET
# and VM_BUSYBOX_ENTRY_OFF (file offset of /bin/busybox's entry point, for uprobes by raw offset).
# The executable under test is /bin/bpfload; /vm/seed.bin is the seed's 104 raw bytes; /vm/fixtures/*.o are
# test/fixtures' objects.
. /vm/lib.sh
T=/sys/kernel/tracing
# A trace line of the seed's program ends with its message (bpfload's own summary lines do not).
HELLO='Hello World! *$'

# --- The kernel: what bpfload relies on is there and works under this qemu (busybox only) ---
check kernel-tracefs -- test -w $T/kprobe_events -a -w $T/uprobe_events -a -r $T/trace_pipe
check kernel-kprobe-pmu -- test -r /sys/bus/event_source/devices/kprobe/type -a -r /sys/bus/event_source/devices/kprobe/format/retprobe
check kernel-syscall-tracepoint -- test -r $T/events/syscalls/sys_enter_clone/id
check kernel-clone-symbol -e '(__x64|__arm64)_sys_clone$' -- grep -E ' (__x64|__arm64)_sys_clone$' /proc/kallsyms
# A tracefs kprobe on the clone path fires when busybox forks.
check_sh kernel-kprobe-fires "
  echo 'p:vmcheck/clone kernel_clone' >> $T/kprobe_events &&
  echo 1 > $T/events/vmcheck/clone/enable &&
  sh -c 'true & wait' && sh -c 'true & wait' &&
  echo 0 > $T/events/vmcheck/clone/enable &&
  n=\$(grep -c 'clone:' $T/trace); echo \"\$n hits\"; echo > $T/trace;
  echo '-:vmcheck/clone' >> $T/kprobe_events && [ \"\$n\" -ge 2 ]"
# A uprobe by raw file offset on busybox's entry point fires on every exec of busybox (the initramfs is tmpfs).
if [ -n "$VM_BUSYBOX_ENTRY_OFF" ]; then
  check_sh kernel-uprobe-fires "
    echo 'p:vmcheck/bbstart /bin/busybox:$VM_BUSYBOX_ENTRY_OFF' >> $T/uprobe_events &&
    echo 1 > $T/events/vmcheck/bbstart/enable &&
    sh -c true && sh -c true &&
    echo 0 > $T/events/vmcheck/bbstart/enable &&
    n=\$(grep -c 'bbstart:' $T/trace); echo \"\$n hits\"; echo > $T/trace;
    echo '-:vmcheck/bbstart' >> $T/uprobe_events && [ \"\$n\" -ge 2 ]"
else
  vm_skip kernel-uprobe-fires "no entry offset for /bin/busybox"
fi

# --- The executable starts on this kernel and CPU (glibc libraries, x86-64-v2 under -cpu max) ---
check bpfload-version -t 60 -e '[0-9]+\.[0-9]+' -- bpfload --version

if [ "$VM_BINARY_KIND" = standin ]; then
  check standin-ffi -t 60 -e '^ffi getpid=1$' -- bpfload ffi
  for c in bpfload-hello bpfload-kprobe bpfload-kretprobe bpfload-tracepoint bpfload-legacy-maps \
    bpfload-uprobe-offset bpfload-uprobe-symbol bpfload-uretprobe bpfload-raw-tracepoint bpfload-perf-event \
    bpfload-socket bpfload-kprobe-tracefs bpfload-kretprobe-tracefs \
    bpfload-sigkill-sweep bpfload-cleanup; do
    vm_skip $c "the binary is the stand-in, not bpfload"
  done
  exit 0
fi

# --- bpfload: the seed's program on every attach kind ---
check bpfload-hello -t 60 -e "$HELLO" -- bpfload hello
check bpfload-kprobe -t 60 -f -n 3 -e "$HELLO" -- bpfload load seed.bin --attach kprobe:sys_clone --duration 3
check bpfload-kretprobe -t 60 -f -n 3 -e "$HELLO" -- bpfload load seed.bin --attach kretprobe:sys_clone --duration 3
check bpfload-tracepoint -t 60 -f -n 3 -e "$HELLO" -- \
  bpfload load seed.bin --type tracepoint --attach tracepoint:syscalls:sys_enter_clone --duration 3
# A samples/bpf-style object with 20-byte legacy map definitions, attached from its section name
# (kprobe/sys_write); busybox's echo writes. The maps printed at exit show the program counted writes.
check bpfload-legacy-maps -t 60 -g 'echo x >/dev/null' -e "map 'counts' \(hash, [1-9][0-9]* entr" -- \
  bpfload load fixtures/legacy_maps.o --duration 3

if has_feature uprobe; then
  # By raw file offset: busybox's entry point runs on every exec of busybox (the fork trigger execs sh).
  check bpfload-uprobe-offset -t 60 -f -e "$HELLO" -- \
    bpfload load seed.bin --attach "uprobe:/bin/busybox:$VM_BUSYBOX_ENTRY_OFF" --duration 3
  # By symbol in a shared library: every start of a dynamically linked program (bpfload itself: Bun calls
  # getenv a few dozen times while starting) enters and leaves libc's getenv.
  LIBC=/lib/$VM_TRIPLET/libc.so.6
  check bpfload-uprobe-symbol -t 90 -g 'bpfload --version' -e "$HELLO" -- \
    bpfload load seed.bin --attach "uprobe:$LIBC:getenv" --duration 5
  check bpfload-uretprobe -t 90 -g 'bpfload --version' -e "$HELLO" -- \
    bpfload load seed.bin --attach "uretprobe:$LIBC:getenv" --duration 5
else
  for c in bpfload-uprobe-offset bpfload-uprobe-symbol bpfload-uretprobe; do
    vm_skip $c "bpfload --help does not mention uprobe yet"
  done
fi

# --- Raw tracepoints, perf events, socket filters (the seed's program fits all: it only calls trace_printk) ---
if has_feature raw_tracepoint; then
  check bpfload-raw-tracepoint -t 60 -f -e "$HELLO" -- \
    bpfload load seed.bin --attach raw_tracepoint:sched_process_fork --duration 3
else
  vm_skip bpfload-raw-tracepoint "bpfload --help does not mention raw_tracepoint yet"
fi
if has_feature perf_event; then
  check bpfload-perf-event -t 60 -e "$HELLO" -- bpfload load seed.bin --attach perf_event:cpu-clock --duration 3
else
  vm_skip bpfload-perf-event "bpfload --help does not mention perf_event yet"
fi
if has_feature socket:; then
  check bpfload-socket -t 60 -g 'ping -c 1 -W 1 127.0.0.1' -e "$HELLO" -- \
    bpfload load seed.bin --attach socket:lo --duration 3
else
  vm_skip bpfload-socket "bpfload --help does not mention socket: yet"
fi

# --- kprobes through tracefs kprobe_events (the 4.9-4.16 way), when the CLI lets one choose ---
if has_feature probe-api; then
  check bpfload-kprobe-tracefs -t 60 -f -n 3 -e "$HELLO" -- \
    bpfload load seed.bin --attach kprobe:sys_clone --probe-api tracefs --duration 3
  check bpfload-kretprobe-tracefs -t 60 -f -n 3 -e "$HELLO" -- \
    bpfload load seed.bin --attach kretprobe:sys_clone --probe-api tracefs --maxactive 8 --duration 3
  # FUNC+OFFSET past the ftrace patch site, on an instruction boundary (the kernel refuses a probe
  # inside it): arm64 has two patchable nops at the entry (+8); Debian's x86_64 6.1 has IBT, so
  # endbr64 (4 bytes) and the 5-byte fentry call come first (+9).
  if [ "$VM_ARCH" = arm64 ]; then KOFF=8; else KOFF=9; fi
  check bpfload-kprobe-offset-pmu -t 60 -f -n 3 -e "$HELLO" -- \
    bpfload load seed.bin --attach kprobe:kernel_clone+$KOFF --duration 3
  check bpfload-kprobe-offset-tracefs -t 60 -f -n 3 -e "$HELLO" -- \
    bpfload load seed.bin --attach kprobe:kernel_clone+$KOFF --probe-api tracefs --duration 3
  KILL_API="--probe-api tracefs"
else
  vm_skip bpfload-kprobe-tracefs "bpfload --help does not mention --probe-api yet"
  vm_skip bpfload-kretprobe-tracefs "bpfload --help does not mention --probe-api yet"
  vm_skip bpfload-kprobe-offset-pmu "bpfload --help does not mention --probe-api yet"
  vm_skip bpfload-kprobe-offset-tracefs "bpfload --help does not mention --probe-api yet"
  KILL_API=""
fi

# --- Crash safety: a SIGKILLed run leaves its tracefs events; `bpfload cleanup` removes them ---
# (PMU probes vanish with their fd: only with --probe-api tracefs is there something to sweep.)
if has_feature cleanup; then
  check_sh bpfload-sigkill-sweep "
    bpfload load seed.bin --attach kprobe:sys_clone $KILL_API --duration 60 >$VM_TMP/killed.out 2>&1 &
    pid=\$!; i=0
    until grep -q 'Hello World' $VM_TMP/killed.out || [ \$i -ge 100 ]; do sh -c 'true & wait'; usleep 200000; i=\$((i+1)); done
    kill -KILL \$pid; wait \$pid 2>/dev/null
    echo \"after \$i forks; bpfload said:\"; head -n 5 $VM_TMP/killed.out
    left=\$(cat $T/kprobe_events)
    echo \"left after SIGKILL: \$left\"
    if [ -n '$KILL_API' ] && [ -z \"\$left\" ]; then echo 'expected a leftover kprobe event with $KILL_API'; exit 1; fi
    bpfload cleanup || exit 1
    left=\$(cat $T/kprobe_events); [ -z \"\$left\" ] || { echo \"still there: \$left\"; exit 1; }"
else
  vm_skip bpfload-sigkill-sweep "bpfload --help does not mention cleanup yet"
fi

# --- Kernel-aware errors: a program type newer than this 6.1 kernel names the version that brought it ---
check bpfload-too-new-type -t 60 -x -e 'program type netfilter is not supported by this kernel \(requires Linux >= 6\.4\)' -- \
  bpfload load seed.bin --type netfilter --no-attach

# --- Nothing left behind ---
check_sh bpfload-cleanup "
  k=\$(cat $T/kprobe_events) u=\$(cat $T/uprobe_events)
  [ -z \"\$k\$u\" ] || { echo 'kprobe_events:'; echo \"\$k\"; echo 'uprobe_events:'; echo \"\$u\"; exit 1; }"

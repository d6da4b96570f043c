# VM checks, run by the guest's /init with busybox sh from /vm (see guest/lib.sh for the helpers and the
# VMCHECK output protocol). /vm/env sets VM_ARCH (x64|arm64) and VM_BINARY_KIND (bpfload|standin);
# the executable under test is /bin/bpfload, the seed's 104 raw bytes are /vm/seed.bin.
. /vm/lib.sh
T=/sys/kernel/tracing

# --- The kernel: what bpfload relies on is there (busybox only) ---
check kernel-tracefs -- test -w $T/kprobe_events -a -w $T/uprobe_events -a -r $T/trace_pipe
check kernel-kprobe-pmu -- test -r /sys/bus/event_source/devices/kprobe/type -a -r /sys/bus/event_source/devices/kprobe/format/retprobe
check kernel-syscall-tracepoint -- test -r $T/events/syscalls/sys_enter_clone/id
check kernel-clone-symbol -e '(__x64|__arm64)_sys_clone$' -- grep -E ' (__x64|__arm64)_sys_clone$' /proc/kallsyms
# A tracefs kprobe on the clone path fires when busybox forks (proves kprobes work under this qemu).
check_sh kernel-kprobe-fires "
  echo 'p:vmcheck/clone kernel_clone' >> $T/kprobe_events &&
  echo 1 > $T/events/vmcheck/clone/enable &&
  sh -c 'true & wait' && sh -c 'true & wait' &&
  echo 0 > $T/events/vmcheck/clone/enable &&
  n=\$(grep -c 'clone:' $T/trace) && echo \"\$n hits\" && echo > $T/trace &&
  echo '-:vmcheck/clone' >> $T/kprobe_events && [ \"\$n\" -ge 2 ]"

# --- The executable starts on this kernel and CPU (glibc libraries, x86-64-v2 under -cpu max) ---
check bpfload-version -t 60 -e '[0-9]+\.[0-9]+' -- bpfload --version

if [ "$VM_BINARY_KIND" = standin ]; then
  check standin-ffi -t 60 -e '^ffi getpid=1$' -- bpfload ffi
  for c in bpfload-hello bpfload-kprobe bpfload-kretprobe bpfload-tracepoint bpfload-cleanup; do
    vm_skip $c "the binary is the stand-in, not bpfload"
  done
  exit 0
fi

# --- bpfload: the seed's program on every attach kind ---
HELLO='Hello World!'
check bpfload-hello -t 60 -e "$HELLO" -- bpfload hello
check bpfload-kprobe -t 60 -f -e "$HELLO" -- bpfload load seed.bin --attach kprobe:sys_clone --duration 3
check bpfload-kretprobe -t 60 -f -e "$HELLO" -- bpfload load seed.bin --attach kretprobe:sys_clone --duration 3
check bpfload-tracepoint -t 60 -f -e "$HELLO" -- bpfload load seed.bin --type tracepoint --attach tracepoint:syscalls:sys_enter_clone --duration 3

# --- Nothing left behind ---
check_sh bpfload-cleanup "
  k=\$(cat $T/kprobe_events) u=\$(cat $T/uprobe_events)
  [ -z \"\$k\$u\" ] || { echo 'kprobe_events:'; echo \"\$k\"; echo 'uprobe_events:'; echo \"\$u\"; exit 1; }"

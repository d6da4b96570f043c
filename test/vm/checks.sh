# VM checks, run by the guest's /init with busybox sh from /vm (see guest/lib.sh for the helpers and the
# VMCHECK output protocol). /vm/env sets VM_ARCH (x64|arm64), VM_BINARY_KIND (bpfload|standin), VM_TRIPLET
# and VM_BUSYBOX_ENTRY_OFF (file offset of /bin/busybox's entry point, for uprobes by raw offset); /init sets
# VM_KERNEL_VERSION (4.9.229, 6.1.192...) and VM_KERNEL_RELEASE (the uname -r it must be) from the kernel
# command line run.ts wrote. Checks gate on that version — what each kernel must do, refusals included — and
# never on what bpfload or the kernel reports about itself.
# The executable under test is /bin/bpfload; /vm/seed.bin is the seed's 104 raw bytes; /vm/fixtures/*.o are
# test/fixtures' objects.
. /vm/lib.sh
# tracefs: /sys/kernel/tracing where mounted there; under debugfs only on 4.9, as Debian 9 has it (init.sh).
if [ -e /sys/kernel/tracing/kprobe_events ]; then T=/sys/kernel/tracing; else T=/sys/kernel/debug/tracing; fi
# A trace line of the seed's program ends with its message (bpfload's own summary lines do not).
HELLO='Hello World! *$'
# The kernel's clone function (kernel_clone from 5.10, _do_fork before) and its sys_clone symbol.
if kernel_ge 5.10; then CLONE_FN=kernel_clone; else CLONE_FN=_do_fork; fi
if ! kernel_ge 4.17; then SYS_CLONE='SyS_clone'; elif [ "$VM_ARCH" = arm64 ]; then SYS_CLONE=__arm64_sys_clone; else SYS_CLONE=__x64_sys_clone; fi

# --- The kernel: it is the one run.ts meant to boot, and what bpfload relies on is there (busybox only) ---
check_sh kernel-version "r=\$(uname -r); echo \"uname -r: \$r, expected $VM_KERNEL_RELEASE\"; [ -n '$VM_KERNEL_RELEASE' ] && [ \"\$r\" = '$VM_KERNEL_RELEASE' ]"
check kernel-tracefs -- test -w $T/kprobe_events -a -w $T/uprobe_events -a -r $T/trace_pipe
# The kprobe PMU: there from 4.17, and really absent before (so bpfload's tracefs fallback is what runs).
if kernel_ge 4.17; then
  check kernel-kprobe-pmu -- test -r /sys/bus/event_source/devices/kprobe/type -a -r /sys/bus/event_source/devices/kprobe/format/retprobe
else
  check_sh kernel-kprobe-pmu "echo 'expected absent before 4.17'; test ! -e /sys/bus/event_source/devices/kprobe"
fi
check kernel-syscall-tracepoint -- test -r $T/events/syscalls/sys_enter_clone/id
check kernel-clone-symbol -e " $SYS_CLONE\$" -- grep -E " $SYS_CLONE\$" /proc/kallsyms
# A tracefs kprobe on the clone path fires when busybox forks.
check_sh kernel-kprobe-fires "
  echo 'p:vmcheck/clone $CLONE_FN' >> $T/kprobe_events &&
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
  vm_skip bpfload-checks "the binary is the stand-in, not bpfload"
  exit 0
fi

# --- bpfload: the seed's program on every attach kind ---
# Before 5.0 the kernel checks kern_version on kprobe programs: bpfload must send the running one.
check bpfload-hello -t 60 -e "$HELLO" -- bpfload hello
# The kern_version sent is this kernel's LINUX_VERSION_CODE (sublevel capped at 255); a wrong one is refused
# by the kernel before 5.0 (bpfload says so, exit 1) and ignored from 5.0 on.
KV=$(kv_code "$VM_KERNEL_VERSION")
KVS="$((KV >> 16))\.$(((KV >> 8) & 255))\.$((KV & 255))"
check bpfload-kern-version -t 60 -e "kern_version $KVS from" -- bpfload load seed.bin --attach kprobe:sys_clone --duration 0
if kernel_ge 5.0; then
  check bpfload-kern-version-wrong -t 60 -- bpfload load seed.bin --attach kprobe:sys_clone --kern-version 4.8.0 --duration 0
else
  check bpfload-kern-version-wrong -t 60 -c 1 -e 'kern_version' -- bpfload load seed.bin --attach kprobe:sys_clone --kern-version 4.8.0 --duration 0
fi
check bpfload-kprobe -t 60 -f -n 3 -e "$HELLO" -- bpfload load seed.bin --attach kprobe:sys_clone --duration 3
check bpfload-kretprobe -t 60 -f -n 3 -e "$HELLO" -- bpfload load seed.bin --attach kretprobe:sys_clone --duration 3
check_since 4.14 bpfload-tracepoint-syscalls -t 60 -f -n 3 -e "$HELLO" -- \
  bpfload load seed.bin --type tracepoint --attach tracepoint:syscalls:sys_enter_clone --duration 3
# Every kernel: a tracepoint that is not a syscall's (sched_process_fork fires on every fork).
check bpfload-tracepoint -t 60 -f -n 3 -e "$HELLO" -- \
  bpfload load seed.bin --type tracepoint --attach tracepoint:sched:sched_process_fork --duration 3
# A samples/bpf-style object with 20-byte legacy map definitions, attached from its section name
# (kprobe/sys_write); busybox's echo writes. The maps printed at exit show the program counted writes.
check bpfload-legacy-maps -t 60 -g 'echo x >/dev/null' -e "map 'counts' \(hash, [1-9][0-9]* entr" -- \
  bpfload load fixtures/legacy_maps.o --duration 3
# RLIMIT_MEMLOCK (charged for maps and programs before 5.11): at 0 the kernel refuses every map with EPERM
# unless bpfload raises the limit first, as it must (as root it can); a memcg kernel does not care.
check bpfload-memlock -t 60 -e "^map 'counts' \(hash" -- sh -c 'ulimit -l 0 && bpfload load fixtures/legacy_maps.o --no-attach'
# BPF-to-BPF calls (4.16): prog_a calls static and global subprograms.
check_since 4.16 bpfload-calls -t 60 -e "^loaded 'prog_a' as a kprobe program" -- \
  bpfload load fixtures/calls.o --program prog_a --no-attach
# Global data (5.2): .data/.rodata/.bss maps, printed at exit with their initial values (.rodata: 42, 1000).
check_since 5.2 bpfload-globals -t 60 -e "^map '\.rodata' \(array" -- bpfload load fixtures/globals.o --no-attach

# --- uprobes: by raw file offset (busybox's entry point runs on every exec of busybox) and by symbol in a
# shared library (every start of bpfload itself enters and leaves libc's getenv a few dozen times) ---
check bpfload-uprobe-offset -t 60 -f -e "$HELLO" -- \
  bpfload load seed.bin --attach "uprobe:/bin/busybox:$VM_BUSYBOX_ENTRY_OFF" --duration 3
LIBC=/lib/$VM_TRIPLET/libc.so.6
check bpfload-uprobe-symbol -t 90 -g 'bpfload --version' -e "$HELLO" -- \
  bpfload load seed.bin --attach "uprobe:$LIBC:getenv" --duration 5
check bpfload-uretprobe -t 90 -g 'bpfload --version' -e "$HELLO" -- \
  bpfload load seed.bin --attach "uretprobe:$LIBC:getenv" --duration 5

# --- Raw tracepoints (4.17), perf events, socket filters (the seed's program fits all: it only calls trace_printk) ---
check_since 4.17 bpfload-raw-tracepoint -t 60 -f -e "$HELLO" -- \
  bpfload load seed.bin --attach raw_tracepoint:sched_process_fork --duration 3
check bpfload-perf-event -t 60 -e "$HELLO" -- bpfload load seed.bin --attach perf_event:cpu-clock --duration 3
check bpfload-socket -t 60 -g 'ping -c 1 -W 1 127.0.0.1' -e "$HELLO" -- \
  bpfload load seed.bin --attach socket:lo --duration 3

# --- kprobes through tracefs kprobe_events (the only way before 4.17) and through the PMU (4.17+) ---
check bpfload-kprobe-tracefs -t 60 -f -n 3 -e "$HELLO" -- \
  bpfload load seed.bin --attach kprobe:sys_clone --probe-api tracefs --duration 3
check bpfload-kretprobe-tracefs -t 60 -f -n 3 -e "$HELLO" -- \
  bpfload load seed.bin --attach kretprobe:sys_clone --probe-api tracefs --duration 3
check_since 4.12 bpfload-kretprobe-maxactive -t 60 -f -n 3 -e "$HELLO" -- \
  bpfload load seed.bin --attach kretprobe:sys_clone --probe-api tracefs --maxactive 8 --duration 3
check_since 4.17 bpfload-kprobe-pmu -t 60 -f -n 3 -e "$HELLO" -- \
  bpfload load seed.bin --attach kprobe:sys_clone --probe-api pmu --duration 3
# FUNC+OFFSET right after the ftrace call at the entry, on an instruction boundary (the kernel refuses a
# probe inside it): arm64 has two patchable nops (+8); x86_64 a 5-byte fentry call (+5), after endbr64 (+9)
# where the kernel has IBT (5.18+: Debian's 6.1).
if [ "$VM_ARCH" = arm64 ]; then KOFF=8; elif kernel_ge 5.18; then KOFF=9; else KOFF=5; fi
check_since 4.17 bpfload-kprobe-offset-pmu -t 60 -f -n 3 -e "$HELLO" -- \
  bpfload load seed.bin --attach kprobe:$CLONE_FN+$KOFF --probe-api pmu --duration 3
check bpfload-kprobe-offset-tracefs -t 60 -f -n 3 -e "$HELLO" -- \
  bpfload load seed.bin --attach kprobe:$CLONE_FN+$KOFF --probe-api tracefs --duration 3

# --- Crash safety: a SIGKILLed run leaves its tracefs events; `bpfload cleanup` removes them ---
# (PMU probes vanish with their fd: only with --probe-api tracefs is there something to sweep.)
check_sh bpfload-sigkill-sweep "
  bpfload load seed.bin --attach kprobe:sys_clone --probe-api tracefs --duration 60 >$VM_TMP/killed.out 2>&1 &
  pid=\$!; i=0
  until grep -q 'Hello World' $VM_TMP/killed.out || [ \$i -ge 100 ]; do sh -c 'true & wait'; usleep 200000; i=\$((i+1)); done
  kill -KILL \$pid; wait \$pid 2>/dev/null
  echo \"after \$i forks; bpfload said:\"; head -n 5 $VM_TMP/killed.out
  left=\$(cat $T/kprobe_events)
  echo \"left after SIGKILL: \$left\"
  [ -n \"\$left\" ] || { echo 'expected a leftover kprobe event'; exit 1; }
  bpfload cleanup || exit 1
  left=\$(cat $T/kprobe_events); [ -z \"\$left\" ] || { echo \"still there: \$left\"; exit 1; }"

# --- Kernel-aware errors: a program type newer than every kernel here names the version that brought it ---
check bpfload-too-new-type -t 60 -c 1 -e 'program type netfilter is not supported by this kernel \(requires Linux >= 6\.4\)' -- \
  bpfload load seed.bin --type netfilter --no-attach

# --- `probe --json` against what this kernel really has. Expected values: the kernel's own files where it
# has them (JIT sysctl, /sys/kernel/btf/vmlinux), else the version table (the vanilla 4.9/4.19/5.4 builds
# leave the JIT off, as their configs do; Debian's 5.10/6.1 have CONFIG_BPF_JIT_ALWAYS_ON) ---
check probe-json -t 60 -e '"type":"probe"' -- bpfload probe --json
P=$VM_TMP/probe-json.out
# probe_is NAME EXPECTED-JSON-FRAGMENT: the probe's JSON contains the fragment exactly.
probe_is() { check "$1" -e "$(echo "$2" | sed 's/[][\.{}]/\\&/g')" -- cat "$P"; }
# LINUX_VERSION_CODE caps the sublevel at 255: 5.4.286 is 5.4.255 to the kernel (and kern_version).
probe_is probe-version "\"release\":\"$VM_KERNEL_RELEASE\",\"versionCode\":$(kv_code "$VM_KERNEL_VERSION"),"
probe_is probe-tracefs "\"tracefs\":\"$T\""
jit=$(cat /proc/sys/net/core/bpf_jit_enable 2>/dev/null)
case "$VM_KERNEL_RELEASE" in *-amd64|*-arm64) want_jit=1 ;; *) want_jit=0 ;; esac
check_sh probe-jit-sysctl "echo 'bpf_jit_enable: $jit, expected $want_jit'; [ '$jit' = '$want_jit' ]"
probe_is probe-jit "\"jit\":{\"enabled\":$want_jit"
if kernel_ge 5.4; then want=true; else want=false; fi
check_sh kernel-btf "echo 'expected /sys/kernel/btf/vmlinux: $want'; if [ $want = true ]; then test -e /sys/kernel/btf/vmlinux; else test ! -e /sys/kernel/btf/vmlinux; fi"
probe_is probe-btf "\"btf\":$want"
if kernel_ge 5.7; then want=true; else want=false; fi
probe_is probe-bpf-link "\"bpfLink\":{\"supported\":$want"
if kernel_ge 4.17; then want=true; else want=false; fi
probe_is probe-kprobe-pmu "\"kprobePmu\":$want"
probe_is probe-raw-tracepoints "\"rawTracepoints\":{\"supported\":$want"
if kernel_ge 4.14; then want=true; else want=false; fi
probe_is probe-syscall-tracepoints "\"syscallTracepoints\":{\"supported\":$want"
if kernel_ge 5.11; then want='"memlock":"memcg accounting'; else want='"memlock":"charged to RLIMIT_MEMLOCK'; fi
probe_is probe-memlock "$want"
# Every feature probe agrees with the version table (src/since.ts) on this vanilla/Debian kernel: supported
# exactly when the kernel is at least the version that brought it. Skipped per feature: "unknown" answers and
# features whose kernel support is not built in ("configured":false, e.g. no kprobes).
features_agree() {
  _kv=$VM_KERNEL_VERSION; _kmaj=${_kv%%.*}; _kmin=${_kv#*.}; _kmin=${_kmin%%.*}; _bad=0; _n=0
  for _f in $(tr -d ' \n' <"$P" | grep -o '"[A-Za-z0-9]*":{"supported":[a-z"]*,"since":"[0-9.]*"[^}]*}'); do
    _id=${_f%%\":*}; _id=${_id#\"}
    _sup=$(echo "$_f" | sed 's/.*"supported":\([a-z"]*\),.*/\1/')
    _since=$(echo "$_f" | sed 's/.*"since":"\([0-9.]*\)".*/\1/'); _smaj=${_since%%.*}; _smin=${_since#*.}; _smin=${_smin%%.*}
    case "$_f" in *'"configured":false'*) continue ;; esac
    [ "$_sup" = '"unknown"' ] && continue
    if [ "$_kmaj" -gt "$_smaj" ] || { [ "$_kmaj" -eq "$_smaj" ] && [ "$_kmin" -ge "$_smin" ]; }; then _want=true; else _want=false; fi
    _n=$((_n + 1))
    [ "$_sup" = "$_want" ] || { echo "MISMATCH $_id: probe says $_sup, the table ($_since) says $_want"; _bad=1; }
  done
  echo "$_n features compared with the table for $_kv"
  [ "$_n" -gt 10 ] && [ $_bad = 0 ]
}
check probe-features-agree -- features_agree

# --- The live status line (shown on a terminal only): where the kernel cannot count runs (no BPF_ENABLE_STATS
# before 5.8, kernel.bpf_stats_enabled off) it shows trace lines only, never "0 runs". stderr goes to the VGA
# text console tty1, and its screen (/dev/vcs1) is read while bpfload runs. ---
if kernel_ge 5.8; then COUNTS=1; else COUNTS=0; fi
if [ -c /dev/tty1 ] && [ -c /dev/vcs1 ] && [ "$VM_ARCH" = x64 ]; then
  check_sh bpfload-status-line "
    printf '\\033[2J' >/dev/tty1
    bpfload load seed.bin --attach kprobe:sys_clone --duration 6 >/dev/null 2>/dev/tty1 </dev/null &
    pid=\$!; i=0
    while [ \$i -lt 20 ]; do sh -c 'true & wait'; usleep 200000; i=\$((i+1)); done
    screen=\$(cat /dev/vcs1 | tr -s ' ' | sed 's/(Ctrl-C to stop)/&\\n/g'); wait \$pid
    echo \"\$screen\" | grep 'trace line' | tail -n 3
    if [ $COUNTS = 1 ]; then
      echo \"\$screen\" | grep -Eq '[1-9][0-9]* runs of the program, [1-9][0-9]* trace lines'
    else
      echo \"\$screen\" | grep -Eq '[1-9][0-9]* trace lines' && ! echo \"\$screen\" | grep -q 'runs of the program'
    fi"
else
  vm_skip bpfload-status-line "no VGA text console (/dev/tty1, /dev/vcs1) to read a terminal's screen from"
fi

# --- Nothing left behind ---
check_sh bpfload-cleanup "
  k=\$(cat $T/kprobe_events) u=\$(cat $T/uprobe_events)
  [ -z \"\$k\$u\" ] || { echo 'kprobe_events:'; echo \"\$k\"; echo 'uprobe_events:'; echo \"\$u\"; exit 1; }"

# --- events, test runs and network hooks (issue 11) ---
# Perf event arrays (4.4+): every getppid (busybox sh asks for its parent at start) through a kprobe, so
# that 4.9 (no BPF on syscalls:*, no atomic fetch) runs the same object; the program's own count is the oracle.
check_sh ev2-perf-array "
  bpfload load fixtures/ev2_perf.o --duration 8 >\$VM_TMP/ev2-perf.txt 2>\$VM_TMP/ev2-perf.err &
  pid=\$!; sleep 4; i=0; while [ \$i -lt 20 ]; do sh -c true; i=\$((i+1)); done; wait \$pid; rc=\$?
  n=\$(grep -c '^\[events cpu [0-9]*\] pid=[0-9]* cpu=[0-9]* seq=' \$VM_TMP/ev2-perf.txt)
  sent=\$(grep -A1 \"^map 'stats'\" \$VM_TMP/ev2-perf.err | sed -n 's/.*=> \([0-9]*\) .*/\1/p')
  tail -n 3 \$VM_TMP/ev2-perf.err; echo \"exit \$rc, \$n records printed, the program sent \$sent\"
  [ \$rc = 0 ] && [ \$n -ge 20 ] && [ \"\$n\" = \"\$sent\" ] && grep -q ', 0 lost' \$VM_TMP/ev2-perf.err"
# Ring buffers (5.8+): the records arrive (a fixture without atomic fetch, which 5.10 lacks); before 5.8 the map is
# refused naming the version.
check_since 5.8 ev2-ringbuf -t 90 -g 'sh -c true' -n 3 -e '^\[events\] pid=[0-9]+ cpu=[0-9]+ seq=' -- \
  bpfload load fixtures/ev2_ringbuf.o --duration 8
# BPF_PROG_TEST_RUN (4.12+): the XDP fixture's verdict for a UDP packet to port 9 (XDP_DROP); 4.9 refuses
# `run` naming 4.12.
EV2_PKT=ffffffffffff02000000000108004500001c00000000401100000a0000010a00000204d2000900080000
check_since 4.12 ev2-test-run -t 60 -e '^retval 1 \(XDP_DROP\)' -- \
  bpfload run fixtures/packets.o --program xdp_verdict --data $EV2_PKT
# XDP and tc hooks (generic XDP 4.12+, clsact 4.5+; the rig's bare 4.9 has neither clsact nor cgroups)
# inside a network namespace of their own, on its lo: attached, then nothing left on it.
if kernel_ge 4.19 && unshare -n true 2>/dev/null; then
  check_sh ev2-xdp-netns "unshare -n sh -c '
    ip link set lo up
    bpfload load fixtures/xdp_drop.o --attach xdp:lo:generic --duration 2 2>&1 | grep -E \"^attached|^detached\"
    ip link show lo | grep -q xdp && { echo \"an XDP program is left on lo\"; exit 1; }
    true' | tee \$VM_TMP/ev2-xdp.txt; grep -q '^attached' \$VM_TMP/ev2-xdp.txt && grep -q '^detached' \$VM_TMP/ev2-xdp.txt"
  # Debian's kernels build clsact and cls_bpf as modules, which the initramfs does not carry
  case "$VM_KERNEL_RELEASE" in
    *-amd64|*-arm64) vm_skip ev2-tc-netns "Debian's kernel has clsact and cls_bpf as modules (not in the initramfs)" ;;
    *) check_sh ev2-tc-netns "unshare -n sh -c '
    ip link set lo up
    bpfload load fixtures/tc_count.o --attach tc:lo:ingress --duration 2 2>&1 | grep -E \"^attached|^detached|bpfload:\"
    true' | tee \$VM_TMP/ev2-tc.txt; grep -q '^attached' \$VM_TMP/ev2-tc.txt && grep -q '^detached' \$VM_TMP/ev2-tc.txt" ;;
  esac
else
  vm_skip ev2-xdp-netns "needs 4.19+ (generic XDP; the rig's 4.9 has no clsact or veth) and unshare -n"
  vm_skip ev2-tc-netns "needs 4.19+ and unshare -n"
fi

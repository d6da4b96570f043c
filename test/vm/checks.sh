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

# --- Externs and helper rewriting (issue 10) ---
# bpf_probe_read_kernel/_str (5.5+) calls load on older kernels because bpfload rewrites them to
# bpf_probe_read/_str (libbpf's probe_read_kernel feature); from 5.5 they are kept as they are.
# bpf_probe_read_str itself came in 4.11: on 4.9 only the non-_str program can load.
if kernel_ge 5.5; then
  check_sh bpfload-probe-read-kernel-kept "
    out=\$(bpfload load fixtures/probe_read_kernel.o --no-attach --verbose 2>&1); echo \"\$out\" | tail -n 3
    echo \"\$out\" | grep -q 'loaded .read_kernel_str.' && ! echo \"\$out\" | grep -q 'rewritten to bpf_probe_read'"
elif kernel_ge 4.11; then
  check_sh bpfload-probe-read-kernel-rewritten "
    out=\$(bpfload load fixtures/probe_read_kernel.o --no-attach --verbose 2>&1); echo \"\$out\" | tail -n 4
    echo \"\$out\" | grep -q 'loaded .read_kernel_str.' &&
    echo \"\$out\" | grep -q \"program 'read_kernel': 1 call of bpf_probe_read_kernel/_user\\[_str\\] rewritten to bpf_probe_read\\[_str\\]\" &&
    echo \"\$out\" | grep -q \"program 'read_kernel_str': 1 call of\""
else
  check_sh bpfload-probe-read-kernel-rewritten "
    out=\$(bpfload load fixtures/probe_read_kernel.o --program read_kernel --no-attach --verbose 2>&1); echo \"\$out\" | tail -n 3
    echo \"\$out\" | grep -q 'loaded .read_kernel.' && echo \"\$out\" | grep -q 'rewritten to bpf_probe_read'"
fi
# __kconfig values on kernels without global data (before 5.2) fold into constants: a test run of
# kconfig_fold.o's socket filters returns LINUX_KERNEL_VERSION (the version run.ts booted: Debian's
# uname -r does not carry the sublevel) and
# CONFIG_BPF_SYSCALL from a config this check writes to /boot (the rig's kernels have no
# /proc/config.gz); without any config the strong extern is refused with one line.
_kcode=$(kv_code "$VM_KERNEL_VERSION")
if kernel_ge 4.12 && [ ! -e /proc/config.gz ]; then
  check_sh bpfload-kconfig-values "
    out=\$(bpfload run fixtures/kconfig_fold.o --program ret_version --data '00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00' 2>&1); echo \"\$out\" | head -n 2
    echo \"\$out\" | grep -q \"extern 'CONFIG_BPF_SYSCALL' (__kconfig) needs the kernel config\" || exit 1
    mkdir -p /boot && echo 'CONFIG_BPF_SYSCALL=y' > /boot/config-\$(uname -r)
    v=\$(bpfload run fixtures/kconfig_fold.o --program ret_version --data '00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00' 2>&1); echo \"\$v\" | head -n 1
    c=\$(bpfload run fixtures/kconfig_fold.o --program ret_configs --data '00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00' 2>&1); echo \"\$c\" | head -n 1
    rm -f /boot/config-\$(uname -r)
    echo \"\$v\" | grep -q '^retval $_kcode ' && echo \"\$c\" | grep -q '^retval 1 '"
elif [ ! -e /proc/config.gz ]; then
  # no BPF_PROG_TEST_RUN before 4.12: the folded programs load, at least
  check_sh bpfload-kconfig-values "
    mkdir -p /boot && echo 'CONFIG_BPF_SYSCALL=y' > /boot/config-\$(uname -r)
    out=\$(bpfload load fixtures/kconfig_fold.o --no-attach 2>&1); rc=\$?; echo \"\$out\" | head -n 3
    rm -f /boot/config-\$(uname -r)
    [ \$rc = 0 ] && echo \"\$out\" | grep -q 'loaded .ret_configs.'"
else
  vm_skip bpfload-kconfig-values "this check plays a kernel without /proc/config.gz"
fi

# --- BTF in the kernel's hands (issue 9): one object with BTF sent where the kernel takes it and dropped where
# not (said once with --verbose), .rodata folded before 5.2, the C line in a rejection on every kernel (the
# kernel's own from line_info, 5.0+; bpfload's from .BTF.ext before), tp_btf / iterators / fentry / fexit / lsm /
# freplace through bpf_link where the kernel has them. bpftool is not in the guest: bpfload's own output and
# BPF_PROG_TEST_RUN are the observations. ---
if kernel_ge 5.0; then
  check btf9-btf-sent -t 60 -e 'vm_btf.o: BTF loaded into the kernel, func_info/line_info sent with the programs' -- \
    bpfload load fixtures/vm_btf.o --no-attach --verbose
elif kernel_ge 4.18; then
  # BPF_BTF_LOAD (4.18) takes the sanitized BTF for the maps; BPF_PROG_LOAD has no func_info before 5.0
  check btf9-btf-sent -t 60 -e 'vm_btf.o: BTF loaded into the kernel \(for the maps: this kernel takes no func_info' -- \
    bpfload load fixtures/vm_btf.o --no-attach --verbose
else
  check_sh btf9-btf-dropped "
    bpfload load fixtures/vm_btf.o --no-attach --verbose > $VM_TMP/btf9.out 2>&1; rc=\$?; cat $VM_TMP/btf9.out
    n=\$(grep -c 'without its BTF: this kernel has no BTF (BPF_BTF_LOAD, 4.18)' $VM_TMP/btf9.out)
    echo \"exit \$rc, said \$n time(s)\"; [ \$rc = 0 ] && [ \"\$n\" = 1 ] && grep -q \"^loaded 'count'\" $VM_TMP/btf9.out"
fi
# The program adds the const volatile 'step' (--set 5) per fork: global data from 5.2, an immediate before.
check_sh btf9-rodata-step "
  bpfload load fixtures/vm_btf.o --set step=5 --duration 3 > $VM_TMP/btf9.out 2>&1 & pid=\$!
  i=0; while [ \$i -lt 20 ]; do sh -c 'true & wait'; usleep 200000; i=\$((i+1)); done; wait \$pid; rc=\$?
  cat $VM_TMP/btf9.out
  v=\$(sed -n \"/^map 'forks'/,/^map /s/^  0 (00 00 00 00) => \\([0-9]*\\) .*/\\1/p\" $VM_TMP/btf9.out)
  echo \"exit \$rc, forks counted: \$v\"; [ \$rc = 0 ] && [ -n \"\$v\" ] && [ \"\$v\" -gt 0 ] && [ \$((v % 5)) = 0 ]"
if ! kernel_ge 5.2; then
  check btf9-rodata-folded -t 60 -e "^loaded 'fold'" -- bpfload load fixtures/rodata_fold.o --no-attach
fi
# A rejection's log carries the C line on every kernel.
# (the kernel's spelling: "; C text" before 6.3, "; C text @ file:line" after; bpfload's annotation: the latter)
check btf9-rejection-c-line -t 60 -c 1 -e '^; return unchecked\[2\] == 7;' -- \
  bpfload load fixtures/vm_btf.o --program bad --no-attach
# tp_btf (5.5) and task iterators (5.8): vmlinux BTF targets, bpf_link attach.
# Before 5.5 the kernel has no BTF of its own: the refusal names that.
if kernel_ge 5.5; then
  check btf9-tp-btf -t 90 -g 'busybox true' -e 'bpfload tp_btf exec' -- \
    bpfload load fixtures/tracing.o --program on_exec --count 1 --duration 30
else
  check btf9-tp-btf -t 60 -c 1 -e 'no /sys/kernel/btf/vmlinux: .*\(5\.5\+\)|tp_btf/sched_process_exec.*requires Linux >= 5\.5|no BTF tracepoints at all \(tp_btf programs need Linux 5\.5\+\)' -- bpfload load fixtures/tracing.o --program on_exec --duration 0
fi
if kernel_ge 5.8; then
  check btf9-iter-task -t 90 -n 3 -e '^task [0-9]+$' -- bpfload load fixtures/iter_count.o
fi
if [ "$VM_ARCH" = arm64 ] && ! kernel_ge 6.4; then
  # Debian's 6.1 arm64 kernel places no BPF trampoline (measured: ENOTSUPP for fentry, fexit and lsm alike)
  check btf9-fentry-refused -t 60 -c 1 -e 'BPF_RAW_TRACEPOINT_OPEN: ENOTSUPP .*cannot place a BPF trampoline' -- \
    bpfload load fixtures/tracing.o --program enter_nanosleep --count 1 --duration 5
elif kernel_ge 5.5; then
  check btf9-fentry -t 90 -g 'usleep 50000' -e 'bpfload fentry do_nanosleep' -- \
    bpfload load fixtures/tracing.o --program enter_nanosleep --count 1 --duration 30
  check btf9-fexit -t 90 -g 'usleep 50000' -e 'bpfload fexit do_nanosleep ret=' -- \
    bpfload load fixtures/tracing.o --program exit_nanosleep --count 1 --duration 30
fi
# the active LSMs are listed in securityfs, which the initramfs does not mount
[ -e /sys/kernel/security/lsm ] || mount -t securityfs securityfs /sys/kernel/security 2>/dev/null
if [ "$VM_ARCH" = arm64 ] && ! kernel_ge 6.4; then
  vm_skip btf9-lsm "no BPF trampoline on this arm64 kernel (btf9-fentry-refused)"
elif grep -qw bpf /sys/kernel/security/lsm 2>/dev/null; then
  check btf9-lsm -t 90 -g 'cat /proc/version' -e 'bpfload lsm file_open' -- \
    bpfload load fixtures/tracing.o --program check_open --count 1 --duration 30
elif kernel_ge 5.7; then
  vm_skip btf9-lsm "BPF LSM not active: /sys/kernel/security/lsm is '$(cat /sys/kernel/security/lsm 2>/dev/null)' (bpf not in CONFIG_LSM or lsm=)"
fi
# freplace (5.6): XDP_DROP from the replacement while attached, XDP_PASS (the target's own) before and after.
if kernel_ge 5.6; then
  check_sh btf9-freplace "
    P=/sys/fs/bpf/btf9_frep; head -c 64 /dev/zero > $VM_TMP/pkt
    verdict() { bpfload run \$P/xdp_entry --data @$VM_TMP/pkt 2>&1 | head -n 1; }
    bpfload load fixtures/freplace_target.o --pin \$P --no-attach > $VM_TMP/frep.out 2>&1 || { cat $VM_TMP/frep.out; exit 1; }
    before=\$(verdict)
    bpfload load fixtures/freplace.o --target \$P/xdp_entry:decide --duration 60 --verbose > $VM_TMP/frep.out 2>&1 & pid=\$!
    i=0; while [ \$i -lt 100 ] && ! grep -q 'watching trace_pipe' $VM_TMP/frep.out; do usleep 200000; i=\$((i+1)); done
    during=\$(verdict); kill -TERM \$pid; wait \$pid; rc=\$?; after=\$(verdict); rm -rf \$P
    cat $VM_TMP/frep.out; echo \"before: \$before; during: \$during; after: \$after; exit \$rc\"
    [ \"\$before\" = 'retval 2 (XDP_PASS)' ] && [ \"\$during\" = 'retval 1 (XDP_DROP)' ] && [ \"\$after\" = 'retval 2 (XDP_PASS)' ] && [ \$rc = 0 ]"
fi

# --- CO-RE on kernels without BTF (corecli) ---
# fixtures/core_tracing.o reads task->pid and task->real_parent->tgid through CO-RE relocations (bpf_probe_read,
# 4.9's helper) and prints them on every exec. 4.9 and 4.19 have no /sys/kernel/btf/vmlinux: with --btf and the
# file pahole made for that kernel (/vm/btf, from ../shared/vm-kernels) the values printed are those the exec'ing
# shell gives for itself ($$, $PPID); without --btf the load is refused naming it. 5.4 and later: the kernel's BTF.
core_run() {
  rm -f $VM_TMP/core.want $VM_TMP/core.out
  bpfload load fixtures/core_tracing.o --program core_exec --duration 60 "$@" >$VM_TMP/core.out 2>&1 &
  _cbp=$!
  _ci=0; while [ $_ci -lt 400 ] && ! grep -q "attached 'core_exec'" $VM_TMP/core.out 2>/dev/null && kill -0 $_cbp 2>/dev/null; do usleep 100000; _ci=$((_ci+1)); done
  for _cn in 1 2 3; do sh -c "echo \"bpfload core pid=\$\$ ppid=\$PPID\\\$\" >> $VM_TMP/core.want; exec true"; done
  usleep 500000; kill -TERM $_cbp 2>/dev/null; wait $_cbp; _crc=$?
  # (a crash of Bun's runtime under an emulated CPU is shown, so that lib.sh's retry sees it)
  grep -E "core pid=|attached|bpfload:|Bun has crashed" $VM_TMP/core.out | head -n 5; echo "wanted:"; cat $VM_TMP/core.want
  _chits=$(grep -c -E -f $VM_TMP/core.want $VM_TMP/core.out)
  echo "exit $_crc, $_chits lines as wanted"
  [ "$_crc" = 0 ] && [ "$_chits" -ge 3 ] && [ "$(sort -u $VM_TMP/core.want | wc -l)" = 3 ]
}
CORE_BTF=/vm/btf/btf-$VM_KERNEL_VERSION
if kernel_ge 5.4; then
  check bpfload-core-kernel-btf -t 120 -- core_run
elif [ -r "$CORE_BTF" ]; then
  check bpfload-core-no-btf -t 60 -c 1 -e '^bpfload: no BTF for this kernel: use --btf FILE' -- \
    bpfload load fixtures/core_tracing.o --program core_exec --no-attach
  check bpfload-core-btf-file -t 120 -- core_run --btf "$CORE_BTF"
  check bpfload-core-btf-env -t 60 -e 'loaded only' -- env BPFLOAD_BTF="$CORE_BTF" bpfload load fixtures/core_tracing.o --program core_exec --no-attach
else
  vm_skip bpfload-core-btf-file "no BTF file $CORE_BTF for this kernel (../shared/vm-kernels/btf-$VM_KERNEL_VERSION)"
fi
# --- attach kinds of CO-RE programs: ksyscall, kprobe globs and kprobe.multi, the kprobe doctor, usdt ---
# probe_kinds.o prints one line per kind; busybox's ash calls getppid() as it starts, so `sh -c true` fires the
# ksyscall programs. The syscall's symbol is this kernel's: sys_getppid before 4.17, the arch wrapper after.
if ! kernel_ge 4.17; then SYS_GETPPID=sys_getppid; elif [ "$VM_ARCH" = arm64 ]; then SYS_GETPPID=__arm64_sys_getppid; else SYS_GETPPID=__x64_sys_getppid; fi
check attach-ksyscall -t 60 -n 2 -g 'sh -c true' -e 'bpfload ksyscall getppid *$' -- bpfload load fixtures/probe_kinds.o --program on_getppid --duration 3
check attach-ksyscall-symbol -t 60 -e "attached 'on_getppid_ret' to kretsyscall:getppid \\($SYS_GETPPID\\)" -- \
  bpfload load fixtures/probe_kinds.o --program on_getppid_ret --duration 0
check attach-kretsyscall -t 60 -n 2 -g 'sh -c true' -e 'bpfload kretsyscall getppid *$' -- bpfload load fixtures/probe_kinds.o --program on_getppid_ret --duration 3
# kprobe:GLOB with the seed (loaded as a plain kprobe, which a kprobe.multi link does not take): one kprobe per
# matching function (sys_getppid on 4.9; __x64_sys_getppid and __ia32_sys_getppid later), all of them firing.
check attach-kprobe-glob -t 60 -e "attached 'seed' to kprobe:\\*sys_getppid \\([1-9][0-9]* kprobes?: [_a-zA-Z0-9]*sys_getppid" -- bpfload load seed.bin --attach 'kprobe:*sys_getppid' --duration 0
check attach-kprobe-glob-fires -t 60 -n 2 -g 'sh -c true' -e "$HELLO" -- bpfload load seed.bin --attach 'kprobe:*sys_getppid' --duration 3
# kprobe.multi: 5.18+ built with CONFIG_FPROBE; Debian's 6.1 has no CONFIG_FPROBE, so every kernel here refuses
# the link (before 5.18 too), each with its reason, exit 1.
check attach-kprobe-multi-refused -t 60 -c 1 -e 'kprobe.multi' -- bpfload load fixtures/probe_kinds.o --program on_nanosleep_multi --duration 0
# The kprobe doctor: a misspelt function gets this kernel's close names; a syscall written with another arch's
# prefix gets this kernel's name for it; through tracefs (5.4+) the kernel's own reason from error_log too.
check attach-kprobe-doctor -t 60 -x -e 'candidates on this kernel: .*do_sys_open' -- bpfload load seed.bin --attach kprobe:do_sys_opn --duration 0
if kernel_ge 4.17; then WRONG_SYS=__arm64_sys_getppid; [ "$VM_ARCH" = arm64 ] && WRONG_SYS=__x64_sys_getppid; else WRONG_SYS=__x64_sys_getppid; fi
check attach-kprobe-doctor-syscall -t 60 -x -e "candidates on this kernel: $SYS_GETPPID \\(syscall" -- bpfload load seed.bin --attach kprobe:$WRONG_SYS --duration 0
if kernel_ge 5.4; then
  check attach-kprobe-doctor-error-log -t 60 -x -e 'do_sys_open.*trace_kprobe: error: ' -- bpfload load seed.bin --attach kprobe:do_sys_opn --probe-api tracefs --duration 0
fi
# USDT (x86_64 targets built with sys/sdt.h): the values the program reads through the spec bpfload wrote are those
# the target passed (it prints them too). With bpf cookies (5.15+) the spec id comes by cookie and a PIE target works;
# before, by address in __bpf_usdt_ip_to_spec_id, for a non-PIE target only (the PIE one is refused, saying why).
# A site with a semaphore needs the uprobe PMU's ref_ctr_offset (4.20+).
USDT_LINES='usdt (n=5 a=11 b=-22|first=33 c=7 d=200) *$'
if [ "$VM_ARCH" != x64 ]; then
  vm_skip attach-usdt "the USDT targets are x86_64 binaries"
elif kernel_ge 5.15; then
  check attach-usdt -t 60 -n 2 -g 'fixtures/usdt/usdt_target 11 -22 1' -e "$USDT_LINES" -- \
    bpfload load fixtures/usdt_probe.o --attach usdt:/vm/fixtures/usdt/usdt_target:bpfload:args --duration 3
else
  check attach-usdt -t 60 -n 2 -g 'fixtures/usdt/usdt_target_nopie 11 -22 1' -e "$USDT_LINES" -- \
    bpfload load fixtures/usdt_probe_ip.o --attach usdt:/vm/fixtures/usdt/usdt_target_nopie:bpfload:args --duration 3
  check attach-usdt-pie-refused -t 60 -c 1 -e 'no bpf cookies \(5\.15\+\)' -- \
    bpfload load fixtures/usdt_probe_ip.o --attach usdt:/vm/fixtures/usdt/usdt_target:bpfload:args --duration 0
fi
if kernel_ge 5.15; then USDT_OBJ=usdt_probe.o; else USDT_OBJ=usdt_probe_ip.o; fi
if [ "$VM_ARCH" = x64 ]; then
  if kernel_ge 4.20; then
    check attach-usdt-semaphore -t 60 -n 1 -g 'fixtures/usdt/usdt_target_nopie 31 6 1' -e 'usdt n=1 a=31 ' -- \
      bpfload load fixtures/$USDT_OBJ --attach usdt:/vm/fixtures/usdt/usdt_target_nopie:bpfload:guarded --duration 3
  else
    check attach-usdt-semaphore -t 60 -c 1 -e 'semaphore, which only the uprobe PMU of 4\.20\+ can count' -- \
      bpfload load fixtures/usdt_probe_ip.o --attach usdt:/vm/fixtures/usdt/usdt_target_nopie:bpfload:guarded --duration 0
  fi
fi
check_sh attach-cleanup "
  k=\$(cat $T/kprobe_events) u=\$(cat $T/uprobe_events)
  [ -z \"\$k\$u\" ] || { echo 'kprobe_events:'; echo \"\$k\"; echo 'uprobe_events:'; echo \"\$u\"; exit 1; }"
# --- CO-RE (branch core): core.o's relocations (pt_regs.di, task_struct.tgid) resolved against the kernel's own
# /sys/kernel/btf/vmlinux from 5.4 (the rig's 5.4 and Debian's 5.10/6.1 have it); 4.9 and 4.19 have none, and the
# load is refused with the way out (--btf FILE, exit 1) ---
if kernel_ge 5.4 && [ "$VM_ARCH" = arm64 ]; then
  # core.o reads x86's pt_regs.di: arm64's pt_regs has no such member, the relocation is poisoned, and the
  # verifier's rejection is told as that relocation
  check bpfload-core-o-poisoned -t 90 -c 1 -e 'relocation 0 \(struct pt_regs\.di\) could not be resolved on this kernel' -- \
    bpfload load fixtures/core.o --program core_prog --no-attach
elif kernel_ge 5.4; then
  check bpfload-core-o-kernel-btf -t 90 -e "^loaded 'core_prog' as a kprobe program" -- \
    bpfload load fixtures/core.o --program core_prog --no-attach
else
  check_sh bpfload-core-no-kernel-btf "
    out=\$(bpfload load fixtures/core.o --program core_prog --no-attach 2>&1); rc=\$?; echo \"\$out\"
    [ \$rc = 1 ] && echo \"\$out\" | grep -q 'no BTF for this kernel: use --btf FILE'"
fi

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

# --- ev4: flow dissector records, fentry/fexit test runs ---
# The flow dissector through BPF_PROG_ATTACH (4.20-5.6; from 5.7 --net-api netlink takes that path) outlives a
# SIGKILLed bpfload: it is recorded under /run/bpfload, and `bpfload cleanup` in its namespace detaches it. From
# 5.7 a netns link is the oracle: refused (EEXIST) while the dead run's program is attached, taken after cleanup.
cat > $VM_TMP/ev4-fd.sh <<'EOF'
t=$1; links=$2
bpfload load fixtures/ev2_hooks.o --program dissect_ok --attach flow_dissector --net-api netlink >$t/ev4-fd.txt 2>&1 &
pid=$!; i=0
while [ $i -lt 120 ] && ! grep -q '^attached' $t/ev4-fd.txt; do sleep 0.5; i=$((i+1)); done
kill -9 $pid; wait $pid
grep -E '^attached|bpfload:' $t/ev4-fd.txt
ls /run/bpfload | grep -q '_flow_dissector\.json$' || { echo 'no record under /run/bpfload'; exit 1; }
if [ "$links" = 1 ]; then
  bpfload load fixtures/ev2_hooks.o --program dissect_ok --attach flow_dissector --duration 0 >$t/ev4-fd-link.txt 2>&1 &&
    { echo 'a link was taken while the dead run'"'"'s program was attached'; exit 1; }
  grep 'bpfload:' $t/ev4-fd-link.txt
fi
bpfload cleanup --json | tee $t/ev4-fd-clean.txt
grep -q '"detached".*"kind":"flow_dissector"' $t/ev4-fd-clean.txt || { echo 'cleanup detached nothing'; exit 1; }
ls /run/bpfload | grep -q '_flow_dissector\.json$' && { echo 'the record is left'; exit 1; }
if [ "$links" = 1 ]; then
  bpfload load fixtures/ev2_hooks.o --program dissect_ok --attach flow_dissector --duration 0 2>&1 | grep -E '^attached' ||
    { echo 'no link after cleanup'; exit 1; }
fi
true
EOF
if kernel_ge 4.20 && unshare -n true 2>/dev/null; then
  if kernel_ge 5.7; then EV4_LINKS=1; else EV4_LINKS=0; fi
  check_sh ev4-flow-dissector-sigkill "unshare -n sh $VM_TMP/ev4-fd.sh $VM_TMP $EV4_LINKS"
else
  vm_skip ev4-flow-dissector-sigkill "needs 4.20+ (flow dissector programs) and unshare -n"
fi
# fentry/fexit test runs (5.5+): loaded against the kernel's BTF (bpf_fentry_test1), BPF_PROG_TEST_RUN calls the
# kernel's bpf_fentry_test functions: retval 0; before 5.5 `run` refuses naming the version.
check_since 5.5 ev4-fentry-run -t 60 -e '^retval 0$' -- bpfload run fixtures/ev4_fentry.o --program on_test1
check_since 5.5 ev4-fexit-run -t 60 -e '^retval 0$' -- bpfload run fixtures/ev4_fentry.o --program after_test1

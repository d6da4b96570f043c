# The one-shot bench inside a guest (issue 8): a static C loader doing the seed's syscalls
# (test/bench/oneshot.c) beside `bpfload load ... --duration 0`, N runs each, interleaved, timed by
# test/bench/runtimes.c; prints the medians and the ratio on the VMCHECK line. Built and run by
#   npx bun test/bench/vm-oneshot.ts [--kernel 4.9] [runs]
# 4.9 has no BPF on syscalls:* (4.14+): both loaders use raw_syscalls:sys_enter there.
. /vm/lib.sh
X=/vm/extra
N=${VM_BENCH_RUNS:-15}
T=/sys/kernel/tracing
[ -e $T/trace_pipe ] || T=/sys/kernel/debug/tracing
if kernel_ge 4.14; then TP=syscalls:sys_enter_clone; else TP=raw_syscalls:sys_enter; fi
ID=$T/events/$(echo $TP | tr : /)/id

# median FILE: the middle value of the numbers in FILE (microseconds), in ms with one decimal.
median() {
  _n=$(wc -l < "$1")
  sort -n "$1" | sed -n "$(( (_n + 1) / 2 ))p" | awk '{ printf "%.1f", $1 / 1000 }'
}

bench() {
  rm -f "$VM_TMP"/b.* 
  _i=0
  while [ $_i -lt $((N + 2)) ]; do
    # two warm-up rounds (page cache, first exec of the 100 MB executable) are not counted
    _c=$($X/runtimes $X/cloader /vm/seed.bin $ID) || { vm_fail bench-oneshot "C loader failed on $TP"; return; }
    _b=$($X/runtimes /bin/bpfload load /vm/seed.bin --attach tracepoint:$TP --duration 0) || { vm_fail bench-oneshot "bpfload failed on $TP"; return; }
    _v=$($X/runtimes /bin/bpfload --version) || { vm_fail bench-oneshot "bpfload --version failed"; return; }
    _l=$($X/runtimes /bin/bpfload load /vm/seed.bin --type tracepoint --no-attach) || { vm_fail bench-oneshot "bpfload --no-attach failed"; return; }
    if [ $_i -ge 2 ]; then
      echo $_c >> "$VM_TMP"/b.c; echo $_b >> "$VM_TMP"/b.b; echo $_v >> "$VM_TMP"/b.v; echo $_l >> "$VM_TMP"/b.l
    fi
    _i=$((_i + 1))
  done
  _mc=$(median "$VM_TMP"/b.c); _mb=$(median "$VM_TMP"/b.b)
  _ratio=$(echo "$_mb $_mc" | awk '{ printf "%.2f", $1 / $2 }')
  vm_pass bench-oneshot "$TP, median of $N: bpfload $_mb ms, C loader $_mc ms, ratio ${_ratio}x; bpfload --version $(median "$VM_TMP"/b.v) ms, --no-attach $(median "$VM_TMP"/b.l) ms"
}
bench

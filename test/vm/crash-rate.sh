# How often Bun's runtime crashes in a guest (arm64 under TCG: guest/lib.sh retries such runs). Not a check of
# bpfload: run by hand, `bun test/vm/run.ts --arch arm64 --checks test/vm/crash-rate.sh --timeout 900`
# (CRASH_N runs of three commands; BPFLOAD_VM_CPU=max to compare with the -cpu model run.ts boots).
. /vm/lib.sh
cd /vm
N=${CRASH_N:-40}
i=0; c1=0; c2=0; c3=0; t0=$(vm_uptime)
while [ $i -lt $N ]; do
  bpfload disasm fixtures/tracing.o > /tmp/o1 2>&1; grep -q "Bun has crashed" /tmp/o1 && { c1=$((c1+1)); grep -m3 -E "panic|Segmentation|Illegal" /tmp/o1 | sed 's/^/VMLOG disasm| /'; }
  bpfload probe > /tmp/o2 2>&1; grep -q "Bun has crashed" /tmp/o2 && { c2=$((c2+1)); grep -m3 -E "panic|Segmentation|Illegal" /tmp/o2 | sed 's/^/VMLOG probe| /'; }
  bpfload load fixtures/tracing.o --program enter_nanosleep --count 1 --duration 1 > /tmp/o3 2>&1; grep -q "Bun has crashed" /tmp/o3 && { c3=$((c3+1)); grep -m3 -E "panic|Segmentation|Illegal" /tmp/o3 | sed 's/^/VMLOG load| /'; }
  i=$((i+1))
done
t1=$(vm_uptime)
echo "VMCHECK PASS crash-rate ($N x 3 runs in $(awk "BEGIN{print $t1-$t0}")s: crashes disasm=$c1 probe=$c2 load=$c3)"
# The kprobe doctor's search (JIT-heavy): the command that crashed most under -cpu max.
i=0; c=0
while [ $i -lt 8 ]; do
  bpfload load seed.bin --attach kprobe:do_sys_opn --duration 0 > /tmp/o4 2>&1
  grep -q "Bun has crashed" /tmp/o4 && { c=$((c+1)); grep -m1 "panic" /tmp/o4 | sed 's/^/VMLOG doctor| /'; }
  i=$((i+1))
done
echo "VMCHECK PASS crash-rate-doctor (8 runs: crashes=$c)"

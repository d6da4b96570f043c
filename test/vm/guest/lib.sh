# Helpers for VM checks (busybox sh), sourced by checks.sh. Output protocol, one line each, parsed by run.ts:
#   VMCHECK PASS <name> [(<secs>s)]
#   VMCHECK FAIL <name>: <reason>
#   VMCHECK SKIP <name>: <reason>
#   VMLOG <name>| <line>        (the last lines of a failed check's output)

VM_TMP=${VM_TMP:-/tmp/vmcheck}
mkdir -p "$VM_TMP"

vm_uptime() { read _u _ </proc/uptime; echo "$_u"; }

# vm_pass NAME [NOTE] [LOGFILE]: with VM_SHOW_OUTPUT=1 (run.ts --show-output) the log goes along too.
vm_pass() {
  echo "VMCHECK PASS $1${2:+ ($2)}"
  if [ "$VM_SHOW_OUTPUT" = 1 ] && [ -n "$3" ] && [ -s "$3" ]; then tail -n "${VM_LOG_LINES:-15}" "$3" | sed "s/^/VMLOG $1| /"; fi
}
vm_skip() { echo "VMCHECK SKIP $1: $2"; }
# vm_fail NAME REASON [LOGFILE]
vm_fail() {
  echo "VMCHECK FAIL $1: $2"
  if [ -n "$3" ] && [ -s "$3" ]; then tail -n "${VM_LOG_LINES:-15}" "$3" | sed "s/^/VMLOG $1| /"; fi
}

# Runs shell code every ~0.2 s, forever (a trigger for the probe under test; killed by check).
vm_trigger_loop() { while :; do eval "$1"; usleep 200000; done; }
# A fork through the clone syscall (busybox is static glibc: its fork() calls clone) and an exec of busybox.
VM_FORK="sh -c 'true & wait'"

# Kernel version gates, from the version run.ts says it booted (never from what bpfload reports).
# kv_code 4.9.229 -> LINUX_VERSION_CODE-like number (sublevel capped at 255 as the kernel does).
kv_code() {
  _IFS=$IFS; IFS=.; set -- $1; IFS=$_IFS
  _p=${3:-0}; [ "$_p" -gt 255 ] && _p=255
  echo $(( ${1:-0} * 65536 + ${2:-0} * 256 + _p ))
}
# kernel_ge 4.16: the guest kernel is 4.16 or newer.
kernel_ge() { [ "$(kv_code "$VM_KERNEL_VERSION")" -ge "$(kv_code "$1")" ]; }

# check_since VERSION NAME [check options] -- CMD ARGS...
#   From VERSION on: `check NAME [options] -- CMD` (the feature works). Before it: bpfload must refuse with
#   exit 1 and name the version ("... (requires Linux >= VERSION)"), which is what a user on that kernel sees.
check_since() {
  _v=$1; _cn=$2; shift 2
  if kernel_ge "$_v"; then check "$_cn" "$@"; return; fi
  while [ $# -gt 0 ] && [ "$1" != -- ]; do shift; done
  check "$_cn" -t 60 -c 1 -e "requires Linux >= $(echo "$_v" | sed 's/\./\\./g')" "$@"
}

# check NAME [-t SECS] [-e REGEX] [-n MIN] [-f] [-g CODE] [-x] [-c CODE] -- CMD ARGS...
#   PASS when CMD exits 0 within SECS (default 30) and, with -e, at least MIN (default 1) output lines match REGEX.
#   -f: fork in the background every ~0.2 s while CMD runs (for probes on the clone syscall).
#   -g CODE: run shell CODE in the background every ~0.2 s while CMD runs (any other trigger).
#   -x: CMD must exit non-zero instead; -c CODE: CMD must exit with CODE.
# On timeout CMD gets SIGTERM, then SIGKILL 3 s later. The output is in $VM_TMP/NAME.out afterwards.
# Under an emulated foreign CPU (VM_RETRY_RUNTIME_CRASH=1: arm64 guests on an x86_64 host) the arm64 Bun
# runtime crashed now and then inside itself (its "oh no: Bun has crashed" report: segfaults at small or
# non-canonical addresses, aborts; never in x86_64 guests or on the host). Measured 2026-12-02: it was
# qemu's `-cpu max` (6 of 8 runs of the kprobe doctor's JIT-heavy search crashed; 2 of 8 with pauth=off;
# 0 of 8 with neoverse-n1 or cortex-a57); run.ts now boots neoverse-n1, where a whole boot had none.
# As a safety net such a run, or a hang, is still tried again, up to twice per check and 10 times per
# boot, and the result says so. Any other failure (a wrong exit code, missing lines) fails at once.
VM_RETRIES=0
VM_RETRY_BUDGET=10
check() {
  _check_run "$@" && { vm_pass "$_name" "$_dt" "$_out"; return 0; }
  _first=$_fmsg; _tries=0
  while [ "$VM_RETRY_RUNTIME_CRASH" = 1 ] && [ "$VM_RETRIES" -lt "$VM_RETRY_BUDGET" ] && [ "$_tries" -lt 2 ] &&
     { [ -e "$VM_TMP/$_name.timedout" ] || grep -q "Bun has crashed" "$_out"; }; do
    VM_RETRIES=$((VM_RETRIES + 1)); _tries=$((_tries + 1))
    _check_run "$@" && { vm_pass "$_name" "$_dt; passed on try $((_tries + 1)): the first run crashed or hung inside Bun's runtime under qemu ($_first)" "$_out"; return 0; }
  done
  vm_fail "$_name" "$_fmsg" "$_out"
  return 1
}

# One run of a check: 0 when it passed, else 1 with the reason in _fmsg.
_check_run() {
  _name=$1; shift
  _secs=30; _re=""; _min=1; _trig=""; _neg=0; _want=""
  while [ $# -gt 0 ]; do
    case "$1" in
      -t) _secs=$2; shift 2 ;;
      -e) _re=$2; shift 2 ;;
      -n) _min=$2; shift 2 ;;
      -f) _trig=$VM_FORK; shift ;;
      -g) _trig=$2; shift 2 ;;
      -x) _neg=1; shift ;;
      -c) _want=$2; shift 2 ;;
      --) shift; break ;;
      *) break ;;
    esac
  done
  _out=$VM_TMP/$_name.out
  rm -f "$VM_TMP/$_name.timedout"
  _t0=$(vm_uptime)
  _fpid=""
  if [ -n "$_trig" ]; then vm_trigger_loop "$_trig" >/dev/null 2>&1 & _fpid=$!; fi
  "$@" >"$_out" 2>&1 </dev/null &
  _pid=$!
  ( sleep "$_secs"; touch "$VM_TMP/$_name.timedout"; kill -TERM $_pid 2>/dev/null; sleep 3; kill -KILL $_pid 2>/dev/null ) >/dev/null 2>&1 &
  _wd=$!
  wait $_pid
  _rc=$?
  kill $_wd 2>/dev/null
  if [ -n "$_fpid" ]; then kill $_fpid 2>/dev/null; wait $_fpid 2>/dev/null; fi
  _t1=$(vm_uptime)
  _dt=$(awk "BEGIN{printf \"%.1fs\", $_t1 - $_t0}")
  if [ -e "$VM_TMP/$_name.timedout" ]; then _fmsg="timed out after ${_secs}s (exit $_rc): $*"; return 1; fi
  if [ -n "$_want" ]; then
    if [ "$_rc" != "$_want" ]; then _fmsg="exit $_rc, expected $_want: $*"; return 1; fi
  elif [ $_neg = 1 ]; then
    if [ $_rc = 0 ]; then _fmsg="exit 0, expected failure: $*"; return 1; fi
  elif [ $_rc != 0 ]; then
    _fmsg="exit $_rc: $*"; return 1
  fi
  if [ -n "$_re" ]; then
    _hits=$(grep -c -E -e "$_re" "$_out")
    if [ "$_hits" -lt "$_min" ]; then _fmsg="$_hits line(s) match /$_re/, wanted >= $_min: $*"; return 1; fi
    _dt="$_dt, $_hits x /$_re/"
  fi
  return 0
}

# check_sh NAME SHELL-CODE: PASS when the code exits 0 (its output is shown on failure).
check_sh() { _n=$1; shift; check "$_n" -t 30 -- sh -c "$1"; }

# has_feature WORD: the executable's help (global and `load`) mentions WORD. Gates checks of features that are
# still being written: once the CLI documents them they are tested, before that they SKIP with the reason.
has_feature() {
  [ -e "$VM_TMP/help.txt" ] || { bpfload --help; bpfload load --help; } >"$VM_TMP/help.txt" 2>&1
  grep -q -e "$1" "$VM_TMP/help.txt"
}

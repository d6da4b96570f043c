#!/bin/sh
# Conformance against the kernel's own BPF selftests (run by hand, as root, not by npm test):
# builds tools/testing/selftests/bpf/progs/*.c of Debian's linux-source-6.1 with clang 14 and a
# vmlinux.h of this kernel, then loads every object that holds programs twice: with
# `bpfload load OBJ --no-attach` and with `bpftool prog loadall OBJ DIR` (libbpf). An object counts
# when every program of it loads. Prints both counts, bpfload's first error for each object that
# bpftool loads and bpfload does not, and a table of those errors' causes.
#   Usage: test/conformance/selftests.sh [PATTERN]   (PATTERN: a glob of progs/ names, default *)
#   Environment: WORK (default test/conformance/work), OUT (results, default $WORK/out), BPFLOAD (the
#   bpfload to run, default this tree's src/main.ts), SRC (default /usr/src/linux-source-6.1.tar.xz),
#   LOCK (default /tmp/bpfload-kernel.lock, taken around each kernel-touching command)
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
WORK=${WORK:-$HERE/work}
SRC=${SRC:-/usr/src/linux-source-6.1.tar.xz}
LOCK=${LOCK:-/tmp/bpfload-kernel.lock}
PATTERN=${1:-*}
OUT=${OUT:-$WORK/out}
BPFLOAD=${BPFLOAD:-"$REPO/node_modules/.bin/bun $REPO/src/main.ts"}
PIN=/sys/fs/bpf/bpfload-conformance-$$

[ "$(id -u)" = 0 ] || { echo "selftests.sh: run as root (it loads programs)" >&2; exit 2; }
for t in clang bpftool xz; do command -v $t >/dev/null || { echo "selftests.sh: needs $t" >&2; exit 2; }; done
mkdir -p "$WORK/obj" "$WORK/out" "$OUT"
trap 'rm -rf "$PIN"' EXIT
trap 'exit 130' INT TERM

# 1. sources: the selftests, tools/include and libbpf headers only
TREE="$WORK/linux-source-6.1"
if [ ! -d "$TREE/tools/testing/selftests/bpf/progs" ]; then
	echo "extracting $SRC (selftests, tools/include, tools/lib/bpf) ..." >&2
	tar -C "$WORK" -xJf "$SRC" --wildcards 'linux-source-6.1/tools/testing/selftests/bpf/*' 'linux-source-6.1/tools/include/*' 'linux-source-6.1/tools/lib/bpf/*'
fi
SELF="$TREE/tools/testing/selftests/bpf"
[ -f "$WORK/vmlinux.h" ] || bpftool btf dump file /sys/kernel/btf/vmlinux format c > "$WORK/vmlinux.h"

# 2. build (the selftests Makefile's BPF_CFLAGS and CLANG_SYS_INCLUDES, with libbpf's installed headers)
SYS=$(clang -v -E - </dev/null 2>&1 | sed -n '/<...> search starts here:/,/End of search list./p' | grep '^ ' | sed 's/^ */-idirafter /' | tr '\n' ' ')
built=0; unbuilt=0
for c in "$SELF"/progs/$PATTERN.c; do
	n=$(basename "$c" .c)
	o="$WORK/obj/$n.o"
	if [ ! -f "$o" ] || [ "$c" -nt "$o" ]; then
		# shellcheck disable=SC2086
		if clang -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_x86 -I"$WORK" -I"$SELF" -I"$TREE/tools/include/uapi" $SYS \
			-Wno-compare-distinct-pointer-types -c "$c" -o "$o" 2>"$WORK/out/$n.cc"; then :; else rm -f "$o"; unbuilt=$((unbuilt + 1)); continue; fi
	fi
	built=$((built + 1))
done
echo "built $built objects ($unbuilt did not compile with clang 14: see $WORK/out/*.cc)" >&2

# 3. load each program-bearing object both ways
total=0; ours=0; theirs=0
: > "$OUT/missing.txt"
for o in "$WORK"/obj/$PATTERN.o; do
	[ -f "$o" ] || continue
	n=$(basename "$o" .o)
	# program-bearing: an executable section with instructions other than .text (libbpf loads
	# .text functions only as subprograms: an object with nothing else has no program to load)
	llvm-objdump -h "$o" | awk '$2 != ".text" && $3 != "00000000" && / TEXT/ { f = 1 } END { exit !f }' || continue
	total=$((total + 1))
	# shellcheck disable=SC2086
	if flock "$LOCK" timeout 300 $BPFLOAD load "$o" --no-attach >"$OUT/$n.bpfload" 2>&1; then b=1; ours=$((ours + 1)); else b=0; fi
	rm -rf "$PIN"
	# libbpf pins maps marked LIBBPF_PIN_BY_NAME at /sys/fs/bpf/NAME (test_pinning, test_sk_assign):
	# whatever appears in /sys/fs/bpf during the (locked) run is removed again
	if flock "$LOCK" sh -c "ls /sys/fs/bpf > '$WORK/bpffs.before'; timeout 300 bpftool prog loadall '$o' '$PIN' >'$OUT/$n.bpftool' 2>&1; rc=\$?; rm -rf '$PIN';
		ls /sys/fs/bpf | grep -vxF -f '$WORK/bpffs.before' | while read -r f; do rm -rf \"/sys/fs/bpf/\$f\"; done; exit \$rc"; then t=1; theirs=$((theirs + 1)); else t=0; fi
	if [ $t = 1 ] && [ $b = 0 ]; then
		first=$(grep -m1 '^bpfload:' "$OUT/$n.bpfload" || head -n1 "$OUT/$n.bpfload")
		printf '%s\t%s\n' "$n" "$first" >> "$OUT/missing.txt"
	fi
done

echo "program-bearing objects: $total"
echo "loaded by bpfload:       $ours"
echo "loaded by bpftool:       $theirs"
echo
echo "bpftool loads, bpfload does not ($(wc -l < "$OUT/missing.txt")):"
cat "$OUT/missing.txt"
echo
echo "causes (bpfload's first error, names and numbers blanked):"
cut -f2 "$OUT/missing.txt" | sed -E "s#'[^']*'#'…'#g; s#/[^ :]*##g; s#[0-9]+#N#g" | cut -c1-150 | sort | uniq -c | sort -rn

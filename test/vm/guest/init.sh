#!/bin/sh
# /init of the test VM (busybox sh). Mounts what bpfload needs, runs /vm/checks.sh, prints its
# VMCHECK lines on the serial console and powers off. The host side (test/vm/run.ts) parses the output.
/bin/busybox --install -s
export PATH=/bin:/sbin:/usr/bin:/usr/sbin HOME=/root TERM=dumb
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mount -t tmpfs tmpfs /tmp
mount -t tracefs tracefs /sys/kernel/tracing
mount -t debugfs debugfs /sys/kernel/debug
mkdir -p /sys/fs/bpf && mount -t bpf bpf /sys/fs/bpf 2>/dev/null
ip link set lo up 2>/dev/null
set -a; . /vm/env; set +a
read up _ </proc/uptime
echo "VMBOOT uptime=$up kernel=$(uname -r) machine=$(uname -m) cpus=$(grep -c ^processor /proc/cpuinfo) binary=$VM_BINARY_KIND"
cd /vm
sh /vm/checks.sh </dev/null 2>&1
read up _ </proc/uptime
echo "VMDONE uptime=$up"
sync
poweroff -f
# poweroff -f should not return; if it does, panic=-1 and qemu's -no-reboot end the VM when init exits.

#!/bin/sh
# /init of the test VM (busybox sh). Mounts what bpfload needs, runs /vm/checks.sh, prints its
# VMCHECK lines on the serial console and powers off. The host side (test/vm/run.ts) parses the output.
/bin/busybox --install -s
export PATH=/bin:/sbin:/usr/bin:/usr/sbin HOME=/root TERM=dumb
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mount -t tmpfs tmpfs /tmp
mount -t debugfs debugfs /sys/kernel/debug
mkdir -p /sys/fs/bpf && mount -t bpf bpf /sys/fs/bpf 2>/dev/null
ip link set lo up 2>/dev/null
set -a; . /vm/env; set +a
# The kernel run.ts booted, as it must be (bpfload.kver=4.9.229 bpfload.krel=4.9.229 on the command line).
for w in $(cat /proc/cmdline); do
  case "$w" in
    bpfload.kver=*) VM_KERNEL_VERSION=${w#*=} ;;
    bpfload.krel=*) VM_KERNEL_RELEASE=${w#*=} ;;
  esac
done
export VM_KERNEL_VERSION VM_KERNEL_RELEASE
# Debian 9 (4.9) mounts only debugfs: tracefs is reachable as /sys/kernel/debug/tracing alone, and bpfload
# must find it there. Later systems mount it at /sys/kernel/tracing too.
case "$VM_KERNEL_VERSION" in
  4.9|4.9.*) ;;
  *) mount -t tracefs tracefs /sys/kernel/tracing ;;
esac
read up _ </proc/uptime
echo "VMBOOT uptime=$up kernel=$(uname -r) expected=$VM_KERNEL_VERSION machine=$(uname -m) cpus=$(grep -c ^processor /proc/cpuinfo) binary=$VM_BINARY_KIND"
cd /vm
sh /vm/checks.sh </dev/null 2>&1
read up _ </proc/uptime
echo "VMDONE uptime=$up"
sync
poweroff -f
# poweroff -f should not return; if it does, panic=-1 and qemu's -no-reboot end the VM when init exits.

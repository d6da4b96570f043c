#!/bin/sh
# Host packages for the VM rig (Debian 12, as root); idempotent, for .ci/run before `bun test/vm/run.ts`.
# - qemu-system-x86 (qemu-system-x86_64) and qemu-system-arm (qemu-system-aarch64), without recommends (no GUI).
# - the arm64 foreign architecture, so `apt-get download linux-image-6.1.0-N-arm64:arm64 libc6:arm64
#   busybox-static:arm64` works (nothing arm64 gets installed).
# - fresh package lists (a stale list names a kernel ABI the mirror no longer has).
# Without root or apt it only says what is missing: run.ts then reports SKIP with the reason.
set -u
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "test/vm/setup.sh: not root or no apt-get; not installing anything" >&2
  exit 0
fi
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
  dpkg --add-architecture arm64
fi
apt-get update -q >/dev/null 2>&1 || echo "test/vm/setup.sh: apt-get update failed (offline?); cached packages will be used" >&2
need=""
command -v qemu-system-x86_64 >/dev/null 2>&1 || need="$need qemu-system-x86"
command -v qemu-system-aarch64 >/dev/null 2>&1 || need="$need qemu-system-arm"
if [ -n "$need" ]; then
  echo "test/vm/setup.sh: installing$need" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $need >/dev/null ||
    echo "test/vm/setup.sh: apt-get install$need failed" >&2
fi
exit 0

// A read-only, private mapping of a whole file, for the kernel's BTF: /sys/kernel/btf/vmlinux can
// be mapped since Linux 6.16, where read(2) gives it one 4 KiB page per call (~1,350 calls, 6-12 ms
// of a CO-RE load through bun:ffi). The pages are the kernel's own: no copy, none of our RSS.
import { mappedBuffer, syscall } from "./libc.ts";

// Not in arch.ts's table (owned elsewhere), as in mmap.ts.
const NR_MMAP = process.arch === "arm64" ? 222 : 9;
const PROT_READ = 1;
const MAP_PRIVATE = 2;

/**
 * The first `size` bytes of the file `fd` as a read-only Uint8Array over a mapping that stays for
 * the process (never unmapped: keep it only for data kept as long), or undefined when the file
 * cannot be mapped (older kernels: ENODEV). Writing to it kills the process (SIGSEGV): read only.
 */
export function mapFileReadOnly(fd: number, size: number): Uint8Array | undefined {
  if (size <= 0) return undefined;
  const r = syscall(NR_MMAP, 0, size, PROT_READ, MAP_PRIVATE, fd, 0);
  if (r.ret < 0) return undefined;
  return new Uint8Array(mappedBuffer(r.ret, size));
}

// The kernel's vmlinux BTF is mapped (6.16+: the kernel's own pages, read-only) instead of read a
// 4 KiB page per read(2). Oracle: node's readFileSync of the same file, and /proc/self/maps for
// whether the bytes bpfload indexes are the mapping. Reads files only.
import { describe, expect, test } from "bun:test";
import { ptr } from "bun:ffi";
import { existsSync, readFileSync } from "node:fs";
import { BTF_DIR, btfSource, vmlinuxBtf } from "../../src/kernel/btf/attach-target.ts";
import { mapFileReadOnly } from "../../src/sys/map-file.ts";
import { openFile, statFd } from "../../src/sys/files.ts";
import { close } from "../../src/sys/fd.ts";

const VMLINUX = `${BTF_DIR}/vmlinux`;
/** Can this kernel map it? (Asked with python's mmap, not with the code under test.) */
const mappable = existsSync(VMLINUX) && Bun.spawnSync(["python3", "-c", `import mmap,os;fd=os.open("${VMLINUX}",os.O_RDONLY);mmap.mmap(fd,os.fstat(fd).st_size,mmap.MAP_PRIVATE,mmap.PROT_READ)`]).exitCode === 0;
const skip = !existsSync(VMLINUX) ? `no ${VMLINUX}` : !mappable ? `${VMLINUX} cannot be mapped on this kernel (before 6.16): read instead` : undefined;
if (skip) console.warn(`[skip] vmlinux BTF mapping: ${skip}`);

describe.skipIf(skip !== undefined)("vmlinux BTF mapped", () => {
  test("mapFileReadOnly gives the file's bytes, exactly its size", () => {
    const fd = openFile(VMLINUX);
    try {
      const size = statFd(fd).size;
      const mapped = mapFileReadOnly(fd, size)!;
      expect(mapped).toBeDefined();
      expect(mapped.length).toBe(size);
      expect(Buffer.compare(Buffer.from(mapped), readFileSync(VMLINUX))).toBe(0);
    } finally {
      close(fd);
    }
  });

  test("vmlinuxBtf() indexes the mapping, not a copy", () => {
    const saved = btfSource.dir;
    btfSource.dir = BTF_DIR;
    try {
      const btf = vmlinuxBtf();
      expect(Buffer.compare(Buffer.from(btf.bytes), readFileSync(VMLINUX))).toBe(0);
      // the mapping of the file that holds the bytes' address
      const at = BigInt(ptr(btf.bytes));
      const holder = readFileSync("/proc/self/maps", "utf8").split("\n").find((l) => {
        const [lo, hi] = l.split(" ")[0]!.split("-").map((x) => BigInt(`0x${x || 0}`));
        return lo! <= at && at < hi!;
      });
      expect(holder).toEndWith(VMLINUX);
      expect(btf.find(4 /* BTF_KIND_STRUCT */, "task_struct")).toBeDefined();
    } finally {
      btfSource.dir = saved;
    }
  });

  test("a file that cannot be mapped (procfs) gives undefined, not an error", () => {
    const fd = openFile("/proc/self/status");
    try {
      expect(mapFileReadOnly(fd, 4096)).toBeUndefined();
      expect(mapFileReadOnly(fd, 0)).toBeUndefined();
    } finally {
      close(fd);
    }
  });
});

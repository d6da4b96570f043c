// Stand-in for the bpfload executable while it does not exist yet (run.ts --standin compiles this with
// `bun build --compile`): proves a compiled Bun executable starts in the guest (glibc libs, x86-64-v2 CPU)
// and that bun:ffi can dlopen the guest's libc.
import { dlopen } from "bun:ffi";

const arg = process.argv[2];
if (arg === "--version") {
  console.log(`bpfload-standin 0.0.0 (bun ${Bun.version}, ${process.platform}/${process.arch})`);
} else if (arg === "ffi") {
  const libc = dlopen("libc.so.6", { getpid: { args: [], returns: "i32" } });
  console.log(`ffi getpid=${libc.symbols.getpid() === process.pid ? 1 : 0}`);
} else {
  console.error("usage: standin --version | ffi");
  process.exit(2);
}

// System call numbers differ between x86_64 and aarch64 (the generic table); chosen once at start-up.

const TABLES = {
  x64: { read: 0, close: 3, ioctl: 16, mount: 165, bpf: 321, perf_event_open: 298, prlimit64: 302, socket: 41, bind: 49, setsockopt: 54, openat: 257, write: 1, pread64: 17, faccessat: 269, mkdirat: 258, lseek: 8, fstat: 5, ppoll: 271, fcntl: 72 },
  arm64: { read: 63, close: 57, ioctl: 29, mount: 40, bpf: 280, perf_event_open: 241, prlimit64: 261, socket: 198, bind: 200, setsockopt: 208, openat: 56, write: 64, pread64: 67, faccessat: 48, mkdirat: 34, lseek: 62, fstat: 80, ppoll: 73, fcntl: 25 },
} as const;

export type SyscallName = keyof (typeof TABLES)["x64"];

function table(arch: string): Record<SyscallName, number> {
  if (arch === "x64" || arch === "arm64") return TABLES[arch];
  throw new Error(`bpfload runs on x86_64 and arm64 Linux only (this is ${process.platform}/${arch})`);
}

export const NR: Record<SyscallName, number> = table(process.arch);
export const syscallTables = TABLES;

// What bpfload may do to the whole process, decided by whoever owns the process (the CLI calls
// lib/setup.ts `setup()`): a library imported into someone's `bun test` must not quietly raise
// RLIMIT_MEMLOCK, mount filesystems or install signal handlers that exit. All off by default.
export const processPolicy = {
  /** Raise RLIMIT_MEMLOCK before the first map or program (kernels before 5.11 charge BPF memory to it). */
  memlock: false,
  /** Mount tracefs / the BPF filesystem when they are not mounted. */
  mounts: false,
};

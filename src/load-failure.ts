// When bpfload's own code cannot be loaded or started — a lazily imported module that cannot be
// read (too many open files), or bun:ffi without its JIT (an address-space limit too small for
// Bun) — the cause is the system's limits, not a bug: this names the limit and what to do, as one
// line. Pure and import-free, so that src/main.ts can use it when nothing else would load.

const ERRNO_FIX: Record<string, string> = {
  EMFILE: "too many open files: raise ulimit -n (e.g. ulimit -n 65536)",
  ENFILE: "the system's open-file table is full: close files, or raise fs.file-max",
  ENOMEM: "out of memory: free memory, or raise ulimit -v",
};

/**
 * The one-line message for a failure to load or start bpfload's code, or undefined when `e` is not
 * one. `fdErrno` says, for a "cannot find module" (which Bun reports when it could not open the
 * file), whether opening a file fails right now, and with which errno.
 */
export function loadFailureMessage(e: unknown, fdErrno?: () => string | undefined): string | undefined {
  const err = e as { message?: unknown; code?: unknown } | undefined;
  const text = String(err?.message ?? e);
  if (/requires the JIT/i.test(text)) {
    return "cannot start: Bun's JIT (needed for bun:ffi) could not reserve its memory: the address-space limit (ulimit -v) or data limit (ulimit -d) is too small: raise it (ulimit -v unlimited, or 4 GB and more)";
  }
  let errno = typeof err?.code === "string" && err.code in ERRNO_FIX ? err.code : text.match(/\b(EMFILE|ENFILE|ENOMEM)\b/)?.[1];
  if (errno === undefined && /cannot find (module|package)/i.test(text)) errno = fdErrno?.();
  if (errno === undefined || !(errno in ERRNO_FIX)) return undefined;
  return `cannot load bpfload's own code: ${errno}: ${ERRNO_FIX[errno]}`;
}

// The process-wide things bpfload can do, done only when the owner of the process asks.
import { installExitHooks } from "../kernel/cleanup.ts";
import { processPolicy } from "../kernel/policy.ts";

export interface SetupOptions {
  /**
   * Raise RLIMIT_MEMLOCK before the first map or program is created. Kernels before 5.11 charge
   * BPF memory to it (64 KiB on older distributions: map creation fails with EPERM); 5.11+ use
   * memcg accounting and need nothing. Best effort: without CAP_SYS_RESOURCE, up to the hard limit.
   */
  memlock?: boolean;
  /**
   * Install SIGINT/SIGTERM/SIGHUP handlers that remove bpfload's probe events and netlink
   * attachments, then exit the process with 128+signal (only while no other handler for that
   * signal is installed). Without them a signal's default action kills the process and leaves
   * tracefs probe events behind (the next run, or `bpfload cleanup`, removes them).
   */
  signals?: boolean;
  /** Mount tracefs (/sys/kernel/tracing) or the BPF filesystem (/sys/fs/bpf) when they are missing. */
  mounts?: boolean;
}

/**
 * Allows bpfload to change the whole process: the CLI calls `setup({ memlock: true, signals: true,
 * mounts: true })` first thing. A library user (a `bun test` file) usually needs none of it: on
 * 5.11+ memlock does not matter, tracefs and bpffs are mounted, and the test runner owns signals.
 * Without `setup`, the library only registers an `exit` listener that undoes what is still
 * attached (probe events) when the process ends normally; it never calls `process.exit`.
 * Calling it again only adds permissions; there is no undo (handlers stay for the process).
 * Minimum kernel: 4.9 (memlock matters only before 5.11, memcg accounting after).
 *
 *     import { setup } from "bpfload";
 *     setup({ memlock: true }); // a 4.19 CI kernel
 */
export function setup(opts: SetupOptions = {}): void {
  if (opts.memlock) processPolicy.memlock = true;
  if (opts.mounts) processPolicy.mounts = true;
  if (opts.signals) installExitHooks();
}

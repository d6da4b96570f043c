// Everything bpfload creates in the kernel that outlives its file descriptors (tracefs probe
// events) or that should be detached promptly registers an undo action here. The actions run on
// every way out: normal return, an error, a signal, or process exit. They are synchronous, because
// an exit handler cannot wait.

const actions = new Set<() => void>();
let hooked = false;

const SIGNAL_NUMBERS = { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 } as const;

let exitHooked = false;

/** Runs the undo actions when the process exits normally (no signal handler, no exit of our own). */
function installExitHook(): void {
  if (exitHooked) return;
  exitHooked = true;
  process.on("exit", runCleanup);
}

/**
 * Runs the undo actions on exit, and on a signal that arrives while nothing else handles it (while
 * a watch runs, the watch stops on the signal and the caller cleans up in order). The CLI calls it
 * before any command runs, so there is no moment where a signal's default action kills bpfload with
 * something created and no handler yet. A library user asks for it with `setup({ signals: true })`:
 * the handlers exit the process, which is the process owner's decision, never the library's.
 */
export function installExitHooks(): void {
  installExitHook();
  if (hooked) return;
  hooked = true;
  for (const [sig, num] of Object.entries(SIGNAL_NUMBERS)) {
    const onSignal = () => {
      if (process.listenerCount(sig) > 1) return;
      runCleanup();
      process.exit(128 + num);
    };
    process.on(sig, onSignal);
  }
}

/** Registers an undo action; returns the function that unregisters it (after a normal close). */
export function onCleanup(action: () => void): () => void {
  installExitHook();
  actions.add(action);
  return () => actions.delete(action);
}

/** Runs every pending undo action, newest first; errors are collected, not thrown mid-way. */
export function runCleanup(): string[] {
  const problems: string[] = [];
  for (const action of [...actions].reverse()) {
    actions.delete(action);
    try {
      action();
    } catch (e) {
      problems.push((e as Error).message);
    }
  }
  return problems;
}

export function pendingCleanups(): number {
  return actions.size;
}

/** The undo actions pending now: pass to runCleanupSince to undo only what was created after. */
export function cleanupMark(): ReadonlySet<() => void> {
  return new Set(actions);
}

/** Runs the undo actions registered since `mark` (newest first): a test's leftovers, not its file's. */
export function runCleanupSince(mark: ReadonlySet<() => void>): string[] {
  const problems: string[] = [];
  for (const action of [...actions].reverse()) {
    if (mark.has(action)) continue;
    actions.delete(action);
    try {
      action();
    } catch (e) {
      problems.push((e as Error).message);
    }
  }
  return problems;
}

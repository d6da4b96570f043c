// The safety net under `using`: a resource that is garbage-collected while still open is closed
// here and reported. It is a net, not the way to close things: the GC may run late or never.
import { SystemError } from "../errors.ts";

/** What the safety net found: a resource collected while open, now closed. */
export interface LeakReport {
  /** "program 'count'", "map 'events'", "link tracepoint:syscalls:sys_enter_execve", ... */
  what: string;
  /** Where it was created (a stack trace taken at creation), when `trackLeaks({ stacks: true })`. */
  createdAt?: string;
}

let reporter: (leak: LeakReport) => void = (leak) =>
  console.warn(`bpfload: ${leak.what} was garbage-collected while open: closed it (close it, or create it with \`using\`)${leak.createdAt ? `\n${leak.createdAt}` : ""}`);
let stacks = false;

/**
 * Sets what happens when the safety net closes a leaked resource (default: one `console.warn`
 * line), and whether creation stacks are kept for the report (costs a stack trace per resource).
 * Returns the settings it replaced. Pure (process-local settings; no kernel).
 *
 *     trackLeaks({ onLeak: (l) => leaks.push(l.what), stacks: true });
 */
export function trackLeaks(opts: { onLeak?: (leak: LeakReport) => void; stacks?: boolean }): { onLeak: (leak: LeakReport) => void; stacks: boolean } {
  const previous = { onLeak: reporter, stacks };
  if (opts.onLeak) reporter = opts.onLeak;
  if (opts.stacks !== undefined) stacks = opts.stacks;
  return previous; // to put back: trackLeaks(previous)
}

interface Held {
  what: string;
  createdAt?: string;
  close: () => void;
}

const registry = new FinalizationRegistry<Held>((held) => {
  try {
    held.close();
  } catch {
    // closing a leaked fd cannot be refused in a way anyone could act on
  }
  reporter({ what: held.what, createdAt: held.createdAt });
});

/** Watches `owner`: if it is collected before `release()` is called, `close` runs and is reported. `close` must not refer to `owner`. */
export function watchLeak(owner: object, what: string, close: () => void): () => void {
  const token = {};
  const createdAt = stacks ? new Error().stack?.split("\n").slice(2).join("\n") : undefined;
  registry.register(owner, { what, createdAt, close }, token);
  return () => registry.unregister(token);
}

/** A closed resource used again: one clear error instead of EBADF from the kernel. */
export function closedError(what: string): SystemError {
  return new SystemError(`${what} is closed`);
}

/**
 * A resource freed by `close()`: `using` and `await using` call it at the end of the scope. Every
 * subclass makes a second close harmless.
 */
export abstract class Closeable implements Disposable, AsyncDisposable {
  abstract close(): void;
  [Symbol.dispose](): void {
    this.close();
  }
  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
  }
}

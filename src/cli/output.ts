// Where everything the CLI says goes. Plain mode: trace lines on stdout exactly as trace_pipe gives
// them, everything else on stderr (so stdout can be piped). JSON mode (--json): one JSON object
// per line on stdout for every result and event, errors included as {"error": {...}}.
//
// Every byte goes through one writer per stream (FdWriter): a write completes or fails. Bun makes
// stdout non-blocking when it is a pipe, so a plain writeSync() may write only part (65,536 bytes)
// and lose the rest; FdWriter continues short writes and waits for a full pipe's reader.
import { SystemError, type TraceLine } from "../index.ts";
import { errnoText, escapeControls } from "../errors.ts";
import { FileError, growPipe, isTerminal, writeAll } from "../sys/files.ts";

const EPIPE = 32;
/** A write this big into a pipe (64 KiB by default) first grows the pipe to 1 MiB: 16x fewer waits. */
const BIG_WRITE = 64 * 1024;
const PIPE_SIZE = 1024 * 1024;

/** A stream the system refused to take bytes for (ENOSPC on >/dev/full, EIO): exit 1, one line. */
export class WriteError extends SystemError {
  constructor(readonly stream: string, override readonly errno: number) {
    super(`write ${stream}: ${errnoText(errno)}`);
  }
}

/** Text queued by FdWriter.queue waits at most this much before it is written. */
const QUEUE_LIMIT = 256 * 1024;
const writers: FdWriter[] = [];

/** Writes what every writer has queued (before any direct write, so order holds across streams). */
function flushQueued(): void {
  for (const w of writers) w.flush();
}

/** One of the process's standard streams, written completely or not at all (after a failure). */
export class FdWriter {
  /** Aborted when the reader went away (EPIPE: `| head`) or the stream failed: stop quietly. */
  readonly gone = new AbortController();
  /** The first failure other than EPIPE; the CLI reports it and exits 1. */
  failure: WriteError | undefined;
  private readonly encoder = new TextEncoder();
  private grown = false;
  private queued = "";
  private flushScheduled = false;

  constructor(readonly fd: number, readonly name: string) {
    writers.push(this);
  }

  /**
   * Writes `text` soon: at the end of the current task (a microtask), before any direct write to
   * either stream, or once 256 KiB are queued. A watch tick's records and trace lines then go out
   * in one write() instead of one each (a ring buffer's hundreds of thousands a second).
   */
  queue(text: string): void {
    if (this.gone.signal.aborted) return;
    this.queued += text;
    if (this.queued.length >= QUEUE_LIMIT) this.flush();
    else if (!this.flushScheduled) {
      this.flushScheduled = true;
      queueMicrotask(() => this.flush());
    }
  }

  /** Writes what queue() holds now. */
  flush(): void {
    this.flushScheduled = false;
    if (!this.queued) return;
    const text = this.queued;
    this.queued = "";
    this.writeNow(text);
  }

  /** Writes all of `text`; false when the stream is gone (then nothing more is written). */
  write(text: string | Uint8Array): boolean {
    flushQueued();
    return this.writeNow(text);
  }

  private writeNow(text: string | Uint8Array): boolean {
    if (this.gone.signal.aborted) return false;
    const bytes = typeof text === "string" ? this.encoder.encode(text) : text;
    if (bytes.length > BIG_WRITE && !this.grown) {
      this.grown = true;
      growPipe(this.fd, PIPE_SIZE);
    }
    try {
      writeAll(this.fd, bytes, this.name);
      return true;
    } catch (e) {
      if (!(e instanceof FileError)) throw e;
      // Never thrown from here: writes happen in timer callbacks too, where a throw is a stack trace.
      if (e.errno !== EPIPE) this.failure = new WriteError(this.name, e.errno);
      this.gone.abort();
      return false;
    }
  }
}

export const stdoutWriter = new FdWriter(1, "stdout");
export const stderrWriter = new FdWriter(2, "stderr");
// An exit through a signal handler (cleanup.ts: process.exit) comes before the microtask.
process.on("exit", flushQueued);

/** The first write failure of stdout or stderr (not EPIPE), if any. */
export function writeFailure(): WriteError | undefined {
  return stdoutWriter.failure ?? stderrWriter.failure;
}

export interface OutputOptions {
  json?: boolean;
  verbose?: boolean;
}

export class Output {
  readonly json: boolean;
  readonly verbose: boolean;
  /** A live status line is shown on stderr only when it is a terminal and not in JSON mode. */
  readonly liveStatus: boolean;
  private statusShown = false;
  /**
   * Aborted when stdout's reader went away (`bpfload load ... | head`) or stdout failed: time to
   * stop; a closed pipe ends the run quietly like `cat`, a failure is reported by the CLI (exit 1).
   */
  readonly stdoutGone = stdoutWriter.gone;

  constructor(opts: OutputOptions) {
    this.json = !!opts.json;
    this.verbose = !!opts.verbose;
    this.liveStatus = !this.json && isTerminal(2);
  }

  private stdout(text: string): void {
    stdoutWriter.write(text);
  }

  /** Results and trace lines: queued, written in one go at the end of the task (see FdWriter.queue). */
  private stdoutQueued(text: string): void {
    stdoutWriter.queue(text);
  }

  private stderr(text: string): void {
    stderrWriter.write(text);
  }

  /** Raw bytes or text on stdout as they are (disasm's listing: tens of MB in one write). */
  raw(text: string | Uint8Array): void {
    this.clearStatus();
    stdoutWriter.write(text);
  }

  private clearStatus(): void {
    if (this.statusShown) {
      this.stderr("\r\x1b[K");
      this.statusShown = false;
    }
  }

  /** A progress or explanation line for people (stderr; dropped in JSON mode). */
  info(text: string): void {
    if (this.json) return;
    this.clearStatus();
    this.stderr(`${text}\n`);
  }

  detail(text: string): void {
    if (this.verbose) this.info(text);
  }

  /** A result: a JSON object in JSON mode, `text` on stderr otherwise. */
  event(type: string, fields: Record<string, unknown>, text?: string): void {
    if (this.json) {
      this.stdout(`${JSON.stringify({ ...fields, type }, bigintToNumber)}\n`);
    } else if (text !== undefined) {
      this.info(text);
    }
  }

  /** Primary output of a command (stdout in plain mode). */
  result(text: string, json: Record<string, unknown>): void {
    if (this.json) {
      this.stdoutQueued(`${JSON.stringify(json, bigintToNumber)}\n`);
    } else {
      this.clearStatus();
      this.stdoutQueued(`${text}\n`);
    }
  }

  trace(raw: string, parsed: TraceLine | undefined): void {
    this.result(raw, { type: "trace", ...(parsed ?? { raw }) });
  }

  status(text: string): void {
    if (!this.liveStatus) return;
    this.stderr(`\r\x1b[K${text}`);
    this.statusShown = true;
  }

  error(err: { kind: string; message: string; log?: string; exitCode: number }): void {
    this.clearStatus();
    // JSON goes to stdout, unless stdout is what failed: then the one line goes to stderr.
    if (this.json && !stdoutWriter.gone.signal.aborted) {
      const { kind, message, log, exitCode } = err;
      this.stdout(`${JSON.stringify({ error: { kind, message, exitCode, ...(log ? { log } : {}) } })}\n`);
      return;
    }
    this.stderr(`bpfload: ${escapeControls(err.message)}\n`);
    if (err.log) this.stderr(`verifier log:\n${err.log.replace(/\n*$/, "\n")}`);
  }
}

function bigintToNumber(_k: string, v: unknown): unknown {
  return typeof v === "bigint" ? Number(v) : v;
}

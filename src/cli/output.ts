// Where everything the CLI says goes. Plain mode: trace lines on stdout exactly as trace_pipe gives
// them, everything else on stderr (so stdout can be piped). JSON mode (--json): one JSON object
// per line on stdout for every result and event, errors included as {"error": {...}}.
import type { TraceLine } from "../trace-line.ts";

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
  /** Aborted when stdout's reader went away (`bpfload load ... | head`): time to stop quietly. */
  readonly stdoutGone = new AbortController();

  constructor(opts: OutputOptions) {
    this.json = !!opts.json;
    this.verbose = !!opts.verbose;
    this.liveStatus = !this.json && !!process.stderr.isTTY;
    process.stdout.on?.("error", (e: Error) => this.writeFailed(e));
  }

  /** Writes to stdout; a closed pipe (EPIPE) ends the run like `cat` would, without a stack trace. */
  private stdout(text: string): void {
    if (this.stdoutGone.signal.aborted) return;
    try {
      process.stdout.write(text);
    } catch (e) {
      this.writeFailed(e as Error);
    }
  }

  private writeFailed(e: Error): void {
    if ((e as { code?: string }).code !== "EPIPE") throw e;
    this.stdoutGone.abort();
  }

  private clearStatus(): void {
    if (this.statusShown) {
      process.stderr.write("\r\x1b[K");
      this.statusShown = false;
    }
  }

  /** A progress or explanation line for people (stderr; dropped in JSON mode). */
  info(text: string): void {
    if (this.json) return;
    this.clearStatus();
    process.stderr.write(`${text}\n`);
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
      this.stdout(`${JSON.stringify(json, bigintToNumber)}\n`);
    } else {
      this.clearStatus();
      this.stdout(`${text}\n`);
    }
  }

  trace(raw: string, parsed: TraceLine | undefined): void {
    this.result(raw, { type: "trace", ...(parsed ?? { raw }) });
  }

  status(text: string): void {
    if (!this.liveStatus) return;
    process.stderr.write(`\r\x1b[K${text}`);
    this.statusShown = true;
  }

  error(err: { kind: string; message: string; log?: string; exitCode: number }): void {
    this.clearStatus();
    if (this.json) {
      const { kind, message, log, exitCode } = err;
      this.stdout(`${JSON.stringify({ error: { kind, message, exitCode, ...(log ? { log } : {}) } })}\n`);
      return;
    }
    process.stderr.write(`bpfload: ${err.message}\n`);
    if (err.log) process.stderr.write(`verifier log:\n${err.log.replace(/\n*$/, "\n")}`);
  }
}

function bigintToNumber(_k: string, v: unknown): unknown {
  return typeof v === "bigint" ? Number(v) : v;
}

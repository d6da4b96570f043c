// Reading trace_pipe without blocking the event loop: an O_NONBLOCK fd drained on a timer.
// (Bun.file().stream() fails on this pipe with ESPIPE; a blocking read would pin a thread and
// keep the process from reacting to signals promptly.)
import { closeSync, constants, openSync, readSync } from "node:fs";
import { tracefs } from "./tracefs.ts";

export class TracePipe {
  private readonly fd: number;
  private partial = "";
  private readonly buf = new Uint8Array(64 * 1024);
  private readonly decoder = new TextDecoder();

  constructor(path = `${tracefs()}/trace_pipe`) {
    this.fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  }

  /** Every complete line available now (without the trailing newline). */
  drain(): string[] {
    let text = this.partial;
    for (;;) {
      let n = 0;
      try {
        n = readSync(this.fd, this.buf, 0, this.buf.length, null);
      } catch (e) {
        if ((e as { code?: string }).code === "EAGAIN") break;
        throw e;
      }
      if (n <= 0) break;
      text += this.decoder.decode(this.buf.subarray(0, n), { stream: true });
    }
    const lines = text.split("\n");
    this.partial = lines.pop() ?? "";
    return lines;
  }

  close(): void {
    closeSync(this.fd);
  }
}

// Reading trace_pipe without blocking the event loop: an O_NONBLOCK fd drained on a timer.
// (Bun.file().stream() fails on this pipe with ESPIPE; a blocking read would pin a thread and
// keep the process from reacting to signals promptly.)
import { closeFd, openNonblocking, readInto } from "../sys/files.ts";
import { tracefs } from "./tracefs.ts";

export class TracePipe {
  private readonly fd: number;
  private partial = "";
  private readonly buf = new Uint8Array(64 * 1024);
  private readonly decoder = new TextDecoder();

  constructor(path = `${tracefs()}/trace_pipe`) {
    this.fd = openNonblocking(path);
  }

  /** Every complete line available now (without the trailing newline). */
  drain(): string[] {
    let text = this.partial;
    for (;;) {
      const n = readInto(this.fd, this.buf);
      if (n === -11 /* EAGAIN: nothing more for now */ || n === 0) break;
      if (n < 0) throw new Error(`read trace_pipe: errno ${-n}`);
      text += this.decoder.decode(this.buf.subarray(0, n), { stream: true });
    }
    const lines = text.split("\n");
    this.partial = lines.pop() ?? "";
    return lines;
  }

  close(): void {
    closeFd(this.fd);
  }
}

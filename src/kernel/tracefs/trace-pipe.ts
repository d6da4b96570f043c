// Reading trace_pipe without blocking the event loop: an O_NONBLOCK fd drained on a timer.
// (Bun.file().stream() fails on this pipe with ESPIPE; a blocking read would pin a thread and
// keep the process from reacting to signals promptly.)
//
// One reader at a time: newer kernels (the per-CPU pipe reader mask, 6.x; 6.18 measured) refuse a
// second open of trace_pipe with EBUSY. That is found out when the pipe is opened, and callers
// open it before they load or attach anything, so a second concurrent run stops before it
// changes anything, and says which process holds the pipe. Older kernels let two readers open it
// and each gets part of the lines; bpfload does not scan /proc for that case on every run (it
// costs milliseconds per run, on the one-shot path): hello says so when its line does not arrive.
import { SystemError, errnoName, ERRNO } from "../../errors.ts";
import { appendText, FileError, openNonblocking, readIntoStable, tryReadText } from "../../sys/files.ts";
import { close } from "../../sys/fd.ts";
import { listDir, readLink } from "../../sys/paths.ts";
import { tracefs } from "./tracefs.ts";

/** Processes with the top-level trace_pipe (or a per-CPU one) open: "pid 123 (cat)". */
export function tracePipeHolders(): string[] {
  const out: string[] = [];
  for (const pid of listDir("/proc")) {
    if (!/^\d+$/.test(pid) || Number(pid) === process.pid) continue;
    const holds = listDir(`/proc/${pid}/fd`).some((fd) => {
      const target = readLink(`/proc/${pid}/fd/${fd}`) ?? "";
      // instances/NAME/trace_pipe belongs to another buffer: it does not take this one's reader slot
      return target.endsWith("/trace_pipe") && !target.includes("/instances/");
    });
    if (holds) out.push(`pid ${pid} (${tryReadText(`/proc/${pid}/comm`)?.trim() ?? "?"})`);
  }
  return out;
}

/**
 * Gives the trace buffer the size the kernel means it to have once tracing is used (1408 KB a CPU
 * by default) when it is still at its boot-time placeholder ("7 (expanded: 1408)": 2 pages a CPU).
 * Why: on 5.2+ bpf_trace_printk enables its trace event without the expansion that enabling any
 * event through tracefs (or trace_printk before 5.2) does, so its lines land in 7 KB a CPU: about
 * 2 ms of lines at 75k lines/s, and a reader that pauses longer (a GC, a big write) lost a whole
 * page to the kernel's overwrite (the cpu's `overrun` in per_cpu/cpuN/stats; measured on 6.18).
 * Done as the kernel does it: writing "1" to the enable file of the bpf_trace_printk event, only
 * when that event is enabled already (nothing is switched on), and only while the buffer is
 * unexpanded (a size someone chose is left alone). Best effort: false when nothing was done.
 */
export function expandTraceBuffer(dir = tracefs()): boolean {
  const size = tryReadText(`${dir}/buffer_size_kb`) ?? "";
  if (!/\(expanded: \d+\)/.test(size)) return false;
  const enable = `${dir}/events/bpf_trace/bpf_trace_printk/enable`;
  if (tryReadText(enable)?.trim() !== "1") return false;
  try {
    appendText(enable, "1");
    return true;
  } catch (e) {
    if (e instanceof FileError) return false;
    throw e;
  }
}

/** trace_pipe has its one reader already (EBUSY). */
export class TracePipeBusy extends SystemError {}

function openPipe(path: string): number {
  try {
    return openNonblocking(path);
  } catch (e) {
    if (!(e instanceof FileError)) throw e;
    if (errnoName(e.errno) === "EBUSY") {
      const holders = tracePipeHolders();
      const who = holders.length ? `${holders.join(", ")} is reading it` : "another process is reading it (not visible from here: another PID namespace?)";
      throw new TracePipeBusy(`cannot open ${path}: EBUSY: ${who}, and this kernel allows one reader: stop that reader (or wait for it to end) and run again`);
    }
    const hint = e.errno === ERRNO.EACCES || e.errno === ERRNO.EPERM ? ": run as root" : "";
    throw new SystemError(`cannot open ${path}: ${errnoName(e.errno)}${hint}`);
  }
}

export class TracePipe {
  /** The pipe's fd (non-blocking): poll(2) says when lines are there. */
  readonly fd: number;
  /** The tracefs directory the pipe is in. */
  readonly dir: string;
  private partial = "";
  /** Read into directly (an explicit ArrayBuffer: it never moves), kept as long as the pipe. */
  private readonly buf = new Uint8Array(new ArrayBuffer(64 * 1024));
  private readonly decoder = new TextDecoder();
  private closed = false;

  constructor(path = `${tracefs()}/trace_pipe`) {
    this.fd = openPipe(path);
    this.dir = path.replace(/\/[^/]*$/, "");
  }

  /** Every complete line available now (without the trailing newline). */
  drain(): string[] {
    let text = this.partial;
    for (;;) {
      const n = readIntoStable(this.fd, this.buf);
      if (n === -ERRNO.EAGAIN /* nothing more for now */ || n === 0) break;
      if (n < 0) throw new Error(`read trace_pipe: errno ${-n}`);
      text += this.decoder.decode(this.buf.subarray(0, n), { stream: true });
    }
    const lines = text.split("\n");
    this.partial = lines.pop() ?? "";
    return lines;
  }

  /** Reads away what the trace buffer holds now, a partial last line too; returns how many lines it held. */
  discardBuffered(): number {
    const n = this.drain().length + (this.partial ? 1 : 0);
    this.partial = "";
    return n;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    close(this.fd);
  }
}

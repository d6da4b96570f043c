// ppoll(2) on the event rings' file descriptors (ringbuf maps, perf events): the watch sleeps in
// the kernel until a record is there (or a short timeout), as libbpf's epoll_wait does, instead
// of waking on a timer. The pollfd array lives in one explicit ArrayBuffer kept by the caller's
// FdPoller (it never moves, see arena.ts), filled once.
import { NR } from "./arch.ts";
import { syscallWith } from "./arena.ts";
import { addressOf } from "./libc.ts";
import { ERRNO } from "../errors.ts";

const POLLIN = 1;
const { EINTR } = ERRNO;

export class FdPoller {
  private readonly fds: Uint8Array;
  private readonly timespec: Uint8Array;
  private readonly view: DataView;
  readonly count: number;

  constructor(fds: number[]) {
    this.count = fds.length;
    // struct pollfd { int fd; short events; short revents; }: 8 bytes on x86_64 and arm64
    this.fds = new Uint8Array(new ArrayBuffer(Math.max(8, 8 * fds.length)));
    const v = new DataView(this.fds.buffer);
    fds.forEach((fd, i) => {
      v.setInt32(8 * i, fd, true);
      v.setInt16(8 * i + 4, POLLIN, true);
    });
    this.timespec = new Uint8Array(new ArrayBuffer(16));
    this.view = new DataView(this.timespec.buffer);
  }

  /**
   * Sleeps until one of the fds is readable or `timeoutMs` passed (a signal ends it early too).
   * Returns how many are readable (0 on timeout or EINTR), or -errno.
   */
  wait(timeoutMs: number): number {
    if (this.count === 0) return 0;
    const ms = Math.max(0, Math.floor(timeoutMs));
    this.view.setBigInt64(0, BigInt(Math.floor(ms / 1000)), true);
    this.view.setBigInt64(8, BigInt((ms % 1000) * 1_000_000), true);
    const r = syscallWith([this.fds, this.timespec], NR.ppoll, addressOf(this.fds), this.count, addressOf(this.timespec), 0, 8);
    if (r.ret < 0) return r.errno === EINTR ? 0 : -r.errno;
    return r.ret;
  }
}

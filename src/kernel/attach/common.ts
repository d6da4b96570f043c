// What the network and cgroup hooks share: interface and namespace lookups, a program's id, and
// the rtnetlink conversation (request → ack with the kernel's extack text, dumps).
import { ERRNO, SyscallError, SystemError, errnoName, type ErrorText } from "../../errors.ts";
import { hintFor } from "../../hints.ts";
import { NLMSG_DONE, NLMSG_ERROR, parseAck, parseMessages, type Message } from "../../net/netlink.ts";
import { bpfProgGetFdById, bpfProgGetInfo } from "../../sys/bpf.ts";
import { tryReadText } from "../../sys/files.ts";
import { field, BPF_PROG_INFO } from "../../sys/layout.ts";
import { netlinkReceive, netlinkSend, routeSocket } from "../../sys/netlink.ts";
import { readLink } from "../../sys/paths.ts";
import { close } from "../../sys/fd.ts";
import type { Program } from "../program.ts";

export function ifindexOf(iface: string, what: string): number {
  const index = tryReadText(`/sys/class/net/${iface}/ifindex`);
  if (index === undefined) throw new SystemError(`${what}: no network interface '${iface}' in this network namespace (see ip link)`);
  return Number(index.trim());
}

/** Inode of this process's network namespace: an ifindex means something only inside it. */
export function netnsInode(): number {
  const m = readLink("/proc/self/ns/net")?.match(/^net:\[(\d+)\]$/);
  return m ? Number(m[1]) : 0;
}

/** The kernel's id of a loaded program (4.13+), 0 when it cannot tell. */
export function progIdOf(prog: Program): number {
  const r = bpfProgGetInfo(prog.fd);
  return r.ret < 0 ? 0 : r.info.getUint32(field(BPF_PROG_INFO, "id").offset, true);
}

/**
 * An fd of the program a record names, to detach exactly it: `given` when the caller holds one,
 * "gone" when the program no longer exists (nothing is left to detach), else the caller closes it.
 */
export function recordedProgFd(progId: number, given: number | undefined, what: string): number | "gone" {
  if (given !== undefined) return given;
  const r = bpfProgGetFdById(progId);
  if (r.ret >= 0) return r.ret;
  if (r.errno === ERRNO.ENOENT) return "gone";
  throw hookError(what, "BPF_PROG_GET_FD_BY_ID", r.errno);
}

export function hookError(what: ErrorText, call: string, errno: number, hint?: ErrorText): SyscallError {
  return new SyscallError(what, call, errno, hint ?? hintFor(call, errnoName(errno), { euid: process.geteuid?.() ?? 0 }));
}

/** A NETLINK_ROUTE socket for a few requests; closed by the caller. */
export class RouteSocket {
  private seq = 1;
  readonly fd: number;

  constructor(what: string) {
    const s = routeSocket();
    if (s.ret < 0) throw hookError(what, "socket(AF_NETLINK)", s.errno);
    this.fd = s.ret;
  }

  /** Sends one request and returns its ack: errno 0 or the kernel's refusal with its message. */
  request(build: (seq: number) => Uint8Array): { errno: number; message?: string } {
    const seq = this.seq++;
    for (const m of this.exchange(build(seq), seq)) {
      if (m.type === NLMSG_ERROR) return parseAck(m);
    }
    return { errno: 0 };
  }

  /** Sends a dump request and returns every answer message before NLMSG_DONE. */
  dump(build: (seq: number) => Uint8Array): Message[] {
    const seq = this.seq++;
    const out: Message[] = [];
    for (const m of this.exchange(build(seq), seq)) {
      if (m.type === NLMSG_ERROR) {
        const ack = parseAck(m);
        if (ack.errno) throw hookError("netlink dump", "RTM_GET*", ack.errno, ack.message);
        continue;
      }
      out.push(m);
    }
    return out;
  }

  /** Reads until the ack, NLMSG_DONE, or (a request without ack) the first answer. */
  private *exchange(msg: Uint8Array, seq: number): Generator<Message> {
    const sent = netlinkSend(this.fd, msg);
    if (sent.ret < 0) throw hookError("netlink request", "sendmsg(NETLINK_ROUTE)", sent.errno);
    for (;;) {
      const r = netlinkReceive(this.fd);
      if (r.ret < 0) throw hookError("netlink answer", "recvmsg(NETLINK_ROUTE)", r.errno);
      let last = false;
      for (const m of parseMessages(r.data)) {
        if (m.seq !== seq) continue; // an answer to an earlier request
        if (m.type === NLMSG_DONE) return;
        yield m;
        if (m.type === NLMSG_ERROR || !(m.flags & 0x2 /* NLM_F_MULTI */)) last = true;
      }
      if (last) return;
    }
  }

  close(): void {
    close(this.fd);
  }
}

/** Runs `fn` with a route socket that is closed afterwards. */
export function withRoute<T>(what: string, fn: (s: RouteSocket) => T): T {
  const s = new RouteSocket(what);
  try {
    return fn(s);
  } finally {
    s.close();
  }
}

/** The text for a netlink refusal: errno name plus the kernel's own words when it gave them. */
export function netlinkError(what: string, call: string, ack: { errno: number; message?: string }, hint?: string): SyscallError {
  const words = [ack.message ? `the kernel says: ${ack.message}` : undefined, hint].filter(Boolean).join("; ");
  return hookError(what, call, ack.errno, words || undefined);
}

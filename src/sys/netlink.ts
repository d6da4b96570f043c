// An rtnetlink socket (AF_NETLINK, NETLINK_ROUTE) with extended acks, and one request/answer
// exchange on it. write(2)/read(2) suffice: an unconnected netlink socket sends to the kernel.
// The message bytes come from net/netlink.ts; constants are the same on x86_64 and arm64.
import { Arena, syscallWith } from "./arena.ts";
import { NR } from "./arch.ts";
import { syscall, type SysResult } from "./libc.ts";
import { ERRNO } from "../errors.ts";

const AF_NETLINK = 16;
const SOCK_RAW = 3;
const SOCK_CLOEXEC = 0o2000000;
const NETLINK_ROUTE = 0;
const SOL_NETLINK = 270;
const NETLINK_CAP_ACK = 10;
const NETLINK_EXT_ACK = 11;
const { EINTR } = ERRNO;

/** A NETLINK_ROUTE socket that gets error messages as text (extack, 4.12+) and short acks. */
export function routeSocket(): SysResult {
  const s = syscall(NR.socket, AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (s.ret < 0) return s;
  const one = new Arena([4]);
  one.view.setInt32(0, 1, true);
  // Best effort: older kernels without these options still answer, with bare errnos.
  syscallWith(one, NR.setsockopt, s.ret, SOL_NETLINK, NETLINK_EXT_ACK, one.base, 4);
  syscallWith(one, NR.setsockopt, s.ret, SOL_NETLINK, NETLINK_CAP_ACK, one.base, 4);
  return s;
}

export function netlinkSend(fd: number, msg: Uint8Array): SysResult {
  const arena = new Arena([msg.length]);
  arena.put(arena.region(0), msg);
  for (;;) {
    const r = syscallWith(arena, NR.write, fd, arena.base, msg.length);
    if (r.ret < 0 && r.errno === EINTR) continue;
    return r;
  }
}

/** One datagram from the kernel (dumps come as several). */
export function netlinkReceive(fd: number, size = 65536): SysResult & { data: Uint8Array } {
  const arena = new Arena([size]);
  for (;;) {
    const r = syscallWith(arena, NR.read, fd, arena.base, size);
    if (r.ret < 0 && r.errno === EINTR) continue;
    return { ...r, data: r.ret > 0 ? arena.bytes.slice(0, r.ret) : new Uint8Array(0) };
  }
}

// The socket calls a socket-filter attach needs: a raw packet socket bound to one interface,
// with the program set by SO_ATTACH_BPF. Constants are the same on x86_64 and arm64.
import { Arena, syscallWith } from "./arena.ts";
import { NR } from "./arch.ts";
import { syscall, type SysResult } from "./libc.ts";

const AF_PACKET = 17;
const SOCK_RAW = 3;
const SOCK_CLOEXEC = 0o2000000;
const ETH_P_ALL_BE = 0x0300; // htons(ETH_P_ALL = 0x0003)
const SOL_SOCKET = 1;
const SO_ATTACH_BPF = 50;

export function packetSocket(): SysResult {
  return syscall(NR.socket, AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, ETH_P_ALL_BE);
}

/** bind(fd, struct sockaddr_ll { family, protocol, ifindex, ... }) */
export function bindToInterface(fd: number, ifindex: number): SysResult {
  const arena = new Arena([20]);
  arena.view.setUint16(0, AF_PACKET, true);
  arena.view.setUint16(2, ETH_P_ALL_BE, true);
  arena.view.setInt32(4, ifindex, true);
  return syscallWith(arena, NR.bind, fd, arena.base, 20);
}

export function attachBpfToSocket(fd: number, progFd: number): SysResult {
  const arena = new Arena([4]);
  arena.view.setInt32(0, progFd, true);
  return syscallWith(arena, NR.setsockopt, fd, SOL_SOCKET, SO_ATTACH_BPF, arena.base, 4);
}

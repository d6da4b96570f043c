// close(2): the one way this code closes a file descriptor (a map, a program, a link, a file).
import { NR } from "./arch.ts";
import { syscall, type SysResult } from "./libc.ts";

/** Closes `fd`; the result says whether the kernel took it (EBADF for an fd already closed). */
export function close(fd: number): SysResult {
  return syscall(NR.close, fd);
}

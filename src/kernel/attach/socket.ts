// Socket filters: a raw packet socket bound to an interface with SO_ATTACH_BPF, held open while
// bpfload runs (the socket is the link).
import { formatAttachSpec, type AttachSpec } from "../../attach-spec.ts";
import { SystemError } from "../../errors.ts";
import { tryReadText } from "../../sys/files.ts";
import { attachBpfToSocket, bindToInterface, packetSocket } from "../../sys/net.ts";
import { attachError, FdLink, type Link } from "./perf-link.ts";
import type { Program } from "../program.ts";

export function attachSocket(prog: Program, spec: AttachSpec & { kind: "socket" }): Link {
  const target = formatAttachSpec(spec);
  const index = tryReadText(`/sys/class/net/${spec.iface}/ifindex`);
  if (index === undefined) throw new SystemError(`attach '${prog.name}' to ${target}: no network interface '${spec.iface}' (see ip link)`);
  const ifindex = Number(index.trim());
  const sock = packetSocket();
  if (sock.ret < 0) throw attachError(prog, target, "socket(AF_PACKET)", sock.errno);
  const link = new FdLink(target, sock.ret);
  const bound = bindToInterface(sock.ret, ifindex);
  if (bound.ret < 0) {
    link.close();
    throw attachError(prog, target, "bind", bound.errno);
  }
  const set = attachBpfToSocket(sock.ret, prog.fd);
  if (set.ret < 0) {
    link.close();
    throw attachError(prog, target, "SO_ATTACH_BPF", set.errno);
  }
  return link;
}

// Socket lookup (BPF_SK_LOOKUP, 5.9+): a bpf_link on a network namespace's fd. The program runs
// when a packet looks for a listening or unconnected socket there, and may pick one (bpf_sk_assign).
// Only a link exists for it, so it goes away with bpfload's fd, even after a SIGKILL: nothing to
// record. NETNS is a namespace file (/proc/PID/ns/net, /run/netns/NAME from `ip netns add`);
// without one, bpfload's own namespace.
import { formatAttachSpec, type AttachSpec } from "../../attach-spec.ts";
import { SystemError, errnoName } from "../../errors.ts";
import { BPF_ATTACH } from "../../net/attach-types.ts";
import { bpfLinkCreate } from "../../sys/bpf.ts";
import { FileError, openFile } from "../../sys/files.ts";
import { statfsType } from "../../sys/paths.ts";
import { close } from "../../sys/perf.ts";
import { FdLink, type Link } from "../perf-link.ts";
import type { Program } from "../program.ts";
import { hookError } from "./common.ts";

const EINVAL = 22;
/** The filesystem of /proc/PID/ns/* and of what `ip netns` bind-mounts them to (NSFS_MAGIC). */
const NSFS_MAGIC = 0x6e736673;

/** An fd of the network namespace file `path`, checked to be one (a plain file would be EINVAL later). */
export function openNetns(path: string, what: string): number {
  let fd: number;
  try {
    fd = openFile(path);
  } catch (e) {
    if (!(e instanceof FileError)) throw e;
    const hint = e.errno === 2 ? (path.startsWith("/run/netns/") ? ": no such namespace (ip netns list shows them)" : ": no such file") : e.errno === 13 || e.errno === 1 ? ": run as root" : "";
    throw new SystemError(`${what}: cannot open the network namespace ${path}: ${errnoName(e.errno)}${hint}`);
  }
  if (statfsType(path).type !== NSFS_MAGIC) {
    close(fd);
    throw new SystemError(`${what}: ${path} is not a namespace file (give /proc/PID/ns/net or a name from ip netns)`);
  }
  return fd;
}

export function attachSkLookup(prog: Program, spec: AttachSpec & { kind: "sk_lookup" }): Link {
  const target = formatAttachSpec(spec);
  const what = `attach '${prog.name}' to ${target}`;
  const ns = openNetns(spec.netns ?? "/proc/self/ns/net", what);
  try {
    const r = bpfLinkCreate({ progFd: prog.fd, target: ns, attachType: BPF_ATTACH.sk_lookup });
    if (r.ret >= 0) return new FdLink(`${target} (netns link)`, r.ret);
    const hint =
      r.errno === EINVAL
        ? "socket lookup programs attach through a netns bpf_link (Linux 5.9): the program must be loaded as sk_lookup with expected attach type BPF_SK_LOOKUP (section \"sk_lookup\")"
        : undefined;
    throw hookError(what, "BPF_LINK_CREATE", r.errno, hint);
  } finally {
    close(ns);
  }
}

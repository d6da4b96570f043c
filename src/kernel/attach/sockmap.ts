// sk_msg and sk_skb programs on a sockmap or sockhash (BPF_PROG_ATTACH with the map's fd): the
// object's map by name, or a pinned one. The attachment lives as long as the map: an unpinned map
// of the object goes with bpfload; bpfload detaches from a pinned one on every way out (a SIGKILL
// leaves a pinned map's programs attached until the pin is removed).
import { formatAttachSpec, type AttachSpec } from "../../attach-spec.ts";
import { InvalidArgumentError, ERRNO } from "../../errors.ts";
import { BPF_ATTACH } from "../../net/attach-types.ts";
import { bpfObjGet, bpfProgAttach, bpfProgDetach } from "../../sys/bpf.ts";
import { tryReadText } from "../../sys/files.ts";
import { close } from "../../sys/fd.ts";
import type { Link } from "./perf-link.ts";
import type { Program } from "../program.ts";
import { hookError } from "./common.ts";
import { UndoLink } from "./perf-link.ts";

const HOOKS = {
  sk_msg: BPF_ATTACH.sk_msg_verdict,
  stream_verdict: BPF_ATTACH.sk_skb_stream_verdict,
  stream_parser: BPF_ATTACH.sk_skb_stream_parser,
  verdict: 38, // BPF_SK_SKB_VERDICT (5.13+)
} as const;

/** `mapFd(name)`: the fd of the object's map of that name (the caller keeps owning it). */
export function attachSockmap(prog: Program, spec: AttachSpec & { kind: "sk_msg" | "sk_skb" }, mapFd?: (name: string) => number | undefined): Link {
  const target = formatAttachSpec(spec);
  const what = `attach '${prog.name}' to ${target}`;
  const attachType = spec.kind === "sk_msg" ? HOOKS.sk_msg : HOOKS[spec.hook];
  let fd: number;
  let owned = false;
  if (spec.map.startsWith("/")) {
    const r = bpfObjGet(spec.map);
    if (r.ret < 0) throw hookError(what, "BPF_OBJ_GET", r.errno, r.errno === ERRNO.ENOENT ? `no pinned map at ${spec.map}` : undefined);
    fd = r.ret;
    owned = true;
    const type = tryReadText(`/proc/self/fdinfo/${fd}`)?.match(/^map_type:\s*(\d+)/m)?.[1];
    if (type !== "15" && type !== "18") {
      close(fd);
      throw new InvalidArgumentError("attach", `${what}: ${spec.map} is not a sockmap or sockhash`);
    }
  } else {
    const found = mapFd?.(spec.map);
    if (found === undefined) throw new InvalidArgumentError("attach", `${what}: the object has no map '${spec.map}' (give a map of the object, or a pinned map's path)`);
    fd = found;
  }
  const r = bpfProgAttach(fd, prog.fd, attachType);
  if (r.ret < 0) {
    if (owned) close(fd);
    throw hookError(what, "BPF_PROG_ATTACH", r.errno, r.errno === ERRNO.EINVAL ? "the map must be a sockmap or sockhash, and the program of the hook's type (sk_msg, sk_skb)" : undefined);
  }
  return new UndoLink(`${target} (BPF_PROG_ATTACH)`, () => {
    bpfProgDetach(fd, prog.fd, attachType);
    if (owned) close(fd);
  });
}

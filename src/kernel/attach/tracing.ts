// tp_btf, fentry, fexit, fmod_ret and lsm programs: their target came with the load
// (attach_btf_id), so the attach is BPF_RAW_TRACEPOINT_OPEN with a NULL name (5.5+), which returns
// a bpf_link fd. The link lives as long as the fd: closing it (cleanup.ts, on every way out)
// detaches the program.
import { formatAttachSpec, type AttachSpec, type BtfAttachKind } from "../../attach-spec.ts";
import { bpfLinkGetInfo, bpfRawTracepointOpen } from "../../sys/bpf.ts";
import { field, BPF_LINK_INFO } from "../../sys/layout.ts";
import { attachError, FdLink } from "./perf-link.ts";
import type { Program } from "../program.ts";

/** A bpf_link fd: the program stays attached until it is closed. */
export class BpfLink extends FdLink {
  /** The kernel's link id (bpftool link show), 0 where the kernel cannot tell (before 5.8). */
  readonly linkId: number;

  constructor(target: string, fd: number) {
    super(target, fd);
    const r = bpfLinkGetInfo(fd);
    this.linkId = r.ret === 0 ? r.info.getUint32(field(BPF_LINK_INFO, "id").offset, true) : 0;
  }
}

export function attachTracing(prog: Program, spec: AttachSpec & { kind: BtfAttachKind }): BpfLink {
  const target = formatAttachSpec(spec);
  const r = bpfRawTracepointOpen(undefined, prog.fd);
  if (r.ret < 0) throw attachError(prog, target, "BPF_RAW_TRACEPOINT_OPEN", r.errno);
  return new BpfLink(target, r.ret);
}

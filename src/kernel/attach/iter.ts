// Iterators (iter/TARGET programs, 5.8+): BPF_LINK_CREATE with BPF_TRACE_ITER makes the link;
// each BPF_ITER_CREATE on it gives an fd whose read runs the program over every object of the
// target (tasks, maps, ...) and returns what it wrote with bpf_seq_printf/bpf_seq_write — what
// `cat` shows for a pinned iterator. One run is read to its end.
import { formatAttachSpec, type AttachSpec, type BtfAttachKind } from "../../attach-spec.ts";
import { SyscallError, errnoName, ERRNO } from "../../errors.ts";
import { hintFor } from "../../hints.ts";
import { bpfIterCreate, bpfLinkCreate } from "../../sys/bpf.ts";
import { readInto } from "../../sys/files.ts";
import { close } from "../../sys/fd.ts";
import { attachTypeValue } from "../../uapi.ts";
import { requireFeature } from "../features/probes.ts";
import { attachError } from "./perf-link.ts";
import type { Program } from "../program.ts";
import { BpfLink } from "./tracing.ts";

/** An iterator's link; `run` reads one pass of the iterator. */
export class IterLink extends BpfLink {
  constructor(target: string, fd: number, private readonly progName: string) {
    super(target, fd);
  }

  /** One run of the iterator to EOF: the bytes the program wrote. */
  run(limit = 256 * 1024 * 1024): Uint8Array {
    const it = bpfIterCreate(this.fd);
    if (it.ret < 0) throw new SyscallError(`run iterator '${this.progName}' (${this.target})`, "BPF_ITER_CREATE", it.errno, hintFor("BPF_ITER_CREATE", errnoName(it.errno), { euid: process.geteuid?.() ?? 0 }));
    try {
      const chunks: Uint8Array[] = [];
      let total = 0;
      for (;;) {
        const buf = new Uint8Array(64 * 1024);
        const n = readInto(it.ret, buf);
        // EAGAIN cannot happen (a blocking fd); anything else is the kernel stopping the run (e.g. E2BIG when one object's output exceeds a page)
        if (n < 0) throw new SyscallError(`read iterator '${this.progName}' (${this.target})`, "read", -n, hintFor("read", errnoName(-n), { euid: process.geteuid?.() ?? 0 }));
        if (n === 0) break;
        chunks.push(buf.subarray(0, n));
        total += n;
        if (total > limit) throw new SyscallError(`read iterator '${this.progName}' (${this.target})`, "read", ERRNO.EFBIG, `more than ${limit} bytes: the iterator does not end`);
      }
      const out = new Uint8Array(total);
      let at = 0;
      for (const c of chunks) {
        out.set(c, at);
        at += c.length;
      }
      return out;
    } finally {
      close(it.ret);
    }
  }
}

export function attachIter(prog: Program, spec: AttachSpec & { kind: BtfAttachKind }): IterLink {
  const target = formatAttachSpec(spec);
  const r = bpfLinkCreate({ progFd: prog.fd, target: 0, attachType: attachTypeValue("BPF_TRACE_ITER") });
  if (r.ret < 0) {
    requireFeature("bpfLink", "bpf_link (BPF_LINK_CREATE), which iterators attach with");
    throw attachError(prog, target, "BPF_LINK_CREATE", r.errno);
  }
  return new IterLink(target, r.ret, prog.name);
}

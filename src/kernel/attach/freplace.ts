// freplace (BPF_PROG_TYPE_EXT, 5.6+): a program that replaces a global function of another loaded
// program. At load it names its target: attach_prog_fd (the target program) and attach_btf_id (the
// function's FUNC id in the target program's own BTF, found through BPF_OBJ_GET_INFO_BY_FD's btf_id
// and BPF_BTF_GET_FD_BY_ID). The attach is BPF_RAW_TRACEPOINT_OPEN with a NULL name, which links it
// to the target given at load on every kernel with freplace (BPF_LINK_CREATE takes it only from
// 5.10); the link lives as long as its fd, so the function is back when bpfload goes.
import type { AttachSpec } from "../../attach-spec.ts";
import { Btf, BTF_FUNC_GLOBAL, BTF_KIND_FUNC } from "../../elf/btf.ts";
import { InvalidArgumentError, SyscallError, opt, optionText } from "../../errors.ts";
import { bpfBtfGetData, bpfBtfGetFdById, bpfRawTracepointOpen } from "../../sys/bpf.ts";
import { close } from "../../sys/fd.ts";
import { openProgRef, parseObjectRef, progInfoOf, type ObjectRef } from "../objects.ts";
import { attachError } from "./perf-link.ts";
import type { Program } from "../program.ts";
import { BpfLink } from "./tracing.ts";

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * An freplace target, `PROG_ID|PIN_PATH[:FUNC]` (a program ref as `prog show` takes it: 12, id:12, a pin
 * path, name:NAME). The last ":NAME" is the function when what comes before is a ref itself
 * ("name:xdp_entry" alone is a program named xdp_entry).
 */
export function parseFreplaceTarget(text: string): { ref: ObjectRef; func?: string } {
  const colon = text.lastIndexOf(":");
  if (colon > 0 && IDENT.test(text.slice(colon + 1))) {
    const head = text.slice(0, colon);
    if (/^(?:id:)?\d+$/.test(head) || head.startsWith("/") || /^name:./.test(head)) {
      return { ref: parseObjectRef(head, "program"), func: text.slice(colon + 1) };
    }
  }
  try {
    return { ref: parseObjectRef(text, "program") };
  } catch {
    throw new InvalidArgumentError("freplaceTarget", optionText`bad ${opt("freplaceTarget")} '${text}': give the program whose function is replaced and the function, PROG_ID:FUNC or PIN_PATH:FUNC (12:decide, /sys/fs/bpf/x/prog:decide)`);
  }
}

/** The program an freplace program replaces a function of, open until `close`. */
export class FreplaceTarget {
  private btf?: Btf;

  private constructor(
    readonly progFd: number,
    /** "program 'xdp_entry' (id 12)", for messages. */
    readonly describe: string,
    private readonly btfId: number,
    /** The function the target's text named, when it named one. */
    readonly func: string | undefined,
  ) {}

  static open(text: string): FreplaceTarget {
    const { ref, func } = parseFreplaceTarget(text);
    const fd = openProgRef(ref);
    try {
      const info = progInfoOf(fd);
      const describe = `program '${info.name || "?"}' (id ${info.id})`;
      if (!info.btfId) throw new InvalidArgumentError("freplaceTarget", optionText`${opt("freplaceTarget", text)}: ${describe} was loaded without BTF, so none of its functions can be replaced (freplace needs the target's BTF func_info)`);
      return new FreplaceTarget(fd, describe, info.btfId, func);
    } catch (e) {
      close(fd);
      throw e;
    }
  }

  /** attach_btf_id of global function `func` in the target program's BTF. */
  funcId(func: string): number {
    const btf = (this.btf ??= this.readBtf());
    const t = btf.find(BTF_KIND_FUNC, func);
    if (!t) {
      const names: string[] = [];
      for (let id = 1; id < btf.typeCount; id++) if (btf.kindOf(id) === BTF_KIND_FUNC) names.push(btf.type(id).name);
      throw new InvalidArgumentError("freplaceTarget", `no function '${func}' in the BTF of ${this.describe}: it has ${names.map((n) => `'${n}'`).join(", ") || "none"}`);
    }
    if (t.vlen !== BTF_FUNC_GLOBAL) throw new InvalidArgumentError("freplaceTarget", `function '${func}' of ${this.describe} is static: the kernel lets freplace replace global functions only (drop 'static', keep __noinline)`);
    return t.id;
  }

  private readBtf(): Btf {
    const b = bpfBtfGetFdById(this.btfId);
    if (b.ret < 0) throw new SyscallError(`open the BTF (id ${this.btfId}) of ${this.describe}`, "BPF_BTF_GET_FD_BY_ID", b.errno);
    try {
      const r = bpfBtfGetData(b.ret);
      if (r.ret < 0) throw new SyscallError(`read the BTF (id ${this.btfId}) of ${this.describe}`, "BPF_OBJ_GET_INFO_BY_FD", r.errno);
      return new Btf(r.data);
    } finally {
      close(b.ret);
    }
  }

  close(): void {
    close(this.progFd);
  }
}

export function attachFreplace(prog: Program, spec: AttachSpec & { kind: "freplace" }): BpfLink {
  const target = `freplace:${spec.func}`;
  const r = bpfRawTracepointOpen(undefined, prog.fd);
  if (r.ret < 0) throw attachError(prog, target, "BPF_RAW_TRACEPOINT_OPEN", r.errno);
  return new BpfLink(target, r.ret);
}

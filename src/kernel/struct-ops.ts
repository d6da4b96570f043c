// struct_ops maps (5.6+): one BPF_MAP_TYPE_STRUCT_OPS map per .struct_ops / .struct_ops.link
// variable, its value the kernel's bpf_struct_ops_<type> (vmlinux BTF), each function member a
// program loaded against the kernel struct (attach_btf_id) and the member's index
// (expected_attach_type). As libbpf: the maps are created and the programs loaded at load time;
// the value is written at attach (register): for .struct_ops BPF_MAP_UPDATE_ELEM registers it and
// deleting the element unregisters it; .struct_ops.link maps (BPF_F_LINK, 6.4+) are registered by
// a BPF_LINK_CREATE link, which unregisters when its fd closes.
import { InvalidArgumentError, NotSupportedError, ObjectError, SyscallError, errnoName, ERRNO, type ErrorText } from "../errors.ts";
import { hintFor } from "../hints.ts";
import { layoutStructOps, StructOpsError, structOpsValue, type StructOpsLayout, type StructOpsProgramTarget, type StructOpsSpec } from "../elf/struct-ops.ts";
import type { Btf } from "../elf/btf.ts";
import type { ObjectSpec } from "../elf/types.ts";
import { bpfLinkCreate } from "../sys/bpf.ts";
import { attachTypeValue, MAP_TYPES } from "../uapi.ts";
import { vmlinuxBtf } from "./btf/attach-target.ts";
import { createMap, type BpfMap } from "./map.ts";
import { UndoLink, type Link } from "./attach/perf-link.ts";
import { BpfLink } from "./attach/tracing.ts";

const BPF_MAP_TYPE_STRUCT_OPS = MAP_TYPES.indexOf("struct_ops");
/** map_flags of a struct_ops map registered through a bpf_link (6.4+). */
export const BPF_F_LINK = 1 << 13;
const { EINVAL } = ERRNO;

/** A struct_ops map of the object: created, its value laid out, waiting for its programs' fds. */
export class LoadedStructOps {
  constructor(
    readonly spec: StructOpsSpec,
    readonly layout: StructOpsLayout,
    readonly map: BpfMap,
    /** The fd of a loaded program of the object, by name. */
    private readonly programFd: (name: string) => number | undefined,
  ) {}

  get name(): string {
    return this.spec.name;
  }

  /** The programs its members point at. */
  get programs(): string[] {
    return [...new Set(this.layout.slots.map((s) => s.program))];
  }

  /** What it is registered as: "struct_ops:dctcp (tcp_congestion_ops)". */
  get target(): string {
    return `struct_ops:${this.spec.name} (${this.spec.typeName})`;
  }

  /** Registers it with the kernel; the link unregisters it (on every way out). */
  register(): Link {
    let value: Uint8Array;
    try {
      value = structOpsValue(this.layout, this.programFd);
    } catch (e) {
      if (e instanceof StructOpsError) throw new InvalidArgumentError("programs", `register ${this.target}: ${e.message} (select all its programs)`);
      throw e;
    }
    const key = new Uint8Array(4);
    try {
      this.map.update(key, value);
    } catch (e) {
      if (!(e instanceof SyscallError)) throw e;
      // the kernel refuses a value it cannot register (EINVAL: a required member missing, EEXIST: a name taken)
      throw new SyscallError(`register ${this.target}`, "BPF_MAP_UPDATE_ELEM", e.errno, registerHint(e.errno, this.spec));
    }
    if (!this.spec.link) return new UndoLink(this.target, () => void this.map.delete(key));
    const r = bpfLinkCreate({ progFd: this.map.fd, target: 0, attachType: attachTypeValue("BPF_STRUCT_OPS") });
    if (r.ret < 0) throw new SyscallError(`register ${this.target}`, "BPF_LINK_CREATE", r.errno, registerHint(r.errno, this.spec));
    return new BpfLink(this.target, r.ret);
  }
}

function registerHint(errno: number, spec: StructOpsSpec): ErrorText | undefined {
  const name = errnoName(errno);
  if (name === "EEXIST") return `the kernel already has a struct ${spec.typeName} of that name (another one registered, or a leftover: bpftool struct_ops list)`;
  if (name === "EINVAL") return `the kernel refused the struct ${spec.typeName} it was given: a member it requires may be missing (e.g. tcp_congestion_ops needs ssthresh, undo_cwnd and cong_avoid or cong_control)`;
  if (name === "EOPNOTSUPP" || name === "ENOTSUPP") return `struct ${spec.typeName} cannot be registered from user space on this kernel (e.g. bpf_dummy_ops is for BPF_PROG_TEST_RUN only)`;
  return hintFor("BPF_MAP_UPDATE_ELEM", name, { euid: process.geteuid?.() ?? 0 });
}

/**
 * Creates the object's struct_ops maps (the object's BTF must be in the kernel: the kernel wants
 * its fd) and says what each of their programs is loaded against, by program name.
 */
export function createStructOpsMaps(
  obj: ObjectSpec, btf: { fd: number; btf: Btf } | undefined, btfMissing: string | undefined,
  programFd: (name: string) => number | undefined, add: (map: BpfMap) => void,
): { maps: LoadedStructOps[]; targets: Map<string, StructOpsProgramTarget> } {
  const maps: LoadedStructOps[] = [];
  const targets = new Map<string, StructOpsProgramTarget>();
  const specs = obj.structOps ?? [];
  if (!specs.length) return { maps, targets };
  if (!btf) throw new NotSupportedError("struct_ops maps without the object's BTF in the kernel", "5.6", btfMissing ?? `${obj.file} has no BTF`);
  const kernel = vmlinuxBtf();
  {
    for (const spec of specs) {
      let layout: StructOpsLayout;
      try {
        layout = layoutStructOps(spec, btf.btf, kernel);
      } catch (e) {
        if (e instanceof StructOpsError) throw new ObjectError(obj.file, e.message, { section: spec.section });
        throw e;
      }
      for (const s of layout.slots) {
        const had = targets.get(s.program);
        if (had && (had.attachBtfId !== s.target.attachBtfId || had.memberIndex !== s.target.memberIndex)) {
          throw new ObjectError(obj.file, `program '${s.program}' implements both ${had.what} and ${s.target.what}: a struct_ops program is loaded for one member`, { section: spec.section });
        }
        targets.set(s.program, s.target);
      }
      let map: BpfMap;
      try {
        map = createMap({
          name: spec.name, type: BPF_MAP_TYPE_STRUCT_OPS, keySize: 4, valueSize: layout.kernel.valueSize, maxEntries: 1,
          flags: spec.link ? BPF_F_LINK : 0, btfFd: btf.fd, btfVmlinuxValueTypeId: layout.kernel.valueTypeId,
        });
      } catch (e) {
        if (spec.link && e instanceof SyscallError && e.errno === EINVAL) {
          throw new NotSupportedError(".struct_ops.link (struct_ops maps with BPF_F_LINK)", "6.4", `struct_ops '${spec.name}': put it in SEC(".struct_ops") on this kernel`);
        }
        throw e;
      }
      add(map);
      maps.push(new LoadedStructOps(spec, layout, map, programFd));
    }
  }
  return { maps, targets };
}

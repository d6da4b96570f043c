// C struct layouts of the kernel ABI as data. Offsets follow C's natural alignment, so the table
// reads like the uapi header; test/sys/layout.test.ts checks every field against the real header
// with gcc's offsetof. Encoding returns offsetofend(last field used): old kernels (4.9's bpf_attr
// is 48 bytes) refuse non-zero bytes past what they know, so we never send more than we need.

export type FieldType = "u8" | "u16" | "u32" | "i32" | "u64" | { char: number };

export interface Field<N extends string = string> {
  name: N;
  type: FieldType;
  offset: number;
  size: number;
}

/** One field of a layout's table: name, type, and an explicit offset for union members. */
export type FieldSpec<N extends string = string> = readonly [N, FieldType, number?];

/**
 * A struct layout, typed over its field names: `encode` and `field` take only names the layout
 * has, so a misspelt attr field fails the type check (cilium's typed attr structs). Offsets are
 * computed on first use: building every layout at start-up costs about half a millisecond of cold
 * interpreter time, and a one-shot load needs two of them.
 */
export class Layout<N extends string = string> {
  private computed?: { fields: Field<N>[]; byName: Map<string, Field<N>>; size: number };

  constructor(
    readonly name: string,
    private readonly spec: readonly FieldSpec<N>[],
  ) {}

  private compute() {
    if (this.computed) return this.computed;
    const fields: Field<N>[] = [];
    const byName = new Map<string, Field<N>>();
    let end = 0;
    let maxAlign = 1;
    for (const [fname, type, at] of this.spec) {
      const size = sizeOf(type);
      const align = alignOf(type);
      const offset = at ?? Math.ceil(end / align) * align;
      const f = { name: fname, type, offset, size };
      fields.push(f);
      byName.set(fname, f);
      end = Math.max(end, offset + size);
      maxAlign = Math.max(maxAlign, align);
    }
    return (this.computed = { fields, byName, size: Math.ceil(end / maxAlign) * maxAlign });
  }

  get fields(): Field<N>[] {
    return this.compute().fields;
  }

  /** Looked up by any string (for tables built at run time); typed code uses `field()`. */
  get byName(): ReadonlyMap<string, Field<N>> {
    return this.compute().byName;
  }

  get size(): number {
    return this.compute().size;
  }
}

/** The field names of a layout: `FieldName<typeof BPF_PROG_INFO>`. */
export type FieldName<L> = L extends Layout<infer N> ? N : never;

function sizeOf(t: FieldType): number {
  if (typeof t === "object") return t.char;
  return { u8: 1, u16: 2, u32: 4, i32: 4, u64: 8 }[t];
}

function alignOf(t: FieldType): number {
  return typeof t === "object" ? 1 : sizeOf(t);
}

/** Lays fields out in order with natural alignment; a field may be pinned at an explicit offset (unions). */
export function layout<const N extends string>(name: string, spec: readonly FieldSpec<N>[]): Layout<N> {
  return new Layout(name, spec);
}

export type FieldValue = number | bigint | string;

/** Values for some fields of a layout, by name (undefined: not sent). */
export type FieldValues<N extends string> = { readonly [K in N]?: FieldValue | undefined };

/**
 * Writes `values` into `view` at `base` (the region must be zeroed) and returns offsetofend of the
 * last field named in `values`: the size to pass to the kernel.
 */
export function encode<N extends string>(l: Layout<N>, view: DataView, base: number, values: FieldValues<NoInfer<N>>): number {
  let end = 0;
  for (const [name, value] of Object.entries(values) as [string, FieldValue | undefined][]) {
    if (value === undefined) continue;
    const f = l.byName.get(name);
    if (!f) throw new Error(`${l.name} has no field ${name}`);
    const at = base + f.offset;
    if (typeof f.type === "object") {
      const text = new TextEncoder().encode(String(value)).subarray(0, f.size - 1);
      new Uint8Array(view.buffer, view.byteOffset + at, text.length).set(text);
    } else if (f.type === "u64") {
      view.setBigUint64(at, BigInt(value), true);
    } else if (f.type === "u32") {
      view.setUint32(at, Number(value) >>> 0, true);
    } else if (f.type === "i32") {
      view.setInt32(at, Number(value), true);
    } else if (f.type === "u16") {
      view.setUint16(at, Number(value), true);
    } else {
      view.setUint8(at, Number(value));
    }
    end = Math.max(end, f.offset + f.size);
  }
  return end;
}

export function field<N extends string>(l: Layout<N>, name: NoInfer<N>): Field<N> {
  const f = l.byName.get(name);
  if (!f) throw new Error(`${l.name} has no field ${name}`);
  return f;
}

// union bpf_attr, one layout per command we use (each is one anonymous struct of the union).

export const BPF_PROG_LOAD_ATTR = layout("bpf_attr(BPF_PROG_LOAD)", [
  ["prog_type", "u32"],
  ["insn_cnt", "u32"],
  ["insns", "u64"],
  ["license", "u64"],
  ["log_level", "u32"],
  ["log_size", "u32"],
  ["log_buf", "u64"],
  ["kern_version", "u32"],
  ["prog_flags", "u32"],
  ["prog_name", { char: 16 }],
  ["prog_ifindex", "u32"],
  ["expected_attach_type", "u32"],
  ["prog_btf_fd", "u32"],
  ["func_info_rec_size", "u32"],
  ["func_info", "u64"],
  ["func_info_cnt", "u32"],
  ["line_info_rec_size", "u32"],
  ["line_info", "u64"],
  ["line_info_cnt", "u32"],
  ["attach_btf_id", "u32"],
  ["attach_prog_fd", "u32"],
  ["core_relo_cnt", "u32"],
  ["fd_array", "u64"],
  ["core_relos", "u64"],
  ["core_relo_rec_size", "u32"],
  ["log_true_size", "u32"],
  ["attach_btf_obj_fd", "u32", 112], // union with attach_prog_fd
]);

export const BPF_MAP_CREATE_ATTR = layout("bpf_attr(BPF_MAP_CREATE)", [
  ["map_type", "u32"],
  ["key_size", "u32"],
  ["value_size", "u32"],
  ["max_entries", "u32"],
  ["map_flags", "u32"],
  ["inner_map_fd", "u32"],
  ["numa_node", "u32"],
  ["map_name", { char: 16 }],
  ["map_ifindex", "u32"],
  ["btf_fd", "u32"],
  ["btf_key_type_id", "u32"],
  ["btf_value_type_id", "u32"],
  ["btf_vmlinux_value_type_id", "u32"], // struct_ops maps (5.6+)
]);

export const BPF_MAP_ELEM_ATTR = layout("bpf_attr(BPF_MAP_*_ELEM)", [
  ["map_fd", "u32"],
  ["key", "u64"],
  ["value", "u64"], // also next_key
  ["flags", "u64"],
]);

export const BPF_OBJ_ATTR = layout("bpf_attr(BPF_OBJ_*)", [
  ["pathname", "u64"],
  ["bpf_fd", "u32"],
  ["file_flags", "u32"],
]);

export const BPF_RAW_TRACEPOINT_OPEN_ATTR = layout("bpf_attr(BPF_RAW_TRACEPOINT_OPEN)", [
  ["name", "u64"],
  ["prog_fd", "u32"],
]);

export const BPF_OBJ_GET_INFO_BY_FD_ATTR = layout("bpf_attr(BPF_OBJ_GET_INFO_BY_FD)", [
  ["bpf_fd", "u32"],
  ["info_len", "u32"],
  ["info", "u64"],
]);

export const BPF_LINK_CREATE_ATTR = layout("bpf_attr(BPF_LINK_CREATE)", [
  ["prog_fd", "u32"],
  ["target_fd", "u32"],
  ["attach_type", "u32"],
  ["flags", "u32"],
]);

export const BPF_ENABLE_STATS_ATTR = layout("bpf_attr(BPF_ENABLE_STATS)", [["type", "u32"]]);

/** struct bpf_prog_info up to run_cnt (5.1+); older kernels fill what they know and zero the rest. */
export const BPF_PROG_INFO = layout("bpf_prog_info", [
  ["type", "u32"],
  ["id", "u32"],
  ["tag", { char: 8 }],
  ["jited_prog_len", "u32"],
  ["xlated_prog_len", "u32"],
  ["jited_prog_insns", "u64"],
  ["xlated_prog_insns", "u64"],
  ["load_time", "u64"],
  ["created_by_uid", "u32"],
  ["nr_map_ids", "u32"],
  ["map_ids", "u64"],
  ["name", { char: 16 }],
  ["ifindex", "u32"],
  ["gpl_compatible", "u32"], // a 1-bit bitfield in its own u32
  ["netns_dev", "u64"],
  ["netns_ino", "u64"],
  ["nr_jited_ksyms", "u32"],
  ["nr_jited_func_lens", "u32"],
  ["jited_ksyms", "u64"],
  ["jited_func_lens", "u64"],
  ["btf_id", "u32"],
  ["func_info_rec_size", "u32"],
  ["func_info", "u64"],
  ["nr_func_info", "u32"],
  ["nr_line_info", "u32"],
  ["line_info", "u64"],
  ["jited_line_info", "u64"],
  ["nr_jited_line_info", "u32"],
  ["line_info_rec_size", "u32"],
  ["jited_line_info_rec_size", "u32"],
  ["nr_prog_tags", "u32"],
  ["prog_tags", "u64"],
  ["run_time_ns", "u64"],
  ["run_cnt", "u64"],
  ["recursion_misses", "u64"],
  ["verified_insns", "u32"],
]);

/** struct bpf_map_info (4.13+; name from 4.15). */
export const BPF_MAP_INFO = layout("bpf_map_info", [
  ["type", "u32"],
  ["id", "u32"],
  ["key_size", "u32"],
  ["value_size", "u32"],
  ["max_entries", "u32"],
  ["map_flags", "u32"],
  ["name", { char: 16 }],
  ["ifindex", "u32"],
  ["btf_vmlinux_value_type_id", "u32"],
  ["netns_dev", "u64"],
  ["netns_ino", "u64"],
  ["btf_id", "u32"],
  ["btf_key_type_id", "u32"],
  ["btf_value_type_id", "u32"],
]);

/** struct perf_event_attr up to PERF_ATTR_SIZE_VER5 (112 bytes), which every kernel since 4.1 knows. */
export const PERF_EVENT_ATTR = layout("perf_event_attr", [
  ["type", "u32"],
  ["size", "u32"],
  ["config", "u64"],
  ["sample_period", "u64"], // union with sample_freq
  ["sample_type", "u64"],
  ["read_format", "u64"],
  ["flags", "u64"], // the bitfield word: disabled, inherit, ... see PERF_ATTR_FLAG
  ["wakeup_events", "u32"], // union with wakeup_watermark
  ["bp_type", "u32"],
  ["config1", "u64"], // bp_addr / kprobe_func / uprobe_path
  ["config2", "u64"], // bp_len / probe_offset
  ["branch_sample_type", "u64"],
  ["sample_regs_user", "u64"],
  ["sample_stack_user", "u32"],
  ["clockid", "i32"],
  ["sample_regs_intr", "u64"],
  ["aux_watermark", "u32"],
  ["sample_max_stack", "u16"],
  ["__reserved_2", "u16"],
]);

/** Bits of perf_event_attr's flags word (bit numbers of the C bitfield, checked against gcc). */
export const PERF_ATTR_FLAG = { disabled: 0, inherit: 1, exclude_kernel: 5, freq: 10 } as const;

/** union bpf_attr for BPF_PROG_TEST_RUN (4.12; ctx_* 5.0 for most types; flags, cpu 5.10; batch_size 5.18). */
export const BPF_PROG_TEST_RUN_ATTR = layout("bpf_attr(BPF_PROG_TEST_RUN)", [
  ["prog_fd", "u32"],
  ["retval", "u32"],
  ["data_size_in", "u32"],
  ["data_size_out", "u32"],
  ["data_in", "u64"],
  ["data_out", "u64"],
  ["repeat", "u32"],
  ["duration", "u32"],
  ["ctx_size_in", "u32"],
  ["ctx_size_out", "u32"],
  ["ctx_in", "u64"],
  ["ctx_out", "u64"],
  ["flags", "u32"],
  ["cpu", "u32"],
  ["batch_size", "u32"],
]);

// Network/cgroup hooks and object iteration (issue 11: net branch).

/**
 * bpf_attr for BPF_LINK_CREATE with the per-hook union after `flags`: target_ifindex shares
 * target_fd's slot (xdp, tcx), tcx's relative_fd/expected_revision (6.6+) and netfilter's
 * pf/hooknum/priority/flags (6.4+) share the union at 16. Only one group is set per call.
 */
export const BPF_LINK_CREATE_HOOK_ATTR = layout("bpf_attr(BPF_LINK_CREATE hooks)", [
  ["prog_fd", "u32"],
  ["target_ifindex", "u32"], // union with target_fd
  ["attach_type", "u32"],
  ["flags", "u32"],
  ["tcx.relative_fd", "u32", 16],
  ["tcx.expected_revision", "u64", 24],
  ["netfilter.pf", "u32", 16],
  ["netfilter.hooknum", "u32", 20],
  ["netfilter.priority", "i32", 24],
  ["netfilter.flags", "u32", 28],
]);

/** bpf_attr for BPF_PROG_ATTACH / BPF_PROG_DETACH (4.10+; replace_bpf_fd 5.6+). */
export const BPF_PROG_ATTACH_ATTR = layout("bpf_attr(BPF_PROG_ATTACH)", [
  ["target_fd", "u32"],
  ["attach_bpf_fd", "u32"],
  ["attach_type", "u32"],
  ["attach_flags", "u32"],
  ["replace_bpf_fd", "u32"],
]);

/** bpf_attr for BPF_*_GET_NEXT_ID and BPF_*_GET_FD_BY_ID (4.13+): start_id shares its slot with prog_id/map_id. */
export const BPF_GET_ID_ATTR = layout("bpf_attr(BPF_*_GET_NEXT_ID)", [
  ["start_id", "u32"],
  ["next_id", "u32"],
  ["open_flags", "u32"],
]);

/** bpf_attr for BPF_PROG_QUERY (4.15+): the programs attached at a cgroup, netns or sockmap (6.0+). */
export const BPF_PROG_QUERY_ATTR = layout("bpf_attr(BPF_PROG_QUERY)", [
  ["target_fd", "u32"],
  ["attach_type", "u32"],
  ["query_flags", "u32"],
  ["attach_flags", "u32"],
  ["prog_ids", "u64"],
  ["prog_cnt", "u32"],
]);

// Appended for BTF-target programs, bpf_link attach and iterators.

export const BPF_ITER_CREATE_ATTR = layout("bpf_attr(BPF_ITER_CREATE)", [
  ["link_fd", "u32"],
  ["flags", "u32"],
]);

/** struct bpf_btf_info (name and kernel_btf from 5.11). */
export const BPF_BTF_INFO = layout("bpf_btf_info", [
  ["btf", "u64"],
  ["btf_size", "u32"],
  ["id", "u32"],
  ["name", "u64"],
  ["name_len", "u32"],
  ["kernel_btf", "u32"],
]);

/** The head of struct bpf_link_info (5.8+): enough to name the link in --verbose. */
export const BPF_LINK_INFO = layout("bpf_link_info", [
  ["type", "u32"],
  ["id", "u32"],
  ["prog_id", "u32"],
]);

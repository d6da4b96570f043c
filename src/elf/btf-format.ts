// Our parse of BTF printed the way `bpftool btf dump file X` (format raw) prints it, line for line,
// so bpftool (libbpf's parser) can serve as the oracle for every type of a blob. Pure.

import {
  BTF_FUNC_EXTERN, BTF_FUNC_GLOBAL, BTF_FUNC_STATIC, BTF_INT_BOOL, BTF_INT_CHAR, BTF_INT_SIGNED, BTF_KIND_ARRAY,
  BTF_KIND_CONST, BTF_KIND_DATASEC, BTF_KIND_DECL_TAG, BTF_KIND_ENUM, BTF_KIND_ENUM64, BTF_KIND_FLOAT, BTF_KIND_FUNC,
  BTF_KIND_FUNC_PROTO, BTF_KIND_FWD, BTF_KIND_INT, BTF_KIND_PTR, BTF_KIND_RESTRICT, BTF_KIND_STRUCT, BTF_KIND_TYPE_TAG,
  BTF_KIND_TYPEDEF, BTF_KIND_UNION, BTF_KIND_VAR, BTF_KIND_VOLATILE, BTF_VAR_GLOBAL_ALLOCATED, BTF_VAR_GLOBAL_EXTERN,
  BTF_VAR_STATIC, memberBitfieldSize, memberBitOffset, type Btf, type BtfType,
} from "./btf.ts";

const KIND = [
  "UNKNOWN", "INT", "PTR", "ARRAY", "STRUCT", "UNION", "ENUM", "FWD", "TYPEDEF", "VOLATILE", "CONST", "RESTRICT", "FUNC",
  "FUNC_PROTO", "VAR", "DATASEC", "FLOAT", "DECL_TAG", "TYPE_TAG", "ENUM64",
];

const quoted = (name: string) => `'${name || "(anon)"}'`;

function intEncoding(e: number): string {
  if (e === 0) return "(none)";
  if (e === BTF_INT_SIGNED) return "SIGNED";
  if (e === BTF_INT_CHAR) return "CHAR";
  if (e === BTF_INT_BOOL) return "BOOL";
  return "UNKN";
}

function funcLinkage(l: number): string {
  return l === BTF_FUNC_STATIC ? "static" : l === BTF_FUNC_GLOBAL ? "global" : l === BTF_FUNC_EXTERN ? "extern" : "(unknown)";
}

function varLinkage(l: number): string {
  return l === BTF_VAR_STATIC ? "static" : l === BTF_VAR_GLOBAL_ALLOCATED ? "global" : l === BTF_VAR_GLOBAL_EXTERN ? "extern" : "(unknown)";
}

/** One type as bpftool prints it: the `[id] KIND 'name' …` line and its member lines. */
export function formatBtfType(btf: Btf, t: BtfType): string {
  let s = `[${t.id}] ${KIND[t.kind] ?? "UNKNOWN"} ${quoted(t.name)}`;
  switch (t.kind) {
    case BTF_KIND_INT:
      s += ` size=${t.sizeOrType} bits_offset=${t.int!.offset} nr_bits=${t.int!.bits} encoding=${intEncoding(t.int!.encoding)}`;
      break;
    case BTF_KIND_PTR:
    case BTF_KIND_CONST:
    case BTF_KIND_VOLATILE:
    case BTF_KIND_RESTRICT:
    case BTF_KIND_TYPEDEF:
    case BTF_KIND_TYPE_TAG:
      s += ` type_id=${t.sizeOrType}`;
      break;
    case BTF_KIND_ARRAY:
      s += ` type_id=${t.array!.type} index_type_id=${t.array!.indexType} nr_elems=${t.array!.nelems}`;
      break;
    case BTF_KIND_STRUCT:
    case BTF_KIND_UNION:
      s += ` size=${t.sizeOrType} vlen=${t.vlen}`;
      for (const m of t.members!) {
        const bf = memberBitfieldSize(t, m);
        s += `\n\t${quoted(m.name)} type_id=${m.type} bits_offset=${memberBitOffset(t, m)}${bf ? ` bitfield_size=${bf}` : ""}`;
      }
      break;
    case BTF_KIND_ENUM:
    case BTF_KIND_ENUM64:
      s += ` encoding=${t.kindFlag ? "SIGNED" : "UNSIGNED"} size=${t.sizeOrType} vlen=${t.vlen}`;
      // bpftool spells ENUM64 values as C literals: 1ULL, -1LL
      for (const v of t.values!) s += `\n\t${quoted(v.name)} val=${v.value}${t.kind === BTF_KIND_ENUM64 ? (t.kindFlag ? "LL" : "ULL") : ""}`;
      break;
    case BTF_KIND_FWD:
      s += ` fwd_kind=${t.kindFlag ? "union" : "struct"}`;
      break;
    case BTF_KIND_FUNC:
      s += ` type_id=${t.sizeOrType} linkage=${funcLinkage(t.vlen)}`;
      break;
    case BTF_KIND_FUNC_PROTO:
      s += ` ret_type_id=${t.sizeOrType} vlen=${t.vlen}`;
      for (const p of t.params!) s += `\n\t${quoted(p.name)} type_id=${p.type}`;
      break;
    case BTF_KIND_VAR:
      s += ` type_id=${t.sizeOrType}, linkage=${varLinkage(t.linkage!)}`;
      break;
    case BTF_KIND_DATASEC:
      s += ` size=${t.sizeOrType} vlen=${t.vlen}`;
      for (const v of t.secinfos!) {
        const target = btf.has(v.type) && v.type !== 0 ? btf.type(v.type) : undefined;
        s += `\n\ttype_id=${v.type} offset=${v.offset} size=${v.size} (${target ? KIND[target.kind] : "UNKNOWN"} ${quoted(target?.name ?? "")})`;
      }
      break;
    case BTF_KIND_FLOAT:
      s += ` size=${t.sizeOrType}`;
      break;
    case BTF_KIND_DECL_TAG:
      s += ` type_id=${t.sizeOrType} component_idx=${t.componentIdx}`;
      break;
  }
  return s;
}

/** Every type of the blob (not its base's), one `formatBtfType` per type, newline-terminated. */
export function formatBtfRaw(btf: Btf): string {
  const out: string[] = [];
  for (let id = btf.firstId; id < btf.typeCount; id++) out.push(formatBtfType(btf, btf.type(id)));
  return out.length ? out.join("\n") + "\n" : "";
}

// Loading an ELF object for `load`: read it, pick the programs the user named, load them.
import { Btf } from "../elf/index.ts";
import { loadCollection, parseObject, UsageError, type ObjectSpec, type RawProgramSpec as ProgramSpec } from "../index.ts";
import type { Collection } from "../kernel/collection.ts";
import { btfFileOption, lazyCoreTarget } from "../kernel/target-btf.ts";
import type { KernelVersion } from "../kernel/version.ts";
import type { ProgTypeName } from "../uapi.ts";
import type { Output } from "./output.ts";

export interface ObjectLoadOptions {
  section?: string;
  program?: string;
  type?: ProgTypeName;
  license?: string;
  kernVersion: KernelVersion;
  logLevel?: number;
  set?: string[];
  maps?: string[];
  /** --target PROG_ID|PIN_PATH:FUNC: what freplace programs replace. */
  target?: string;
  /** --btf FILE: target BTF for CO-RE (default: $BPFLOAD_BTF, else the kernel's; read only if needed). */
  btf?: string;
}

export async function loadObjectFile(out: Output, file: string, bytes: Uint8Array, opts: ObjectLoadOptions): Promise<Collection> {
  const obj = await parseObject(bytes, file);
  if (!obj.programs.length) throw new UsageError(`${file} holds no eBPF program (no executable section with instructions)`);
  const named = opts.section !== undefined || opts.program !== undefined;
  // libbpf's "?" sections (autoload off) load only when named
  const wanted = (p: ProgramSpec) => (opts.section === undefined || p.section === opts.section) && (opts.program === undefined || p.name === opts.program) && (named || p.autoload !== false);
  const selected = obj.programs.filter(wanted);
  if (!selected.length) {
    const list = obj.programs.map((p) => `${p.name} (section ${p.section})`).join(", ");
    const asked = [opts.section && `section '${opts.section}'`, opts.program && `program '${opts.program}'`].filter(Boolean).join(" and ");
    throw new UsageError(`${file} has no ${asked}: it has ${list}`);
  }
  if (opts.maps?.length || opts.set?.length) {
    const { resizeMap, setVariable } = await import("../elf/object-options.ts");
    for (const m of opts.maps ?? []) resizeMap(obj, m);
    const btf = opts.set?.length ? objectBtf(obj, bytes) : undefined;
    for (const s of opts.set ?? []) setVariable(obj, btf, s);
  }
  if (obj.version !== undefined) out.detail(`${file}: version section 0x${obj.version.toString(16)} (bpfload sends the running kernel's version instead)`);
  let freplaceTarget: import("../kernel/attach/freplace.ts").FreplaceTarget | undefined;
  if (opts.target !== undefined) {
    if (!selected.some((p) => (opts.type ?? p.progType) === "ext")) throw new UsageError(`--target names what an freplace program replaces, and ${file} has none selected (sections freplace/FUNC)`);
    const { FreplaceTarget } = await import("../kernel/attach/freplace.ts");
    freplaceTarget = FreplaceTarget.open(opts.target);
  }
  // the target BTF is read only for an object with CO-RE relocations, and then once, before any program
  const targetBtf = lazyCoreTarget(btfFileOption(opts.btf));
  let col: Collection;
  try {
    if (obj.functions.some((f) => f.coreRelocations)) targetBtf.open();
    col = loadCollection(obj, { select: wanted, type: opts.type, license: opts.license, kernVersion: opts.kernVersion, logLevel: opts.logLevel, keepGoing: true, elf: bytes, freplaceTarget, targetBtf });
  } finally {
    freplaceTarget?.close(); // a loaded freplace program holds the target itself
  }
  if (col.btf) out.detail(`${file}: BTF loaded into the kernel${col.btf.progInfo ? ", func_info/line_info sent with the programs" : " (for the maps: this kernel takes no func_info/line_info with BPF_PROG_LOAD)"}`);
  for (const note of col.notes) out.detail(note);
  return col;
}

/** The object's .BTF, parsed (undefined without one). */
function objectBtf(obj: ObjectSpec, bytes: Uint8Array): Btf | undefined {
  const s = obj.sections.find((x) => x.name === ".BTF");
  return s ? new Btf(bytes.subarray(s.offset, s.offset + s.size)) : undefined;
}

// Loading an ELF object for `load`: read it (readObject), pick the programs the user named, apply
// --map and --set as edits of the spec, load it (load) into the library's Collection.
import { load, readObject, UsageError, type Collection, type CollectionSpec, type KernelVersion, type ProgramSpec, type ProgTypeName } from "../index.ts";
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

/** --btf's default: the environment variable (the library reads no environment). */
const BTF_ENV = "BPFLOAD_BTF";

/** An object read and edited as the options say (programs selected, maps sized, variables set), not yet in the kernel. */
export interface PreparedObject {
  spec: CollectionSpec;
  selected: ProgramSpec[];
}

/**
 * `load`'s first half, pure: everything wrong with the file or the options is said here, before
 * trace_pipe is opened or anything is loaded (a truncated object is not hidden behind a busy pipe).
 */
export async function prepareObject(out: Output, file: string, bytes: Uint8Array, opts: ObjectLoadOptions): Promise<PreparedObject> {
  const spec = await readObject(bytes, file);
  const programs = [...spec.programs.values()];
  if (!programs.length) throw new UsageError(`${file} holds no eBPF program (no executable section with instructions)`);
  const named = opts.section !== undefined || opts.program !== undefined;
  // libbpf's "?" sections (autoload off) load only when named
  const wanted = (p: ProgramSpec) => (opts.section === undefined || p.section === opts.section) && (opts.program === undefined || p.name === opts.program) && (named || p.autoload);
  const selected = programs.filter(wanted);
  if (!selected.length) {
    const list = programs.map((p) => `${p.name} (section ${p.section})`).join(", ");
    const asked = [opts.section && `section '${opts.section}'`, opts.program && `program '${opts.program}'`].filter(Boolean).join(" and ");
    throw new UsageError(`${file} has no ${asked}: it has ${list}`);
  }
  for (const m of opts.maps ?? []) resizeMap(spec, m);
  for (const s of opts.set ?? []) setVariable(spec, s);
  if (spec.object.version !== undefined) out.detail(`${file}: version section 0x${spec.object.version.toString(16)} (bpfload sends the running kernel's version instead)`);
  if (opts.type !== undefined) for (const p of selected) p.type = opts.type;
  if (opts.target !== undefined && !selected.some((p) => p.type === "ext")) {
    throw new UsageError(`--target names what an freplace program replaces, and ${file} has none selected (sections freplace/FUNC)`);
  }
  return { spec, selected };
}

/** `load`'s second half: the prepared object into the kernel. */
export function loadPrepared(out: Output, file: string, { spec, selected }: PreparedObject, opts: ObjectLoadOptions): Collection {
  const col = load(spec, {
    programs: selected.map((p) => p.name),
    license: opts.license,
    kernVersion: opts.kernVersion,
    logLevel: opts.logLevel,
    keepGoing: true,
    freplaceTarget: opts.target,
    btf: opts.btf ?? (process.env[BTF_ENV] || undefined),
  });
  if (col.btfInKernel) out.detail(`${file}: BTF loaded into the kernel${col.btfInKernel.progInfo ? ", func_info/line_info sent with the programs" : " (for the maps: this kernel takes no func_info/line_info with BPF_PROG_LOAD)"}`);
  for (const note of col.notes) out.detail(note);
  return col;
}

/** `--map NAME:max_entries=N[,value_size=M][,key_size=K]`: sizes a map its object left for user space to size. */
function resizeMap(spec: CollectionSpec, option: string): void {
  const colon = option.indexOf(":");
  if (colon <= 0) throw new UsageError(`bad --map '${option}': give NAME:max_entries=N[,value_size=M]`);
  const name = option.slice(0, colon);
  const map = spec.maps.get(name);
  if (!map) throw new UsageError(`--map ${name}: ${spec.file} has no map '${name}' (it has ${[...spec.maps.keys()].join(", ") || "none"})`);
  for (const kv of option.slice(colon + 1).split(",")) {
    const [k, v] = kv.split("=");
    const n = v !== undefined && /^(0x[0-9a-f]+|[0-9]+)$/i.test(v.trim()) ? Number(v.trim()) : NaN;
    if (!(n >= 0 && n <= 0xffffffff)) throw new UsageError(`bad --map '${option}': '${kv}' needs a number (max_entries=N, value_size=M, key_size=K)`);
    if (k === "max_entries") map.maxEntries = n;
    else if (k === "value_size") {
      if (map.dataSection) throw new UsageError(`--map ${name}: the value of a data section is its variables; only max_entries/value_size of other maps can change`);
      map.valueSize = n;
    } else if (k === "key_size") map.keySize = n;
    else throw new UsageError(`bad --map '${option}': unknown '${k}' (max_entries, value_size, key_size)`);
  }
}

/** `--set NAME=VALUE`: the variable's new initial value, given as the text (typed by its BTF: integers, bools, enum names, char arrays). */
function setVariable(spec: CollectionSpec, assignment: string): void {
  const eq = assignment.indexOf("=");
  if (eq <= 0) throw new UsageError(`bad --set '${assignment}': give NAME=VALUE`);
  const name = assignment.slice(0, eq);
  if (!spec.btf) throw new UsageError(`--set ${name}: ${spec.file} has no BTF (build it with clang -g) to tell where and of what type the variable is`);
  const variable = spec.variables.get(name);
  if (!variable) {
    const known = [...spec.variables.keys()];
    throw new UsageError(`--set ${name}: ${spec.file} has no global variable '${name}' in a data section its programs use${known.length ? ` (it has ${known.join(", ")})` : ""}`);
  }
  variable.set(assignment.slice(eq + 1));
}

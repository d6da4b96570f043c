// `bpfload btf relocs OBJ [--btf FILE|DIR ...] [--program NAME] [--json]`: the offline CO-RE
// report. Nothing is loaded: each relocation with its local access, what it resolved to on the
// target BTF (field offset and size, type id, value) or why not, and a verdict per program; with
// several targets (files, or a directory of BTFHub files) a table of the kernels the object runs on.
import {
  BpfloadError, btfFilesUnder, InputError, objectRelocations, openCoreTarget, parseObject, relocationReport, UsageError,
  type ProgramReport, type RelocReport, type TargetBtf, type Verdict,
} from "../index.ts";
import { quote } from "../errors.ts";
import { inputFileError, readInput } from "./input.ts";
import { cliMessage } from "./flags.ts";
import type { Output } from "./output.ts";

const USAGE = "bpfload btf relocs OBJ [--btf FILE|DIR ...] [--program NAME] [--json]";

export interface BtfCommandOptions {
  /** --btf values (files or directories); none: BPFLOAD_BTF, else the running kernel's BTF. */
  btf: string[];
  program?: string;
}

export async function runBtf(out: Output, action: string, args: string[], opts: BtfCommandOptions): Promise<number> {
  if (action !== "relocs") throw new UsageError(`unknown btf action ${quote(action)}: ${USAGE}`);
  if (args.length !== 1) throw new UsageError(`btf relocs takes one object file: ${USAGE}`);
  return relocs(out, args[0]!, opts);
}

/** A target to report on: opened lazily (one at a time), or why it could not be opened. */
interface Target {
  name: string;
  open: () => TargetBtf;
}

async function relocs(out: Output, file: string, opts: BtfCommandOptions): Promise<number> {
  const input = readInput(file);
  if (input.kind !== "elf") throw new InputError(file, "not an ELF object: CO-RE relocations live in an object's .BTF.ext");
  const obj = await parseObject(input.bytes, file);
  const core = objectRelocations(obj, input.bytes, file);
  const programs = obj.programs.filter((p) => opts.program === undefined || p.name === opts.program);
  if (!programs.length) {
    throw new UsageError(opts.program !== undefined ? `${file} has no program '${opts.program}': it has ${obj.programs.map((p) => p.name).join(", ")}` : `${file} holds no eBPF program`);
  }
  const { targets, anyDirectory } = targetList(opts.btf);
  const many = targets.length > 1 || anyDirectory;
  const rows: { target: string; reports?: ProgramReport[]; error?: string }[] = [];
  for (const t of targets) {
    let reports: ProgramReport[];
    try {
      const target = t.open();
      reports = relocationReport(obj, core, programs, target);
    } catch (e) {
      if (!many || !(e instanceof BpfloadError)) throw e;
      const message = cliMessage(e); // its option mentions as flags, as every error the CLI prints
      rows.push({ target: t.name, error: message });
      out.result(message.startsWith(t.name) ? message : `${t.name}: ${message}`, { type: "target", target: t.name, error: message });
      continue;
    }
    rows.push({ target: t.name, reports });
    printReports(out, file, t.name, reports, many);
  }
  if (many) printTable(out, programs.map((p) => p.name), rows);
  // exit 1 when a program would be refused on a target (or a target could not be read): for CI
  const bad = rows.some((r) => r.error !== undefined || r.reports!.some((p) => p.verdict === "fails"));
  return bad ? 1 : 0;
}

/** --btf's default: the environment variable (the library reads no environment); empty counts as unset. */
const BTF_ENV = "BPFLOAD_BTF";

/** --btf FILE|DIR ... (a directory: each of its files), else BPFLOAD_BTF, else the running kernel. */
function targetList(given: string[]): { targets: Target[]; anyDirectory: boolean } {
  const one = (path: string): Target => ({ name: path, open: () => opened(path) });
  if (!given.length) {
    const env = process.env[BTF_ENV] || undefined;
    return { targets: [env !== undefined ? one(env) : { name: "/sys/kernel/btf/vmlinux", open: () => openCoreTarget() }], anyDirectory: false };
  }
  const out: Target[] = [];
  let anyDirectory = false;
  for (const g of given) {
    const files = btfFilesUnder(g);
    if (files === undefined) {
      out.push(one(g));
      continue;
    }
    anyDirectory = true;
    if (!files.length) throw new InputError(g, "a directory without files: give BTF files (BTFHub's KERNEL.btf or .btf.tar.xz)");
    for (const f of files) out.push(one(f));
  }
  return { targets: out, anyDirectory };
}

function opened(path: string): TargetBtf {
  try {
    return openCoreTarget(path);
  } catch (e) {
    throw inputFileError(path, e);
  }
}

const VERDICT_TEXT: Record<Verdict, string> = {
  ok: "every relocation resolved: loads",
  guarded: "loads only if the poisoned instructions are never reached (guarded by bpf_core_field_exists or the like)",
  fails: "refused: a relocation cannot be applied",
  none: "no CO-RE relocations",
};

function printReports(out: Output, file: string, target: string, reports: ProgramReport[], many: boolean): void {
  if (!many) out.info(`${file}: CO-RE relocations against ${target}`);
  for (const p of reports) {
    for (const r of p.relocations) {
      if (many && !out.json && !out.verbose) continue; // the verdicts and the table say it; --verbose shows each
      const text = `  #${r.index} ${p.program} insn ${r.insn} ${r.kindName} ${r.access || `type ${r.localTypeId}`} (${r.spec}): ${resolution(r)}`;
      out.result(text, { type: "relocation", target, ...relocJson(p, r) });
    }
    const head = `${many ? `${target}: ` : ""}program ${p.program} (${p.section}): ${p.relocations.length} relocation${p.relocations.length === 1 ? "" : "s"}: ${VERDICT_TEXT[p.verdict]}`;
    out.result([head, ...p.why.map((w) => `    ${w}`)].join("\n"), { type: "program", target, program: p.program, section: p.section, relocations: p.relocations.length, verdict: p.verdict, why: p.why });
  }
}

function resolution(r: RelocReport): string {
  if (r.error !== undefined) return `error: ${r.error}`;
  if (r.poisoned) return `not resolved: ${r.why}; instruction poisoned`;
  const t = r.target;
  const where = t ? `[${t.typeId}] ${t.access}${t.btf !== "vmlinux" ? ` (module ${t.btf})` : ""}` : "not on the target";
  const field = r.field ? (r.field.bits ? `, bits ${r.field.bitOffset}+${r.field.bits} in ${r.field.size} bytes` : `, offset ${r.field.offset} size ${r.field.size}`) : "";
  return `${where}${field}: ${r.oldValue} -> ${r.newValue}`;
}

function relocJson(p: ProgramReport, r: RelocReport): Record<string, unknown> {
  return {
    program: p.program, index: r.index, section: r.section, function: r.function, insn: r.insn, kind: r.kindName, local: r.access, access: r.spec,
    localTypeId: r.localTypeId, resolved: r.error === undefined && !r.poisoned, targetType: r.target, field: r.field,
    oldValue: r.oldValue === undefined ? undefined : String(r.oldValue), newValue: r.newValue === undefined ? undefined : String(r.newValue),
    poisoned: r.poisoned, why: r.why, error: r.error,
  };
}

/** Which kernels (targets) each program runs on. */
function printTable(out: Output, programs: string[], rows: { target: string; reports?: ProgramReport[]; error?: string }[]): void {
  const width = Math.max(6, ...rows.map((r) => r.target.length));
  const cols = programs.map((p) => Math.max(p.length, 10));
  const cell = (s: string, w: number) => s.padEnd(w);
  const lines = [`${cell("target", width)}  ${programs.map((p, i) => cell(p, cols[i]!)).join("  ")}`];
  for (const r of rows) {
    const cells = r.error !== undefined ? programs.map((_, i) => cell("unreadable", cols[i]!)) : r.reports!.map((p, i) => cell(p.verdict, cols[i]!));
    lines.push(`${cell(r.target, width)}  ${cells.join("  ")}`.trimEnd());
  }
  const runs = (name: string) => rows.filter((r) => r.reports?.find((p) => p.program === name && p.verdict !== "fails")).length;
  const summary = programs.map((p) => `${p} on ${runs(p)} of ${rows.length}`).join(", ");
  out.result(`${lines.join("\n")}\nruns: ${summary} (ok: all resolved; guarded: loads if the poisoned instructions are never reached; fails: refused)`, {
    type: "summary",
    targets: rows.length,
    programs: programs.map((p) => ({ program: p, runsOn: rows.filter((r) => r.reports?.find((x) => x.program === p && x.verdict !== "fails")).map((r) => r.target) })),
  });
}

// What an object's CO-RE relocations resolve to on one target BTF, without loading anything:
// each program linked as the loader links it (its subprograms appended), every .BTF.ext core_relo
// record of its pieces resolved by the engine (btf/core), and a verdict per program. Pure: the
// target is a parameter (kernel/btf/core-target.ts opens it), the CLI (cli/btf.ts) prints the report.
import { Btf, BtfError, BTF_KIND_STRUCT, BTF_KIND_UNION, memberBitfieldSize, readBtfExt, type BtfCoreRelo, type BtfExtSection } from "../elf/btf.ts";
import { linkProgramPieces } from "../elf/link.ts";
import type { ObjectSpec, ProgramSpec } from "../elf/types.ts";
import { CoreError, CoreRelocator, parseSpec, relocateProgram, type CoreRelocationResult, type CoreTargetBtf } from "./core/index.ts";

/** Field relocation kinds (byte offset … rshift), whose target is a member or an array element. */
const isFieldKind = (kind: number) => kind <= 5;

/** The object's BTF and its CO-RE records (none: an object without .BTF.ext or without core_relo). */
export interface ObjectCore {
  btf?: Btf;
  records: BtfExtSection<BtfCoreRelo>[];
}

/** One relocation of a program, as resolved on the target. */
export interface RelocReport extends CoreRelocationResult {
  /** Field relocations that matched: the field on the target (bytes; bits for a bitfield). */
  field?: { offset: number; size: number; bitOffset?: number; bits?: number };
}

/**
 * ok: every relocation resolved; guarded: some are poisoned, so the program loads only if those
 * instructions are never reached (behind bpf_core_field_exists and the like); fails: the loader
 * stops on a relocation (ambiguous, malformed); none: no CO-RE relocation at all.
 */
export type Verdict = "ok" | "guarded" | "fails" | "none";

export interface ProgramReport {
  program: string;
  section: string;
  relocations: RelocReport[];
  verdict: Verdict;
  /** The relocations behind the verdict (poisoned or failed), described. */
  why: string[];
}

/** The object's .BTF and .BTF.ext core_relo records; a malformed one throws BtfError. */
export function objectCore(obj: ObjectSpec, bytes: Uint8Array): ObjectCore {
  const section = (name: string) => {
    const s = obj.sections.find((x) => x.name === name);
    return s ? bytes.subarray(s.offset, s.offset + s.size) : undefined;
  };
  const btfBytes = section(".BTF");
  const ext = section(".BTF.ext");
  if (!btfBytes) return { records: [] };
  const btf = new Btf(btfBytes);
  return { btf, records: ext ? readBtfExt(ext, () => btf).coreRelo : [] };
}

/**
 * Resolves the relocations of `programs` against `targets` ([vmlinux, ...modules]). BtfError from a
 * malformed target propagates (the caller names the file).
 */
export function relocationReport(obj: ObjectSpec, core: ObjectCore, programs: ProgramSpec[], targets: CoreTargetBtf[]): ProgramReport[] {
  const relocator = core.btf ? new CoreRelocator(core.btf, targets) : undefined;
  return programs.map((p) => {
    if (!relocator || !core.records.length) return { program: p.name, section: p.section, relocations: [], verdict: "none", why: [] };
    const { insns, pieces } = linkProgramPieces(obj, p, { mapFd: () => 0 });
    const results: RelocReport[] = relocateProgram(relocator, insns, pieces, core.records);
    for (const r of results) addField(r, targets);
    return { program: p.name, section: p.section, relocations: results, ...verdictOf(results) };
  });
}

function verdictOf(rs: RelocReport[]): { verdict: Verdict; why: string[] } {
  if (!rs.length) return { verdict: "none", why: [] };
  const failed = rs.filter((r) => r.error !== undefined);
  if (failed.length) return { verdict: "fails", why: failed.map((r) => `relocation ${r.index} (${r.access || r.spec}): ${r.error}`) };
  const poisoned = rs.filter((r) => r.poisoned);
  if (poisoned.length) return { verdict: "guarded", why: poisoned.map((r) => `relocation ${r.index} (${r.access}): ${r.why ?? "not resolved"}`) };
  return { verdict: "ok", why: [] };
}

/** The matched field's offset and size on the target, for a field relocation that matched. */
function addField(r: RelocReport, targets: CoreTargetBtf[]): void {
  if (!r.target || !isFieldKind(r.kind)) return;
  const btf = targets.find((t) => t.name === r.target!.btf)?.btf;
  if (!btf) return;
  try {
    const spec = parseSpec(btf, r.target.typeId, r.target.spec, r.kind);
    const last = spec.accessors[spec.accessors.length - 1]!;
    const parent = btf.skipQualifiers(last.typeId);
    if (last.name !== undefined && (parent.kind === BTF_KIND_STRUCT || parent.kind === BTF_KIND_UNION)) {
      const m = parent.members![last.idx]!;
      const bits = memberBitfieldSize(parent, m);
      if (bits) {
        r.field = { offset: Math.floor(spec.bitOffset / 8), size: btf.sizeOf(m.type), bitOffset: spec.bitOffset, bits };
        return;
      }
      r.field = { offset: spec.bitOffset / 8, size: btf.sizeOf(m.type) };
    } else {
      r.field = { offset: spec.bitOffset / 8, size: btf.sizeOf(last.typeId) };
    }
  } catch (e) {
    if (!(e instanceof CoreError) && !(e instanceof BtfError)) throw e;
  }
}

// The CO-RE engine's API (pure: the target BTF is always given, never looked up here).
//
//   const relocator = new CoreRelocator(objectBtf, [{ name: "vmlinux", btf }, { name: "nf_tables", btf: mod }]);
//   // loading: patch a linked program in place, one result per record inside it
//   const results = relocateProgram(relocator, insns, pieces, ext.coreRelo);
//   // offline report: every record of the object, each function's copy patched to check the instruction
//   const report = resolveRecords(relocator, ext.coreRelo, obj.functions);
//
// A result with `error` is fatal (malformed or ambiguous: the program cannot load); `poisoned` means
// the target lacks what the relocation needs and the instruction became libbpf's poison call, which
// the verifier accepts only if it is unreachable (guarded by bpf_core_field_exists and the like).
import type { BtfCoreRelo, BtfExtSection } from "../../elf/btf.ts";
import { applyOne, type CoreRelocationResult, type CoreRelocator } from "./relocate.ts";
import { coreKindName } from "./spec.ts";

export {
  applyOne, CORE_POISON_HELPER, CoreRelocator, patchInstruction, relocateProgram,
  type CorePiece, type CoreRelocationResult, type CoreResolution, type CoreTargetBtf,
} from "./relocate.ts";
export { CoreError, coreKindName, describeSpec, essentialName, formatSpecLikeLibbpf, parseSpec } from "./spec.ts";
export { explainPoisonedLoad, poisonedInstructions } from "./verifier.ts";

/** A function of the object (structurally elf/types.ts's FunctionSpec). */
export interface CoreFunction {
  name: string;
  section: string;
  sectionOffset: number;
  insns: Uint8Array;
}

/**
 * Every record of every section, resolved against the relocator's target; with `functions`, each
 * record is also patched into a copy of its function's instructions (which checks the instruction
 * the compiler emitted) and named by function and instruction index. Nothing is modified.
 */
export function resolveRecords(relocator: CoreRelocator, records: readonly BtfExtSection<BtfCoreRelo>[], functions: readonly CoreFunction[] = []): CoreRelocationResult[] {
  relocator.prefetch(records);
  const copies = new Map<CoreFunction, DataView>();
  const out: CoreRelocationResult[] = [];
  for (const s of records) {
    s.records.forEach((rec, index) => {
      const fn = functions.find((f) => f.section === s.section && rec.insnOff >= f.sectionOffset && rec.insnOff < f.sectionOffset + f.insns.length);
      const insn = Math.floor((rec.insnOff - (fn?.sectionOffset ?? 0)) / 8);
      const res: CoreRelocationResult = {
        index, section: s.section, function: fn?.name ?? "", insn, kind: rec.kind, kindName: coreKindName(rec.kind),
        access: "", spec: rec.accessStr, localTypeId: rec.typeId, localSpec: "", poisoned: false,
      };
      let view: DataView | undefined;
      if (fn) {
        view = copies.get(fn);
        if (!view) {
          const c = fn.insns.slice();
          copies.set(fn, (view = new DataView(c.buffer)));
        }
      }
      if (rec.insnOff % 8 !== 0) res.error = `instruction offset ${rec.insnOff} is not a multiple of 8`;
      else applyOne(relocator, rec, view, insn, res);
      out.push(res);
    });
  }
  return out;
}

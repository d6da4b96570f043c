// A verifier rejection caused by a poisoned CO-RE instruction ("invalid func unknown#195896080"),
// translated back to the relocation that could not be resolved. Pure.
import type { CoreRelocationResult } from "./relocate.ts";
import { CORE_POISON_HELPER } from "./relocate.ts";

/** Instruction indexes of the poison calls the verifier reached, as its log numbers them. */
export function poisonedInstructions(log: string): number[] {
  const re = new RegExp(`^(\\d+): \\(85\\) call unknown#${CORE_POISON_HELPER}\\b`, "gm");
  return [...log.matchAll(re)].map((m) => Number(m[1]));
}

/**
 * "relocation 3 (struct task_struct.nonexistent) could not be resolved on this kernel: ..." when
 * the log ends on a poisoned instruction of `results`; undefined for any other rejection.
 */
export function explainPoisonedLoad(log: string, results: readonly CoreRelocationResult[]): string | undefined {
  if (!log.includes(`invalid func unknown#${CORE_POISON_HELPER}`)) return undefined;
  const at = poisonedInstructions(log).pop();
  const poisoned = results.filter((r) => r.poisoned);
  // the second half of a poisoned ld_imm64 is a poison call too
  const r = poisoned.find((x) => x.linkedInsn === at) ?? poisoned.find((x) => x.linkedInsn === (at ?? 0) - 1) ?? (poisoned.length === 1 ? poisoned[0] : undefined);
  if (!r) return undefined;
  return `relocation ${r.index} (${r.access}) could not be resolved on this kernel: ${r.why ?? "no match in the target BTF"}; the verifier reached its instruction ${r.linkedInsn ?? r.insn} (${r.kindName} in '${r.function}'), guard it with bpf_core_field_exists() or bpf_core_type_exists()`;
}

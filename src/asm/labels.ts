// Labels of one section: named (`loop:`, symbol headings) and numeric (`1:` with `1f`/`1b`), the
// fixups that wait for them, and their resolution once the section is complete. A call to a name
// that is no label becomes a helper call (by name) or a relocation (an external function).

import { quote } from "../errors.ts";
import { helperNames } from "../uapi.ts";
import type { Line } from "./lexer.ts";
import { CALL_SRC, CODE, relocTypeFor } from "./table.ts";

/** An instruction field that waits for a label's address. */
export interface Fixup {
  /** Byte offset of the instruction in the section. */
  at: number;
  field: "off" | "imm";
  label: string;
  line: Line;
  col: number;
  /** Call to a name that may be a label, a helper or an external function. */
  call?: boolean;
}

/** Helper ids by name, with and without the `bpf_` prefix (`call bpf_trace_printk`, `call trace_printk`). */
const HELPER_IDS = new Map<string, number>();
helperNames().forEach((h, i) => {
  HELPER_IDS.set(h, i);
  HELPER_IDS.set(`bpf_${h}`, i);
});

export class Labels {
  readonly named = new Map<string, number>();
  /** Numeric local labels: number -> ascending offsets. */
  readonly local = new Map<string, number[]>();
  readonly fixups: Fixup[] = [];

  /**
   * Define `name` at byte `pos`. Returns true when it is a new symbol to list (not `.L...`, not
   * numeric). A heading that repeats a label at the same place is no duplicate.
   */
  define(name: string, pos: number, heading: boolean, fail: (msg: string) => never): boolean {
    if (/^\d+$/.test(name)) {
      const list = this.local.get(name) ?? [];
      list.push(pos);
      this.local.set(name, list);
      return false;
    }
    if (this.named.has(name)) {
      if (heading && this.named.get(name) === pos) return false;
      fail(`label ${quote(name)} is already defined`);
    }
    this.named.set(name, pos);
    return !name.startsWith(".L");
  }

  /**
   * Patch every fixup into `bytes`. Calls to unknown names become helper calls or relocations
   * (unless a relocation line already gave one at that offset); `elsewhere` says whether another
   * section defines a label, for a clearer error.
   */
  resolve(
    bytes: number[],
    relocations: { offset: number; symbol: string; type: number }[],
    relocAt: ReadonlySet<number>,
    elsewhere: (label: string) => boolean,
  ): void {
    for (const f of this.fixups) {
      let target: number | undefined;
      const lm = /^(\d+)([fb])$/.exec(f.label);
      if (lm) {
        const list = this.local.get(lm[1]!) ?? [];
        target = lm[2] === "f" ? list.find((o) => o > f.at) : [...list].reverse().find((o) => o <= f.at);
      } else {
        target = this.named.get(f.label);
      }
      if (target === undefined) {
        if (f.call) {
          const helper = HELPER_IDS.get(f.label);
          if (helper !== undefined) {
            bytes[f.at + 1] = CALL_SRC.HELPER << 4;
            setImm(bytes, f.at, helper);
            continue;
          }
          if (!relocAt.has(f.at)) relocations.push({ offset: f.at, symbol: f.label, type: relocTypeFor(CODE.CALL) });
          continue;
        }
        if (elsewhere(f.label)) f.line.fail(f.col, `label ${quote(f.label)} is in another section`);
        f.line.fail(f.col, `undefined label ${quote(f.label)}`);
      }
      if ((target - f.at) % 8 !== 0) f.line.fail(f.col, `label ${quote(f.label)} is not on an instruction boundary`);
      const rel = (target - f.at) / 8 - 1;
      if (f.field === "off") {
        if (rel < -0x8000 || rel > 0x7fff) f.line.fail(f.col, `jump to ${quote(f.label)} (${rel} instructions) does not fit in 16 bits; use gotol`);
        bytes[f.at + 2] = rel & 0xff;
        bytes[f.at + 3] = (rel >> 8) & 0xff;
      } else {
        setImm(bytes, f.at, rel);
      }
    }
  }
}

/** Little-endian s32 into the imm field of the instruction at `at`. */
function setImm(bytes: number[], at: number, v: number): void {
  for (let i = 0; i < 4; i++) bytes[at + 4 + i] = (v >>> (8 * i)) & 0xff;
}

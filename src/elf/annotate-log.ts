// Source lines in a verifier log the kernel printed without them (before 5.0 it takes no line_info):
// each "N: (op) ..." line whose instruction starts a line_info record gets the record's source line
// first, in the kernel's own spelling ("; C text @ file.c:LINE"), so a 4.9 rejection points at C. Pure.
import type { BtfLineInfo } from "./btf.ts";

const INSN_LINE = /^(\d+): \(/;
/** The kernel's annotation, present when it had line_info itself. */
const KERNEL_ANNOTATION = /^; .* @ [^ ]+:\d+$/m;

export function annotateVerifierLog(log: string, lineInfo: readonly BtfLineInfo[]): string {
  if (!lineInfo.length || KERNEL_ANNOTATION.test(log)) return log;
  const at = new Map(lineInfo.map((l) => [l.insnOff, l]));
  let last: BtfLineInfo | undefined;
  const out: string[] = [];
  for (const line of log.split("\n")) {
    const m = INSN_LINE.exec(line);
    const rec = m ? at.get(Number(m[1])) : undefined;
    if (rec && rec !== last) {
      out.push(`; ${rec.line.trim()} @ ${rec.fileName.split("/").pop()}:${rec.lineNum}`);
      last = rec;
    }
    out.push(line);
  }
  return out.join("\n");
}

// Source lines added to a verifier log that has none (kernels before 5.0 take no line_info).
import { expect, test } from "bun:test";
import { annotateVerifierLog } from "../../src/elf/annotate-log.ts";

const rec = (insnOff: number, line: string, lineNum: number) => ({ insnOff, fileName: "./x.c", line, lineNum, col: 1 });
const LOG = "0: (b7) r1 = 0\n1: (63) *(u32 *)(r10 -4) = r1\n2: (bf) r2 = r10\n0: (b7) r1 = 0\nR0 invalid mem access\n";

test("each instruction that starts a record gets '; TEXT @ FILE:LINE' before it, once per change", () => {
  const out = annotateVerifierLog(LOG, [rec(0, "int bad(void *ctx)", 5), rec(1, "\t__u32 k = 0;", 7)]);
  expect(out.split("\n")).toEqual([
    "; int bad(void *ctx) @ x.c:5", "0: (b7) r1 = 0",
    "; __u32 k = 0; @ x.c:7", "1: (63) *(u32 *)(r10 -4) = r1",
    "2: (bf) r2 = r10",
    "; int bad(void *ctx) @ x.c:5", "0: (b7) r1 = 0",
    "R0 invalid mem access", "",
  ]);
});
test("a log the kernel annotated itself is left as it is", () => {
  const annotated = "; int bad(void *ctx) @ x.c:5\n0: (b7) r1 = 0\n";
  expect(annotateVerifierLog(annotated, [rec(0, "int bad(void *ctx)", 5)])).toBe(annotated);
});

// Properties that fail today because of defects in src/ that this suite found (or that other
// branches are fixing). They stay here, runnable, until the fix lands; then they move to the
// passing suite. Run them with BPFLOAD_KNOWN_FAILURES=1.
import { describe, test } from "bun:test";
import { asmMessages, kernelRoundTrip } from "./asm-props.ts";
import { elfMessages } from "./elf-props.ts";
import { assertProperty } from "./lib.ts";
import { attachSpecInjection, attachSpecRoundTrip, traceLineNoThrow, traceLineSeparators } from "./text-props.ts";

const skip = !process.env.BPFLOAD_KNOWN_FAILURES;
const T = 60_000;

describe(`known failures${skip ? " (skipped: set BPFLOAD_KNOWN_FAILURES=1 to run them)" : ""}`, () => {
  // Minimal input: `uprobe:/ :a` (also "/\n", "/\0"): the uprobe path is taken as is, so whitespace
  // and newlines reach the uprobe_events line. Another branch is fixing the tracefs writer.
  test.skipIf(skip)(attachSpecInjection.name, () => assertProperty(attachSpecInjection).then(() => {}), T);

  // Minimal input: `kprobe:a+999999999999999999999` is accepted with offset 1e21, which
  // formatAttachSpec prints as `kprobe:a+1e+21` (refused); offsets are not bounded to 64 bits,
  // and above 2^53 they silently lose precision (`0xaaaaaaaaaaaaaaaaaa`).
  const rt = attachSpecRoundTrip(false);
  test.skipIf(skip)(rt.name, () => assertProperty(rt).then(() => {}), T);

  // Minimal input: `-1799999999999999999643 [0] 3.1::` parses with pid 1.8e21: digit runs of any
  // length become pid/cpu/timestamp, past 2^53 and past anything a kernel prints.
  // (rare in generated lines: 20,000 cases)
  const tl = traceLineNoThrow(false);
  test.skipIf(skip)(tl.name, () => assertProperty(tl, 20_000).then(() => {}), T);

  // Minimal input: `t-1 [000] d... 1.000000: : a\rb` is not parsed (JS `.` stops at \r, U+2028 and
  // U+2029); a line holding two such records parses the second with the first as its task name.
  test.skipIf(skip)(traceLineSeparators.name, () => assertProperty(traceLineSeparators).then(() => {}), T);

  // Minimal input: bytes `40 00 00 00 ff ff ff ff` print in kernel syntax as
  // `0: (40) r0 = *(u32 *)skb[r0 + -1]` (the kernel's own "%d"), which the assembler refuses:
  // "expected offset, found '-'".
  const k = kernelRoundTrip(false);
  test.skipIf(skip)(k.name, () => assertProperty(k).then(() => {}), T);

  // Minimal inputs: a 300-character identifier (the message quotes it whole) and "\u001c" (the
  // message quotes the control character raw). Another branch is making messages cut long tokens
  // and escape control characters.
  test.skipIf(skip)(asmMessages.name, () => assertProperty(asmMessages).then(() => {}), T);

  // The same for the ELF reader: a section name is quoted raw, control characters and all
  // ("section '\r{\u0001...'"); a name holding "\n" splits the one-line error in two.
  test.skipIf(skip)(elfMessages.name, () => assertProperty(elfMessages).then(() => {}), T);
});

// Instruction codec, disassembler and assembler under random input (see asm-props.ts).
import { describe, test } from "bun:test";
import { llvmVersion } from "../asm/llvm.ts";
import { ASM_PROPERTIES, liveObjdump } from "./asm-props.ts";
import { assertProperty, propertyRuns } from "./lib.ts";

const T = 60_000;

describe("instructions", () => {
  for (const p of ASM_PROPERTIES) test(p.name, async () => void (await assertProperty(p as never)), T);

  // One llvm-objdump run per case (each case is 50-300 instructions): a twentieth of the count.
  const version = llvmVersion();
  const why = version === undefined ? "llvm-objdump is not installed" : `llvm-objdump is LLVM ${version}, the disassembler follows LLVM 14`;
  test.skipIf(version !== 14)(`${liveObjdump.name}${version !== 14 ? ` (skipped: ${why})` : ""}`, async () => {
    await assertProperty(liveObjdump, Math.max(1, Math.ceil(propertyRuns() / 20)));
  }, T);
});

// A library user (`import "bpfload"`) reads errors in the library's words: a bad argument is an
// InvalidArgumentError whose `option` is the library's name for it, and no message names a CLI flag
// they never typed ("--set", "--map", "--target", "--btf", "--kern-version"). Pure: every error
// here comes before any system call.
import { describe, expect, test } from "bun:test";
import { BpfloadError, InputError, InvalidArgumentError, load, parseAttachSpec, readObject } from "../../src/index.ts";
import { parseKernVersionOption } from "../../src/kernel/features/version.ts";
import { kernelTestVerdict } from "../../src/test.ts";
import { thrown } from "../thrown.ts";

const FIX = `${import.meta.dir}/../fixtures`;
// Any "--word": the CLI's flags all look so; a library message has no reason to.
const FLAG = /(^|[\s('"])--[a-z][a-z-]*/;

describe("errors of library calls name options, not flags", () => {
  test("a variable set out of range: InvalidArgumentError, option 'variable', \"variable 'answer'\"", async () => {
    const spec = await readObject(`${FIX}/btf_load.o`);
    const e = thrown(() => spec.variables.get("answer")!.set(2 ** 40));
    expect(e).toBeInstanceOf(InvalidArgumentError);
    expect((e as InvalidArgumentError).option).toBe("variable");
    expect(e.exitCode).toBe(2);
    expect(e.message).toBe("variable 'answer': 1099511627776 is out of range for an unsigned 32-bit integer (0..4294967295)");
    expect(e.message).not.toMatch(FLAG);
  });
  test("a map resized to a value that is not a u32: option 'map.maxEntries', no --map", async () => {
    const spec = await readObject(`${FIX}/btf_load.o`);
    const e = thrown(() => {
      spec.maps.get("locks")!.maxEntries = -1;
    });
    expect(e).toBeInstanceOf(InvalidArgumentError);
    expect((e as InvalidArgumentError).option).toBe("map.maxEntries");
    expect(e.message).toBe("map 'locks': maxEntries must be an integer 0..4294967295, not -1");
    expect(e.message).not.toMatch(FLAG);
  });
  test("load's freplaceTarget that is no program reference: option 'freplaceTarget'", async () => {
    const spec = await readObject(`${FIX}/freplace.o`);
    const e = thrown(() => load(spec, { freplaceTarget: "bogus" }));
    expect(e).toBeInstanceOf(InvalidArgumentError);
    expect((e as InvalidArgumentError).option).toBe("freplaceTarget");
    expect(e.message).toStartWith("bad freplaceTarget 'bogus': give the program whose function is replaced");
    expect(e.message).not.toMatch(FLAG);
  });
  test("load's btf that does not exist: an InputError about the target BTF, no --btf", async () => {
    const spec = await readObject(`${FIX}/core.o`);
    const e = thrown(() => load(spec, { btf: "/nonexistent/kernel.btf" }));
    expect(e).toBeInstanceOf(InputError);
    expect(e.message).toBe("/nonexistent/kernel.btf: target BTF: no such file (ENOENT)");
    expect(e.message).not.toMatch(FLAG);
  });
  test("a malformed attach point: option 'attach'; a kern_version out of range: option 'kernVersion'", () => {
    const a = thrown(() => parseAttachSpec("kprobe:"));
    expect(a).toBeInstanceOf(InvalidArgumentError);
    expect((a as InvalidArgumentError).option).toBe("attach");
    const k = thrown(() => parseKernVersionOption("4.9.256"));
    expect((k as InvalidArgumentError).option).toBe("kernVersion");
    for (const e of [a, k]) expect(e.message).not.toMatch(FLAG);
  });
  test("bpfload/test: kernelTest options a test file got wrong are InvalidArgumentErrors (minKernel, feature), not the CLI's UsageError", () => {
    const v = thrown(() => kernelTestVerdict({ minKernel: "five" }));
    expect(v).toBeInstanceOf(InvalidArgumentError);
    expect((v as InvalidArgumentError).option).toBe("minKernel");
    const f = thrown(() => kernelTestVerdict({ feature: "noSuchFeature" as never }));
    expect((f as InvalidArgumentError).option).toBe("feature");
    expect(f.exitCode).toBe(2);
  });
});

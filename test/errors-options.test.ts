// Option mentions in error texts (errors.ts): the library's message names options, the structured
// text keeps them apart for the CLI; InvalidArgumentError is the bad-argument error of the layers
// below cli/. Pure.
import { describe, expect, test } from "bun:test";
import { InputError, InvalidArgumentError, NotSupportedError, opt, optionText, OptionText, renderError, SyscallError, SystemError, VerifierError } from "../src/errors.ts";

const flags = (e: Parameters<typeof renderError>[0]) => renderError(e, (m) => `--${m.option}${m.arg ? ` ${m.arg}` : ""}`);

describe("optionText", () => {
  test("plain values are String()ed, nested texts flattened, adjacent strings joined", () => {
    const inner = optionText`give ${opt("btf", "FILE")}`;
    const t = optionText`no BTF (${3}): ${inner}, or ${opt("x", undefined, "")}.`;
    expect(t.parts.filter((p) => typeof p === "string")).toEqual(["no BTF (3): give ", ", or ", "."]);
    expect(t.options).toEqual(["btf", "x"]);
    expect(String(t)).toBe("no BTF (3): give btf FILE, or .");
  });
});

describe("errors carry the structured text next to the library's message", () => {
  test("InvalidArgumentError: option, exit code 2, kind; text only when it mentions an option", () => {
    const e = new InvalidArgumentError("freplaceTarget", optionText`bad ${opt("freplaceTarget")} 'x'`);
    expect([e.option, e.exitCode, e.kind, e.name]).toEqual(["freplaceTarget", 2, "invalid-argument", "InvalidArgumentError"]);
    expect(e.message).toBe("bad freplaceTarget 'x'");
    expect(flags(e)).toBe("bad --freplaceTarget 'x'");
    expect(new InvalidArgumentError("key", optionText`plain ${1}`).text).toBeUndefined();
  });
  test("the text is not an enumerable field: a JSON view or toEqual of an error is what it was", () => {
    const e = new SystemError(optionText`use ${opt("btf")}`);
    expect(Object.keys(e)).not.toContain("text");
    expect(e.text).toBeInstanceOf(OptionText);
  });
  test("SyscallError: a hint with a mention stays a string field, and the message renders it either way", () => {
    const e = new SyscallError("load program 'p'", "BPF_PROG_LOAD", 22, optionText`pass ${opt("kernVersion")}`);
    expect(e.hint).toBe("pass kernVersion");
    expect(e.message).toBe("load program 'p': BPF_PROG_LOAD: EINVAL (invalid argument): pass kernVersion");
    expect(flags(e)).toBe("load program 'p': BPF_PROG_LOAD: EINVAL (invalid argument): pass --kernVersion");
    expect(new SyscallError("w", "c", 1).hint).toBeUndefined();
  });
  test("VerifierError, NotSupportedError and InputError keep the mentions of what they wrap", () => {
    const v = new VerifierError("load program 'p'", 13, "R1 invalid mem access\n", optionText`try ${opt("logLevel", "2")}`);
    expect(flags(v)).toContain("try --logLevel 2: R1 invalid mem access (0 lines omitted)");
    const n = new NotSupportedError(optionText`the kprobe PMU (${opt("probeApi", "pmu")})`, "4.17", optionText`leave out ${opt("maxactive")}`);
    expect(n.feature).toBe("the kprobe PMU (probeApi pmu)");
    expect(flags(n)).toBe("the kprobe PMU (--probeApi pmu) is not supported by this kernel (requires Linux >= 4.17): leave out --maxactive");
    const i = new InputError("/x.btf", optionText`${opt("btf", undefined, "target BTF")}: no such file (ENOENT)`);
    expect(i.message).toBe("/x.btf: target BTF: no such file (ENOENT)");
    expect(flags(i)).toBe("/x.btf: --btf: no such file (ENOENT)");
  });
});

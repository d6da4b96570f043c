// The CLI's half of "kernel/ never names CLI flags": an error a library call throws names the
// library's option ("freplaceTarget", "variable 'x'", "the btf option"); the CLI's error printer
// (cli/flags.ts, used by cli/index.ts and the --no-attach failure lines of cli/load.ts) prints it
// with the flag in that place, as the CLI always said it, and --json calls a bad argument "usage".
import { describe, expect, test } from "bun:test";
import { cliKind, cliMessage, flagMention, FLAG_FOR_OPTION } from "../../src/cli/flags.ts";
import { BpfloadError, InvalidArgumentError, opt, optionText, SystemError } from "../../src/errors.ts";
import { load, readObject } from "../../src/index.ts";
import { parseKernVersionOption } from "../../src/kernel/features/version.ts";
import { runCli } from "../support.ts";
import { thrown } from "../thrown.ts";

const FIX = `${import.meta.dir}/../fixtures`;

describe("an option error from a library call, as the CLI prints it", () => {
  test("a variable out of range: 'variable 'answer'' for the library, '--set answer' for the CLI", async () => {
    const spec = await readObject(`${FIX}/btf_load.o`);
    const e = thrown(() => spec.variables.get("answer")!.set(2 ** 40));
    expect(e.message).toStartWith("variable 'answer': ");
    expect(cliMessage(e)).toBe("--set answer: 1099511627776 is out of range for an unsigned 32-bit integer (0..4294967295)");
    expect(cliKind(e)).toBe("usage");
  });
  test("load's freplaceTarget: 'bad freplaceTarget' / 'bad --target'", async () => {
    const spec = await readObject(`${FIX}/freplace.o`);
    const e = thrown(() => load(spec, { freplaceTarget: "bogus" }));
    expect(e.message).toStartWith("bad freplaceTarget 'bogus': ");
    expect(cliMessage(e)).toStartWith("bad --target 'bogus': give the program whose function is replaced and the function, PROG_ID:FUNC or PIN_PATH:FUNC");
  });
  test("load's btf: 'target BTF' / '--btf' (an InputError: the CLI maps every error's mentions, not only InvalidArgumentError's)", async () => {
    const spec = await readObject(`${FIX}/core.o`);
    const e = thrown(() => load(spec, { btf: "/nonexistent/kernel.btf" }));
    expect(cliMessage(e)).toBe("/nonexistent/kernel.btf: --btf: no such file (ENOENT)");
    expect(cliKind(e)).toBe("input");
  });
  test("kern_version out of range: the mention inside a nested text", () => {
    const e = thrown(() => parseKernVersionOption("0x1ffffffff"));
    expect(e.message).toBe("kernVersion (a LINUX_VERSION_CODE, u32) is out of range: '0x1ffffffff' does not fit in 0..0xffffffff");
    expect(cliMessage(e)).toBe("--kern-version (a LINUX_VERSION_CODE, u32) is out of range: '0x1ffffffff' does not fit in 0..0xffffffff");
  });
});

describe("the mapping", () => {
  test("a mention's argument follows the flag; 'lead' shows in the CLI only; an option without a flag keeps the library's words", () => {
    const t = optionText`use ${opt("btf", "FILE", "the btf option")}${opt("pcap", undefined, "", ", or ")}; or ${opt("nosuch", "X")}`;
    expect(String(t)).toBe("use the btf option; or nosuch X");
    expect(t.render(flagMention)).toBe("use --btf FILE, or --pcap; or nosuch X");
  });
  test("a plain message goes through as it is; errors with no mention carry no text", () => {
    const e = new SystemError("trace_pipe is busy");
    expect(e.text).toBeUndefined();
    expect(cliMessage(e)).toBe("trace_pipe is busy");
    const a = new InvalidArgumentError("key", "map 'm': a key of 3 bytes for key_size 4");
    expect(cliMessage(a)).toBe(a.message);
    expect(cliKind(a)).toBe("usage");
  });
  test("every flag the table maps to is one the CLI defines", async () => {
    const index = await Bun.file(`${import.meta.dir}/../../src/cli/index.ts`).text();
    for (const flag of new Set(Object.values(FLAG_FOR_OPTION))) expect(index).toContain(`.option("${flag} `);
  });
});

describe("bpfload prints them with the flag (the executable's own error printer)", () => {
  test("--set out of range: one line naming --set, exit 2; --json kind usage", async () => {
    const r = await runCli(["load", `${FIX}/btf_load.o`, "--no-attach", "--set", "answer=99999999999"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe("bpfload: --set answer: 99999999999 is out of range for an unsigned 32-bit integer (0..4294967295)\n");
    const j = await runCli(["load", `${FIX}/btf_load.o`, "--no-attach", "--set", "answer=99999999999", "--json"]);
    expect(JSON.parse(j.stdout)).toEqual({ error: { kind: "usage", message: "--set answer: 99999999999 is out of range for an unsigned 32-bit integer (0..4294967295)", exitCode: 2 } });
  });
  test("--no-attach's line per program that did not load: the freplace program's missing --target", async () => {
    const r = await runCli(["load", `${FIX}/freplace.o`, "--no-attach", "--json"]);
    expect(r.code).toBe(2);
    const first = JSON.parse(r.stdout.split("\n")[0]!);
    expect(first.error.kind).toBe("usage");
    expect(first.error.message).toEndWith("replaces a function of another loaded program (freplace): name that program with --target PROG_ID:FUNC or --target PIN_PATH:FUNC");
  });
  test("--btf that does not exist", async () => {
    const r = await runCli(["load", `${FIX}/core.o`, "--no-attach", "--btf", "/nonexistent/kernel.btf"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe("bpfload: /nonexistent/kernel.btf: --btf: no such file (ENOENT)\n");
  });
});

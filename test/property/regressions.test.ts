// The minimal inputs the properties shrank their failures to, kept as plain cases: they fail at
// once if a defect comes back, whatever the seed and count of the property run.
import { describe, expect, test } from "bun:test";
import { assemble } from "../../src/asm/asm.ts";
import { disassemble } from "../../src/asm/disasm.ts";
import { parseAttachSpec } from "../../src/attach-spec.ts";
import { ObjectError, InvalidArgumentError } from "../../src/errors.ts";
import { loadFailureMessage } from "../../src/load-failure.ts";
import { parseTraceLine } from "../../src/trace-line.ts";

function usage(spec: string): InvalidArgumentError | undefined {
  try {
    parseAttachSpec(spec);
  } catch (e) {
    if (e instanceof InvalidArgumentError) return e;
    throw e;
  }
  return undefined;
}

describe("attach specs", () => {
  test("uprobe paths with NUL, newline or another control character are a usage error", () => {
    for (const path of ["/\0", "/\n", "/a\rb", "/\u001b[2J", "/\u007f", "/\u0085", "/\u2028", "/\u2029"]) {
      const e = usage(`uprobe:${path}:a`);
      expect(e, JSON.stringify(path)).toBeInstanceOf(InvalidArgumentError);
      expect(e!.exitCode).toBe(2);
      expect(e!.message).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/);
    }
  });
  test("spaces and other non-control characters in a uprobe path are kept (the perf PMU takes them)", () => {
    expect(parseAttachSpec("uprobe:/tmp/a b:main")).toEqual({ kind: "uprobe", path: "/tmp/a b", symbol: "main", offset: 0 });
    expect(parseAttachSpec("uretprobe:/opt/é\u00a0x:f")).toMatchObject({ path: "/opt/é\u00a0x" });
  });
  test("offsets past their range are refused, not rounded", () => {
    expect(usage("kprobe:a+999999999999999999999")).toBeInstanceOf(InvalidArgumentError);
    expect(usage("uprobe:/bin/true:0xaaaaaaaaaaaaaaaaaa")).toBeInstanceOf(InvalidArgumentError);
  });
});

describe("trace lines", () => {
  test("digit runs beyond what a kernel prints are not a trace line", () => {
    expect(parseTraceLine("-5 [999999999999999999941] 2.1::")).toBeUndefined();
    expect(parseTraceLine("-1799999999999999999643 [0] 3.1::")).toBeUndefined();
    expect(parseTraceLine("t-4194305 [000] 1.0: : x")).toBeUndefined(); // above PID_MAX_LIMIT
    expect(parseTraceLine("t-1 [8192] 1.0: : x")).toBeUndefined(); // NR_CPUS is at most 8192
    expect(parseTraceLine("t-1 [000] 123456789012.5: : x")).toBeUndefined(); // 12 digits of seconds
  });
  test("the largest pid and cpu a kernel has still parse", () => {
    expect(parseTraceLine("t-4194304 [8191] 18446744073.709551: : x")).toMatchObject({ pid: 4194304, cpu: 8191, timestamp: 18446744073.709551 });
  });
  test("\\r, U+2028 and U+2029 stay in the message", () => {
    for (const sep of ["\r", "\u2028", "\u2029"]) {
      expect(parseTraceLine(`           .tjY8-3119147 [128] 2353189.029494: : ${sep}`)?.message).toBe(sep);
      // two records on one line: the first is the line, the second part of its message
      const second = "bash-1 [000] d... 1.000000: : b";
      expect(parseTraceLine(`t-1 [000] d... 1.000000: : a${sep}${second}`)).toMatchObject({ task: "t", pid: 1, message: `a${sep}${second}` });
    }
  });
});

describe("kernel syntax", () => {
  test("skb[r0 + -1], as the verifier prints a negative ld_ind offset, assembles back", () => {
    const bytes = Uint8Array.from([0x40, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff]);
    const text = disassemble(bytes, { syntax: "kernel" });
    expect(text).toContain("skb[r0 + -1]");
    expect(Array.from(assemble(text))).toEqual(Array.from(bytes));
  });
});

describe("messages", () => {
  test("ObjectError quotes a section name from the file escaped and cut", () => {
    const e = new ObjectError("prop.o", "relocation entry size 0, expected 16", { section: "\u000f\nx".padEnd(500, "y"), offset: 0x1160 });
    expect(e.message).not.toMatch(/[\u0000-\u001f]/);
    expect(e.message.length).toBeLessThan(300);
    expect(e.message).toContain("section '\\x0f\\nx");
  });
});

describe("load failures", () => {
  test("an errno among EMFILE, ENFILE, ENOMEM is named with what to do", () => {
    expect(loadFailureMessage(new Error("EMFILE reading \"/x/src/elf/raw.ts\""))).toMatch(/EMFILE.*ulimit -n/);
    expect(loadFailureMessage(Object.assign(new Error("open failed"), { code: "ENFILE" }))).toMatch(/ENFILE/);
    expect(loadFailureMessage(new Error("ENOMEM: out of memory"))).toMatch(/ENOMEM/);
  });
  test("bun:ffi without its JIT names the address-space limit", () => {
    const m = loadFailureMessage(new TypeError("bun:ffi requires the JIT"));
    expect(m).toMatch(/ulimit -v/);
    expect(m).not.toMatch(/internal error/);
  });
  test("'cannot find package' is the open-files limit's only when the probe says so", () => {
    const e = new Error("Cannot find package 'cac' imported from /x/src/cli/index.ts");
    expect(loadFailureMessage(e, () => "EMFILE")).toMatch(/EMFILE/);
    expect(loadFailureMessage(e, () => undefined)).toBeUndefined();
    expect(loadFailureMessage(new Error("something else"), () => "EMFILE")).toBeUndefined();
  });
});

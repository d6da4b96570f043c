// The shared error pieces: the errno → exit-code rule, quote(), and the verifier error's message.
import { describe, expect, test } from "bun:test";
import { BpfloadError, errnoFromName, escapeControls, exitCodeForErrno, logSummary, quote, VerifierError } from "../src/errors.ts";
import { FileError } from "../src/sys/files.ts";

const code = (name: string) => exitCodeForErrno(errnoFromName(name)!);

describe("one errno → exit-code rule", () => {
  test("a wrong path or input is bad input: exit 2", () => {
    for (const n of ["ENOENT", "ENOTDIR", "EISDIR", "ENAMETOOLONG", "ELOOP", "EFBIG"]) expect([n, code(n)]).toEqual([n, 2]);
  });
  test("resources and refusals are the system: exit 1", () => {
    for (const n of ["EMFILE", "ENFILE", "ENOMEM", "ENOSPC", "EACCES", "EPERM", "EROFS", "EIO", "EBUSY", "EDQUOT"]) expect([n, code(n)]).toEqual([n, 1]);
  });
  test("an errno bpfload has no name for is the system's (exit 1)", () => {
    expect(exitCodeForErrno(133)).toBe(1);
  });
  test("FileError is a BpfloadError with the errno's name and the rule's exit code", () => {
    const emfile = new FileError("/x", errnoFromName("EMFILE")!, "open");
    expect(emfile).toBeInstanceOf(BpfloadError);
    expect(emfile.errnoName).toBe("EMFILE");
    expect(emfile.exitCode).toBe(1);
    expect(emfile.message).toBe("/x: open: EMFILE (too many open files)");
    expect(new FileError("/x", errnoFromName("ENOENT")!).exitCode).toBe(2);
  });
});

describe("quote()", () => {
  test("short text is quoted as is", () => {
    expect(quote("main+0x10")).toBe("'main+0x10'");
  });
  test("long text is cut to 40 characters and …", () => {
    const q = quote("x".repeat(10_000_000));
    expect(q).toBe(`'${"x".repeat(40)}…'`);
    expect(quote("y".repeat(40))).toBe(`'${"y".repeat(40)}'`);
  });
  test("control characters, NULs and quotes are escaped", () => {
    expect(quote("a\0b\nc\td\x1b[2J\x7f'")).toBe("'a\\x00b\\nc\\td\\x1b[2J\\x7f\\''");
    expect(quote("\u202eevil")).toBe("'\\u202eevil'");
  });
  test("a cut never splits a character in two", () => {
    expect(quote("😀".repeat(50))).toBe(`'${"😀".repeat(40)}…'`);
  });
});

describe("VerifierError", () => {
  const log = [
    "func#0 @0",
    "0: R1=ctx() R10=fp0",
    "0: (b7) r1 = 10                       ; R1_w=10",
    "1: (95) exit",
    "R0 !read_ok",
    "processed 2 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0",
    "",
  ].join("\n");

  test("the message ends with the log's last meaningful line and how many lines were left out", () => {
    const e = new VerifierError("load program 'x'", 13, log);
    expect(e.message).toBe("load program 'x': BPF_PROG_LOAD: EACCES (permission denied): the verifier rejected the program: R0 !read_ok (5 lines omitted)");
    expect(e.message).not.toContain("log below");
    expect(e.log).toBe(log); // the whole log is still there for the CLI to print
  });
  test("a hint comes before the summary", () => {
    const e = new VerifierError("load program 'x'", 22, "last insn is not an exit or jmp\n", "the program must end with exit");
    expect(e.message).toBe("load program 'x': BPF_PROG_LOAD: EINVAL (invalid argument): the program must end with exit: last insn is not an exit or jmp (0 lines omitted)");
  });
  test("summary of a log of statistics only, and of an empty log", () => {
    expect(logSummary("processed 2 insns\n")).toBe("processed 2 insns (0 lines omitted)");
    expect(logSummary("a\nb\n\n")).toBe("b (1 line omitted)");
    expect(logSummary("")).toBe("(empty log)");
  });
});

describe("escapeControls()", () => {
  test("escapes controls, C1, separators and bidi characters but cuts nothing", () => {
    const long = "a".repeat(5000);
    expect(escapeControls(long)).toBe(long);
    expect(escapeControls("x\ny\tz\x00\x1b[1m\u0085\u2028\u202e'q'\\")).toBe("x\\ny\\tz\\x00\\x1b[1m\\u0085\\u2028\\u202e'q'\\");
  });
});

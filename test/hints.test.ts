import { describe, expect, test } from "bun:test";
import { SyscallError, VerifierError, errnoFromName, errnoName, errnoText } from "../src/errors.ts";
import { hintFor as hintText } from "../src/hints.ts";
import { flagMention } from "../src/cli/flags.ts";

// A hint as the library says it (String) and as the CLI prints it (its flags in place).
const hintFor = (...a: Parameters<typeof hintText>) => {
  const h = hintText(...a);
  return h === undefined ? undefined : String(h);
};
const cliHint = (...a: Parameters<typeof hintText>) => {
  const h = hintText(...a);
  return typeof h === "string" || h === undefined ? h : h.render(flagMention);
};
import { kernelVersionCode } from "../src/uapi.ts";

const k = (a: number, b: number, c = 0) => kernelVersionCode(a, b, c);

describe("hint table", () => {
  test("not root: EPERM says to run as root, whatever the call", () => {
    expect(hintFor("BPF_PROG_LOAD", "EPERM", { euid: 1000 })).toContain("run as root");
    expect(hintFor("perf_event_open", "EACCES", { euid: 1000 })).toContain("run as root");
  });
  test("root before 5.11: EPERM is the memlock limit", () => {
    expect(hintFor("BPF_MAP_CREATE", "EPERM", { euid: 0, kernel: k(4, 9, 228) })).toContain("RLIMIT_MEMLOCK");
    expect(hintFor("BPF_PROG_LOAD", "EPERM", { euid: 0, kernel: k(6, 1) })).not.toContain("RLIMIT_MEMLOCK");
  });
  test("kprobe EINVAL with an empty log before 5.0 names the kern_version sent and its source", () => {
    const h = hintFor("BPF_PROG_LOAD", "EINVAL", { euid: 0, kernel: k(4, 9, 228), progType: "kprobe", logEmpty: true, kernVersion: { code: k(4, 9, 0), source: "uname -r" } });
    expect(h).toContain("kern_version 0x40900 (4.9.0, from uname -r)");
    expect(h).toContain("pass kernVersion with the value of LINUX_VERSION_CODE"); // the library's option
    expect(h).not.toContain("--kern-version");
    expect(cliHint("BPF_PROG_LOAD", "EINVAL", { euid: 0, kernel: k(4, 9, 228), progType: "kprobe", logEmpty: true })).toContain("pass --kern-version with the value"); // the CLI's flag
  });
  test("the kern_version hint is not given on 5.0+ or for other program types", () => {
    expect(hintFor("BPF_PROG_LOAD", "EINVAL", { euid: 0, kernel: k(5, 0), progType: "kprobe", logEmpty: true })).not.toContain("kern_version");
    expect(hintFor("BPF_PROG_LOAD", "EINVAL", { euid: 0, kernel: k(4, 9), progType: "tracepoint", logEmpty: true })).not.toContain("kern_version");
  });
  test("E2BIG, syscall tracepoints before 4.14, unknown function", () => {
    expect(hintFor("BPF_PROG_LOAD", "E2BIG", { euid: 0 })).toContain("too large");
    expect(hintFor("PERF_EVENT_IOC_SET_BPF", "EINVAL", { euid: 0, kernel: k(4, 9), syscallTracepoint: true })).toContain("4.14");
    expect(hintFor("PERF_EVENT_IOC_SET_BPF", "EINVAL", { euid: 0, kernel: k(4, 14), syscallTracepoint: true })).not.toContain("4.14");
    expect(hintFor("kprobe_events", "ENOENT", { euid: 0 })).toContain("kallsyms");
  });
  test("map creation: max_entries 0 is named (and what 0 means for a perf_event_array)", () => {
    const h = hintFor("BPF_MAP_CREATE", "EINVAL", { euid: 0, maxEntries: 0 });
    expect(h).toContain("max_entries is 0");
    expect(h).toContain("perf_event_array");
    expect(hintFor("BPF_MAP_CREATE", "EINVAL", { euid: 0, maxEntries: 16 })).not.toContain("max_entries is 0");
    expect(h).toContain("give the size with the map's maxEntries");
    expect(h).not.toContain("--map");
    expect(cliHint("BPF_MAP_CREATE", "EINVAL", { euid: 0, maxEntries: 0 })).toContain("give the size with --map NAME:max_entries=N[,value_size=M]");
  });
  test("EMFILE on map or program creation: every map and program is an fd, raise ulimit -n", () => {
    for (const call of ["BPF_MAP_CREATE", "BPF_PROG_LOAD"]) {
      const h = hintFor(call, "EMFILE", { euid: 0 })!;
      expect(h).toContain("ulimit -n");
      expect(h).toContain("file descriptor");
    }
  });
  test("E2BIG from BPF_PROG_LOAD is the verifier's limit, not a program name", () => {
    const h = hintFor("BPF_PROG_LOAD", "E2BIG", { euid: 0 })!;
    expect(h).toContain("1,000,000");
    expect(h).not.toContain("program name");
  });
});

describe("errors read as one line with the errno name", () => {
  test("SyscallError", () => {
    const e = new SyscallError("load program 'x'", "BPF_PROG_LOAD", 22, "why");
    expect(e.message).toBe("load program 'x': BPF_PROG_LOAD: EINVAL (invalid argument): why");
    expect(e.exitCode).toBe(1);
    expect(e.message).not.toContain("\n");
  });
  test("VerifierError keeps the log out of the message", () => {
    const e = new VerifierError("load program 'x'", 13, "0: (95) exit\nR0 !read_ok\n");
    expect(e.message).toContain("EACCES");
    expect(e.message).not.toContain("\n");
    expect(e.log).toContain("R0 !read_ok");
  });
  test("errno names", () => {
    expect(errnoName(7)).toBe("E2BIG");
    expect(errnoText(28)).toBe("ENOSPC (no space left on device)");
    expect(errnoFromName("ENOENT")).toBe(2);
    expect(errnoName(9999)).toBe("errno 9999");
  });
});

describe("a missing expected attach type is not called an unknown program type", () => {
  test("cgroup_sock_addr refused before verification without an attach type: the section name is named", () => {
    const h = hintFor("BPF_PROG_LOAD", "EINVAL", { euid: 0, logEmpty: true, progType: "cgroup_sock_addr", attachTypeMissing: true })!;
    expect(h).toContain("needs an expected attach type");
    expect(h).not.toContain("unknown program type");
  });
});

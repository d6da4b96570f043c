// Tiny resource limits, set with prlimit(1) around the CLI: a small RLIMIT_NOFILE (EMFILE in
// BPF_MAP_CREATE / BPF_PROG_LOAD), RLIMIT_MEMLOCK 0 without CAP_SYS_RESOURCE (the limit cannot be
// raised: the unprivileged-like case), and RLIMIT_AS / RLIMIT_DATA small enough that allocations fail.
// After each run: exit 0 or 1, error lines of bpfload's own ("bpfload: ..."), no stack trace and no
// Bun crash report, no probe event of that pid, none of the programs it loaded still loaded.
// Limits so small that Bun itself cannot start (RLIMIT_NOFILE < 8, RLIMIT_AS < 512 MB, RLIMIT_DATA
// < 512 MB: Bun aborts before any of bpfload's code runs) are not bpfload's to handle and not tried.
import { afterAll, describe, expect, test } from "bun:test";
import { REPO } from "../support.ts";
import { limitRun } from "./scenarios.ts";
import { faultSkipReason, LIBC, makeWorkDir } from "./support.ts";


const T = 120_000;
const MB = 1024 * 1024;

const nofile = (n: number) => ["prlimit", `--nofile=${n}:${n}`];
const obj = (name: string) => () => ["load", `${REPO}/test/fixtures/${name}.o`, "--no-attach"];
const uprobe = (seed: string) => ["load", seed, "--attach", `uprobe:${LIBC}:getpid`, "--probe-api", "tracefs", "--duration", "0"];
const tracepoint = (seed: string) => ["load", seed, "--attach", "tracepoint:syscalls:sys_enter_getpid", "--duration", "0"];

describe.skipIf(faultSkipReason !== undefined)(`tiny resource limits${faultSkipReason ? ` (skipped: ${faultSkipReason})` : ""}`, () => {
  const work = faultSkipReason === undefined ? makeWorkDir() : undefined;
  afterAll(() => work?.cleanup());

  describe("RLIMIT_NOFILE", () => {
    for (const n of [10, 11, 12, 13, 14, 16]) {
      for (const [what, args] of [["tracefs uprobe", uprobe], ["legacy maps", obj("legacy_maps")], ["BTF maps", obj("btf_maps")], ["global data", obj("globals")], ["12 programs", obj("multi")]] as const) {
        test(`${what} with ${n} descriptors: done, or EMFILE named with exit 1`, async () => {
          const r = await limitRun({ name: what, prefix: nofile(n), args }, work!.seed);
          if (r.code === 1) expect(r.errors.some((l) => /EMFILE/.test(l)), r.context).toBe(true);
          // one error line (plus the "N of M programs ... did not load" summary of an object),
          // except for the per-program lines of a 12-program object
          const own = r.errors.filter((l) => !/^bpfload: \d+ of \d+ programs of .* did not load/.test(l));
          if (what !== "12 programs") expect(own.length, r.context).toBeLessThanOrEqual(1);
        }, T);
      }
    }
  });

  // At 8 to 10 descriptors a lazily imported command module (or a file it reads) cannot be opened.
  // Bun's own resolver line about it is left out by limitRun (BUN_RESOLVER_LINE, scenarios.ts).
  describe("RLIMIT_NOFILE at the edge of start-up", () => {
    for (const n of [8, 9, 10]) {
      test(`an object with ${n} descriptors: one line naming EMFILE, not an internal error`, async () => {
        const r = await limitRun({ name: "legacy maps", prefix: nofile(n), args: obj("legacy_maps") }, work!.seed);
        const own = r.errors.filter((l) => !/^bpfload: \d+ of \d+ programs of .* did not load/.test(l));
        if (r.code === 1) {
          expect(own.length, r.context).toBe(1);
          expect(own[0], r.context).toMatch(/EMFILE/);
          expect(own[0], r.context).not.toMatch(/internal error/);
        }
      }, T);
      test(`tracefs uprobe with ${n} descriptors: done, or one line naming EMFILE and exit 1`, async () => {
        const r = await limitRun({ name: "uprobe", prefix: nofile(n), args: uprobe }, work!.seed);
        expect(r.errors.length, r.context).toBeLessThanOrEqual(1);
        if (r.code === 1) expect(r.errors[0], r.context).toMatch(/EMFILE/);
      }, T);
    }
  });

  describe("RLIMIT_MEMLOCK 0 without CAP_SYS_RESOURCE", () => {
    const noRaise = ["setpriv", "--inh-caps=-sys_resource", "--bounding-set=-sys_resource"];
    for (const limit of ["0:0", "4096:4096"]) {
      for (const [what, args] of [["tracepoint", tracepoint], ["tracefs uprobe", uprobe], ["legacy maps", obj("legacy_maps")]] as const) {
        test(`${what} with memlock ${limit}: loads (memcg accounting) or one line naming the errno`, async () => {
          const r = await limitRun({ name: what, prefix: [...noRaise, "prlimit", `--memlock=${limit}`], args }, work!.seed);
          expect(r.errors.length, r.context).toBeLessThanOrEqual(1);
          if (r.code === 1) expect(r.errors[0], r.context).toMatch(/\b(EPERM|ENOMEM|EAGAIN)\b/);
        }, T);
      }
    }
  });

  describe("RLIMIT_AS and RLIMIT_DATA", () => {
    const cases: [string, string[]][] = [
      ...[512, 1024, 2048, 3072].map((m): [string, string[]] => [`address space ${m} MB`, ["prlimit", `--as=${m * MB}`]]),
      ["data 512 MB", ["prlimit", `--data=${512 * MB}`]],
    ];
    for (const [limit, prefix] of cases) {
      test(`${limit}: 12 programs load, or one line and exit 1`, async () => {
        const r = await limitRun({ name: limit, prefix, args: obj("multi") }, work!.seed);
        if (r.code === 1) {
          expect(r.errors.length, r.context).toBe(1);
          // bun:ffi without its JIT (the limit is too small for Bun): named, with what to do
          expect(r.errors[0], r.context).not.toMatch(/internal error/);
          expect(r.errors[0], r.context).toMatch(/ENOMEM|ulimit -v/);
        }
      }, T);
    }
  });
});

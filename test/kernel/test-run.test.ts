// BPF_PROG_TEST_RUN through bpfload against `bpftool prog run` of the same object (the oracle):
// the same retval and data_out for each packet; the verdict counter read with bpftool map dump;
// refusals on kernels without the command or the field (pure: from the version code).
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { readObject } from "../../src/elf/index.ts";
import { NotSupportedError, InvalidArgumentError } from "../../src/errors.ts";
import { loadCollection } from "../../src/kernel/collection.ts";
import { checkTestRun, testRun } from "../../src/kernel/test-run.ts";
import { kernelVersionCode } from "../../src/uapi.ts";
import { kernelSkipReason, REPO } from "../support.ts";
import { PACKETS } from "./packets.ts";

const FIX = `${REPO}/test/fixtures`;
const bpftool = Bun.which("bpftool");
const skip = kernelSkipReason ?? (!bpftool ? "no bpftool (apt-get install bpftool)" : undefined);
const dir = skip ? "" : mkdtempSync(`${tmpdir()}/bpfload-testrun-`);
const PIN = `/sys/fs/bpf/bpfload-testrun-${process.pid}`;
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  rmSync(PIN, { recursive: true, force: true });
});

/** `bpftool prog run` of the same object's program: retval and data_out. */
function oracle(prog: string, data: Uint8Array): { retval: number; dataOut: Uint8Array } {
  writeFileSync(`${dir}/in`, data);
  const r = Bun.spawnSync([bpftool!, "-j", "prog", "run", "pinned", `${PIN}/${prog}`, "data_in", `${dir}/in`, "data_out", `${dir}/out`]);
  expect(r.exitCode).toBe(0);
  return { retval: JSON.parse(r.stdout.toString()).retval, dataOut: new Uint8Array(readFileSync(`${dir}/out`)) };
}

describe.skipIf(!!skip)("test runs match bpftool prog run", async () => {
  if (skip) return;
  const load = Bun.spawnSync([bpftool!, "prog", "loadall", `${FIX}/packets.o`, PIN]);
  if (load.exitCode !== 0) throw new Error(`bpftool prog loadall: ${load.stderr}`);
  const obj = await readObject(readFileSync(`${FIX}/packets.o`), "packets.o");

  for (const prog of ["udp_only", "xdp_verdict"]) {
    test(`${prog}: retval and data_out for udp9, udp53, icmp, tcp, arp`, () => {
      const col = loadCollection(obj, { select: (p) => p.name === prog });
      try {
        const seen = new Set<number>();
        for (const [name, data] of Object.entries(PACKETS)) {
          const mine = testRun(col.programs[0]!.program, { data });
          const theirs = oracle(prog, data);
          expect([name, mine.retval, [...mine.dataOut]]).toEqual([name, theirs.retval, [...theirs.dataOut]]);
          seen.add(mine.retval);
        }
        expect(seen.size).toBeGreaterThan(1); // the packets do take different paths
      } finally {
        col.close();
      }
    });
  }

  test("--repeat runs the program N times: the verdict counter (bpftool map dump) says so", () => {
    const col = loadCollection(obj, { select: (p) => p.name === "xdp_verdict" });
    try {
      const r = testRun(col.programs[0]!.program, { data: PACKETS.udp9, repeat: 1000 });
      expect(r.retval).toBe(1); // XDP_DROP
      expect(r.repeat).toBe(1000);
      const id = readFileSync(`/proc/self/fdinfo/${col.maps.get("verdicts")!.fd}`, "utf8").match(/map_id:\s*(\d+)/)![1]!;
      const dump = JSON.parse(Bun.spawnSync([bpftool!, "-j", "map", "dump", "id", id]).stdout.toString()) as { key: string[]; value: string[] }[];
      const drops = dump.find((e) => parseInt(e.key[0]!, 16) === 1)!.value.reduce((s, b, i) => s + parseInt(b, 16) * 256 ** i, 0);
      expect(drops).toBe(1000);
    } finally {
      col.close();
    }
  });
});

describe("kernel-aware refusals (from the version)", () => {
  const data = PACKETS.udp9;
  test("4.9: BPF_PROG_TEST_RUN needs 4.12", () => {
    expect(() => checkTestRun("xdp", { data }, kernelVersionCode(4, 9, 0))).toThrow(NotSupportedError);
    expect(() => checkTestRun("xdp", { data }, kernelVersionCode(4, 9, 0))).toThrow("BPF_PROG_TEST_RUN for xdp is not supported by this kernel (requires Linux >= 4.12)");
    expect(() => checkTestRun("xdp", { data }, kernelVersionCode(4, 12, 0))).not.toThrow();
  });
  test("4.9: a type whose runner came later names its own version, not the command's 4.12", () => {
    expect(() => checkTestRun("tracing", {}, kernelVersionCode(4, 9, 0))).toThrow("BPF_PROG_TEST_RUN for tracing is not supported by this kernel (requires Linux >= 5.5)");
    expect(() => checkTestRun("syscall", { ctx: new Uint8Array(8) }, kernelVersionCode(4, 9, 0))).toThrow("requires Linux >= 5.14");
  });
  test("raw_tracepoint: test runs from 5.10, ctx_in too", () => {
    expect(() => checkTestRun("raw_tracepoint", { ctx: new Uint8Array(8) }, kernelVersionCode(5, 4, 0))).toThrow("requires Linux >= 5.10");
    expect(() => checkTestRun("raw_tracepoint", { ctx: new Uint8Array(8) }, kernelVersionCode(5, 10, 0))).not.toThrow();
  });
  test("flow_dissector from 4.20, tracing from 5.5", () => {
    expect(() => checkTestRun("flow_dissector", { data }, kernelVersionCode(4, 19, 0))).toThrow("requires Linux >= 4.20");
    expect(() => checkTestRun("tracing", {}, kernelVersionCode(5, 4, 0))).toThrow("requires Linux >= 5.5");
  });
  test("types without a test runner, and packets shorter than an Ethernet header, are usage errors", () => {
    expect(() => checkTestRun("kprobe", {}, kernelVersionCode(6, 1, 0))).toThrow(InvalidArgumentError);
    expect(() => checkTestRun("socket_filter", { data: new Uint8Array(10) }, kernelVersionCode(6, 1, 0))).toThrow(/at least an Ethernet header/);
  });
});

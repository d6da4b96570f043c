// BPF_PROG_TEST_RUN of lightweight tunnel programs (lwt_in, lwt_out, lwt_xmit: 4.10+, test runs
// 4.12+): `bpfload run` gives the verdict and data_out that `bpftool prog run` gives for the same
// packets, with bpftool's own load of the object (libbpf) as the oracle's program; before 4.12
// `run` is refused naming the version.
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { NotSupportedError } from "../../src/errors.ts";
import { checkTestRun } from "../../src/kernel/test-run.ts";
import { kernelVersionCode } from "../../src/uapi.ts";
import { canUseKernel, REPO, runCli } from "../support.ts";

const OBJ = `${REPO}/test/fixtures/ev4_lwt.o`;
const bpftool = Bun.which("bpftool") ?? (existsSync("/usr/sbin/bpftool") ? "/usr/sbin/bpftool" : undefined);
const skip = !canUseKernel ? "kernel tests need root" : !bpftool ? "needs bpftool" : undefined;
if (skip) console.warn(`[skip] lwt test runs: ${skip}`);

// Ethernet + IPv4 headers: UDP 10.0.0.1:1234 -> 10.0.0.2:9, ICMP echo, TCP; 3 bytes after an Ethernet header
const eth = "ffffffffffff020000000001" + "0800";
const PACKETS: Record<string, string> = {
  udp: eth + "4500001c000000004011" + "00000a0000010a000002" + "04d2000900080000",
  icmp: eth + "4500001c000000004001" + "00000a0000010a000002" + "0800f7ff00000000",
  tcp: eth + "45000028000000004006" + "00000a0000010a000002" + "04d200500000000000000000500200000000" + "0000",
  // (an IPv4 packet shorter than its header is EINVAL to the kernel: this one is another EtherType)
  runt: "ffffffffffff020000000001" + "88b5" + "450000",
};
const EXPECTED: Record<string, Record<string, number>> = {
  in_drop_udp: { udp: 2, icmp: 0, tcp: 0, runt: 0 },
  out_drop_icmp: { udp: 0, icmp: 2, tcp: 0, runt: 0 },
  xmit_len: { udp: 0, icmp: 0, tcp: 0, runt: 2 },
};

describe("lwt test runs (no kernel)", () => {
  test("refused before 4.12, with the version", () => {
    const data = Buffer.from(PACKETS.udp!, "hex");
    for (const type of ["lwt_in", "lwt_out", "lwt_xmit"] as const) {
      expect(() => checkTestRun(type, { data }, kernelVersionCode(4, 11, 0))).toThrow(NotSupportedError);
      expect(() => checkTestRun(type, { data }, kernelVersionCode(4, 11, 0))).toThrow(`BPF_PROG_TEST_RUN for ${type} is not supported by this kernel (requires Linux >= 4.12)`);
      expect(() => checkTestRun(type, { data }, kernelVersionCode(4, 12, 0))).not.toThrow();
    }
  });
});

describe.skipIf(!!skip)("lwt test runs, bpftool prog run as the oracle", () => {
  const dir = mkdtempSync(`${tmpdir()}/bpfload-lwt-`);
  const pin = `/sys/fs/bpf/bpfload-test-lwt-${process.pid}`;
  afterAll(() => {
    rmSync(pin, { recursive: true, force: true });
    rmSync(dir, { recursive: true, force: true });
  });

  for (const prog of Object.keys(EXPECTED)) {
    test(`${prog}: retval and data_out for UDP, ICMP, TCP and a runt packet`, async () => {
      if (!existsSync(pin)) {
        const r = Bun.spawnSync([bpftool!, "prog", "loadall", OBJ, pin]);
        if (r.exitCode !== 0) throw new Error(`bpftool prog loadall: ${r.stderr}`);
      }
      for (const [name, hex] of Object.entries(PACKETS)) {
        writeFileSync(`${dir}/in`, Buffer.from(hex, "hex"));
        const o = Bun.spawnSync([bpftool!, "prog", "run", "pinned", `${pin}/${prog}`, "data_in", `${dir}/in`, "data_out", `${dir}/out`, "repeat", "1"]);
        expect(`${name}: ${o.exitCode} ${o.stderr}`).toBe(`${name}: 0 `);
        const want = Number(/[Rr]eturn value:\s*(\d+)/.exec(o.stdout.toString())![1]);
        const r = await runCli(["run", OBJ, "--program", prog, "--data", hex, "--json"]);
        expect(r.stderr).toBe("");
        const j = JSON.parse(r.stdout) as { retval: number; dataOut?: string };
        expect(`${name}: ${j.retval}`).toBe(`${name}: ${want}`);
        expect(`${name}: ${j.retval}`).toBe(`${name}: ${EXPECTED[prog]![name]}`);
        const out = readFileSync(`${dir}/out`);
        expect(`${name}: ${(j.dataOut ?? "").replace(/ /g, "")}`).toBe(`${name}: ${out.toString("hex")}`);
      }
    });
  }
});

// `bpfload run`: output lines, --json, --pcap verdicts per packet, usage errors (exit 2); and the
// pure pieces (hex input, pcap reading, header decoding) against hand-built bytes.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { decodePacket, formatPacket, parseHex, readPcap, verdictName } from "../../src/cli/packet.ts";
import { canUseKernel, REPO, runCli } from "../support.ts";
import { PACKETS } from "../kernel/packets.ts";

const OBJ = `${REPO}/test/fixtures/packets.o`;
const hex = (b: Uint8Array) => [...b].map((x) => x.toString(16).padStart(2, "0")).join(" ");
const dir = mkdtempSync(`${tmpdir()}/bpfload-run-`);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A classic little-endian microsecond pcap of Ethernet frames. */
function pcap(frames: Uint8Array[]): Uint8Array {
  const parts: Uint8Array[] = [];
  const hdr = new DataView(new ArrayBuffer(24));
  hdr.setUint32(0, 0xa1b2c3d4, true);
  hdr.setUint16(4, 2, true);
  hdr.setUint16(6, 4, true);
  hdr.setUint32(16, 65535, true);
  hdr.setUint32(20, 1, true);
  parts.push(new Uint8Array(hdr.buffer));
  frames.forEach((f, i) => {
    const r = new DataView(new ArrayBuffer(16));
    r.setUint32(0, 1700000000 + i, true);
    r.setUint32(8, f.length, true);
    r.setUint32(12, f.length, true);
    parts.push(new Uint8Array(r.buffer), f);
  });
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

describe("pure pieces", () => {
  test("hex input: spaces, colons, 0x; odd or non-hex is refused naming the option", () => {
    expect([...parseHex("0x01 02:03", "--data")]).toEqual([1, 2, 3]);
    expect(() => parseHex("abc", "--data")).toThrow("bad --data 'abc'");
    expect(() => parseHex("zz", "--ctx")).toThrow("bad --ctx");
  });
  test("pcap: packets back as written; pcapng and truncation are named", () => {
    const p = readPcap(pcap([PACKETS.udp9!, PACKETS.icmp!]), "t.pcap");
    expect(p.map((x) => hex(x.data))).toEqual([hex(PACKETS.udp9!), hex(PACKETS.icmp!)]);
    const ng = new Uint8Array(32);
    new DataView(ng.buffer).setUint32(0, 0x0a0d0d0a, true);
    expect(() => readPcap(ng, "t.pcapng")).toThrow(/pcapng/);
    expect(() => readPcap(pcap([PACKETS.udp9!]).subarray(0, 50), "t.pcap")).toThrow(/the file ends before/);
  });
  test("headers: Ethernet, IPv4, UDP / TCP / ICMP", () => {
    expect(formatPacket(decodePacket(PACKETS.udp9!))).toBe("eth 02:00:00:00:00:01 > ff:ff:ff:ff:ff:ff type 0x0800, IPv4 10.0.0.1 > 10.0.0.2 UDP ttl 64 len 28, UDP 1234 > 9 len 8");
    expect(decodePacket(PACKETS.tcp!).tcp).toEqual({ srcPort: 1234, dstPort: 80, flags: "SYN", seq: 1 });
    expect(decodePacket(PACKETS.icmp!).icmp).toEqual({ type: 8, code: 0 });
    expect(verdictName("xdp", 3)).toBe("XDP_TX");
    expect(verdictName("sched_cls", 2)).toBe("TC_ACT_SHOT");
  });
});

describe.skipIf(!canUseKernel)("bpfload run", () => {
  test("XDP on a UDP packet to port 9: retval 1 (XDP_DROP), duration, data_out, decoded headers", async () => {
    const r = await runCli(["run", OBJ, "--program", "xdp_verdict", "--data", hex(PACKETS.udp9!)]);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split("\n");
    expect(lines[0]).toBe("retval 1 (XDP_DROP)");
    expect(lines[1]).toMatch(/^duration \d+ ns per run \(1 run, as the kernel measured\)$/);
    expect(lines[2]).toBe(`data_out 42 bytes (unchanged): ${hex(PACKETS.udp9!)}`);
    expect(lines[3]).toContain("UDP 1234 > 9 len 8");
  });

  test("--json, data from @FILE: ICMP comes back with the MACs swapped (XDP_TX); --repeat", async () => {
    writeFileSync(`${dir}/icmp.bin`, PACKETS.icmp!);
    const r = await runCli(["run", OBJ, "--program", "xdp_verdict", "--data", `@${dir}/icmp.bin`, "--json"]);
    expect(r.code).toBe(0);
    const o = JSON.parse(r.stdout);
    expect([o.retval, o.verdict, o.repeat]).toEqual([3, "XDP_TX", 1]);
    const rep = JSON.parse((await runCli(["run", OBJ, "--program", "udp_only", "--data", hex(PACKETS.udp9!), "--repeat", "1000", "--json"])).stdout);
    expect([rep.retval, rep.verdict, rep.repeat]).toEqual([28, "keep 28 bytes", 1000]);
    const swapped = [...PACKETS.icmp!.subarray(6, 12), ...PACKETS.icmp!.subarray(0, 6), ...PACKETS.icmp!.subarray(12)];
    expect(o.dataOut).toBe(hex(Uint8Array.from(swapped)));
    expect(o.headers.ethernet.dst).toBe("02:00:00:00:00:01");
  });

  test("--pcap: one verdict per packet and a summary", async () => {
    writeFileSync(`${dir}/t.pcap`, pcap([PACKETS.udp9!, PACKETS.udp53!, PACKETS.icmp!, PACKETS.arp!]));
    const r = await runCli(["run", OBJ, "--program", "xdp_verdict", "--pcap", `${dir}/t.pcap`]);
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split("\n").map((l) => l.replace(/, \d+ bytes.*/, ""))).toEqual([
      "packet 1: retval 1 (XDP_DROP)", "packet 2: retval 2 (XDP_PASS)", "packet 3: retval 3 (XDP_TX)", "packet 4: retval 2 (XDP_PASS)",
    ]);
    expect(r.stderr).toContain("4 packets: 1 XDP_DROP, 2 XDP_PASS, 1 XDP_TX");
  });

  test("usage errors are one line and exit 2", async () => {
    for (const [args, msg] of [
      [["run", OBJ], "pick one with --program"],
      [["run", OBJ, "--program", "udp_only"], "give --data"],
      [["run", OBJ, "--program", "udp_only", "--data", "xyz"], "bad --data 'xyz'"],
      [["run", `${REPO}/test/fixtures/ringbuf.o`], "tracepoint programs cannot be test-run"],
    ] as [string[], string][]) {
      const r = await runCli(args);
      expect([args.join(" "), r.code]).toEqual([args.join(" "), 2]);
      expect(r.stderr).toContain(msg);
      expect(r.stderr.trim().split("\n").length).toBe(1);
    }
  });
});

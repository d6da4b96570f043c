// `bpfload run PIN | id:N | name:NAME`: a program the kernel already has, as `bpftool prog run`
// takes it (the like-for-like case of the run-overhead bench), with bpftool's own run of the same
// pin as the oracle for the verdict; options that only fit an object are refused (exit 2).
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { kernelSkipReason, REPO, runCli } from "../support.ts";
import { PACKETS } from "../kernel/packets.ts";

const bpftool = Bun.which("bpftool");
const skip = kernelSkipReason ?? (!bpftool ? "no bpftool (apt-get install bpftool)" : undefined);
const OBJ = `${REPO}/test/fixtures/packets.o`;
const hex = (b: Uint8Array) => [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
const dir = mkdtempSync(`${tmpdir()}/bpfload-run-loaded-`);
const pin = `/sys/fs/bpf/bpfload-test-run-loaded-${process.pid}`;
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  rmSync(pin, { recursive: true, force: true });
});

describe.skipIf(!!skip)("run on a loaded program", () => {
  test("a pin and its id give bpftool prog run's retval for each packet", async () => {
    expect(Bun.spawnSync(["bpftool", "prog", "loadall", OBJ, pin]).exitCode).toBe(0);
    const id = JSON.parse(Bun.spawnSync(["bpftool", "-j", "prog", "show", "pinned", `${pin}/xdp_verdict`]).stdout.toString()).id;
    for (const [name, pkt] of Object.entries(PACKETS)) {
      writeFileSync(`${dir}/${name}`, pkt);
      const oracle = Bun.spawnSync(["bpftool", "prog", "run", "pinned", `${pin}/xdp_verdict`, "data_in", `${dir}/${name}`]).stdout.toString();
      const want = Number(/[Rr]eturn value:\s*(\d+)/.exec(oracle)![1]);
      for (const ref of [`${pin}/xdp_verdict`, `id:${id}`]) {
        const r = await runCli(["run", ref, "--data", hex(pkt), "--json"]);
        expect(r.stderr).toBe("");
        expect(r.code).toBe(0);
        const j = JSON.parse(r.stdout);
        expect(j.retval).toBe(want);
        expect(j.progType).toBe("xdp");
      }
    }
  });

  test("--program on a loaded program is refused (exit 2), a missing pin is one line", async () => {
    const r = await runCli(["run", `${pin}/xdp_verdict`, "--program", "x", "--data", hex(PACKETS.udp9!)]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("is a loaded program");
    const m = await runCli(["run", `${pin}/no_such`, "--data", hex(PACKETS.udp9!)]);
    expect(m.code).not.toBe(0);
    expect(m.stderr.trim().split("\n")).toHaveLength(1);
    expect(m.stderr).toContain("ENOENT");
  });
});

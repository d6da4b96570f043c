// Real-kernel tests: run as root (CI does); skipped with the reason otherwise.
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { parseAttachSpec } from "../../src/attach-spec.ts";
import { SyscallError, VerifierError } from "../../src/errors.ts";
import { attach } from "../../src/kernel/attach/index.ts";
import { pendingCleanups } from "../../src/kernel/cleanup.ts";
import { loadProgram } from "../../src/kernel/program.ts";
import { TracePipe } from "../../src/kernel/tracefs/trace-pipe.ts";
import { tracefs } from "../../src/kernel/tracefs/tracefs.ts";
import { canUseKernel, SEED } from "../support.ts";

/** bpftool's view of a loaded program (an independent oracle), when bpftool is installed. */
function bpftoolShow(fd: number): { type: string; name?: string; xlated_prog_len?: number } | undefined {
  const bpftool = Bun.which("bpftool");
  if (!bpftool) return undefined;
  // bpftool looks programs up by id; find ours through /proc/self/fdinfo.
  const info = readFileSync(`/proc/self/fdinfo/${fd}`, "utf8");
  const id = info.match(/prog_id:\s*(\d+)/)?.[1];
  if (!id) return undefined;
  const r = Bun.spawnSync([bpftool, "-j", "prog", "show", "id", id]);
  return r.exitCode === 0 ? JSON.parse(r.stdout.toString()) : undefined;
}

describe.skipIf(!canUseKernel)("loading on the running kernel", () => {
  for (const type of ["tracepoint", "socket_filter", "kprobe"] as const) {
    test(`the seed program loads as a ${type} program`, () => {
      const p = loadProgram({ name: "seed", type, insns: SEED });
      try {
        expect(p.fd).toBeGreaterThan(0);
        const seen = bpftoolShow(p.fd);
        if (Bun.which("bpftool")) expect(seen).toBeDefined();
        if (seen) {
          expect(seen.type).toBe(type === "socket_filter" ? "socket_filter" : type);
          expect(seen.name).toBe("seed");
        }
      } finally {
        p.close();
      }
    });
  }

  test("a broken program gives a VerifierError carrying the whole log", () => {
    const noR0 = new Uint8Array([0x95, 0, 0, 0, 0, 0, 0, 0]);
    let err: unknown;
    try {
      loadProgram({ name: "broken", type: "socket_filter", insns: noR0 });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(VerifierError);
    expect((err as VerifierError).log).toContain("R0 !read_ok");
    expect((err as VerifierError).exitCode).toBe(1);
  });

  test("a verifier log larger than the first buffer is fetched whole (ENOSPC retry)", () => {
    // r0 = 0, then 30,000 valid moves, then a read of an uninitialised register at the very end:
    // level 2 logs the state at every instruction, far more than the first 256 KiB buffer.
    const n = 30000;
    const insns = new Uint8Array((n + 3) * 8);
    insns.set([0xb7, 0x00], 0); // r0 = 0
    for (let i = 1; i <= n; i++) insns.set([0xbf, 0x01], i * 8); // r1 = r0
    insns.set([0xbf, 0x30], (n + 1) * 8); // r0 = r3 (never written)
    insns.set([0x95], (n + 2) * 8);
    let err: VerifierError | undefined;
    try {
      loadProgram({ name: "big", type: "socket_filter", insns, logLevel: 2 });
    } catch (e) {
      err = e as VerifierError;
    }
    expect(err).toBeInstanceOf(VerifierError);
    expect(err!.log).toContain("R3 !read_ok");
    expect(err!.log.length).toBeGreaterThan(256 * 1024);
    expect(err!.log).toContain("processed");
  });

  test("--log-level on a valid program returns the log", () => {
    const p = loadProgram({ name: "seed", type: "tracepoint", insns: SEED, logLevel: 1 });
    expect(p.log).toContain("processed");
    p.close();
  });

  test("an unknown program type is refused with EINVAL and a hint", () => {
    expect(() => loadProgram({ name: "x", type: "netfilter", insns: SEED })).toThrow(SyscallError);
  });

  test("attached to a syscall tracepoint, the program prints when triggered; detaching leaves nothing", async () => {
    const p = loadProgram({ name: "seed", type: "tracepoint", insns: SEED });
    const pipe = new TracePipe();
    pipe.drain();
    const link = attach(p, parseAttachSpec("tracepoint:syscalls:sys_enter_clone"));
    try {
      Bun.spawnSync(["/bin/sh", "-c", "true & wait"]);
      let lines: string[] = [];
      for (let i = 0; i < 40 && !lines.some((l) => l.includes("Hello World!")); i++) {
        await Bun.sleep(50);
        lines = lines.concat(pipe.drain());
      }
      expect(lines.some((l) => l.includes("Hello World!"))).toBe(true);
    } finally {
      link.close();
      p.close();
      pipe.close();
    }
    expect(pendingCleanups()).toBe(0);
    expect(readdirSync(`${tracefs()}/events`).filter((g) => g.startsWith("bpfload"))).toEqual([]);
  });
});

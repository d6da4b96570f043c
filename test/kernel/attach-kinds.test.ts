// Every attach kind this host's kernel has (6.18: no kprobes; uprobes, raw tracepoints, perf
// events, packet sockets): attach the seed program, trigger it, see its line, leave nothing.
import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { parseAttachSpec } from "../../src/attach-spec.ts";
import { attach, type AttachOptions } from "../../src/kernel/attach/index.ts";
import { loadProgram } from "../../src/kernel/program.ts";
import { probePmu } from "../../src/kernel/attach/probe-pmu.ts";
import { TracePipe } from "../../src/kernel/tracefs/trace-pipe.ts";
import { uprobeFileOffset } from "../../src/kernel/attach/uprobe.ts";
import type { ProgTypeName } from "../../src/uapi.ts";
import { canUseKernel, REPO, runCli, SEED, tracefsDir } from "../support.ts";

const LIBC = ["/lib/x86_64-linux-gnu/libc.so.6", "/lib/aarch64-linux-gnu/libc.so.6"].find(existsSync);

/** Attaches the seed, runs `trigger` until a Hello World! line arrives (or 2 s pass). */
async function seesHello(type: ProgTypeName, spec: string, trigger: () => void, opts: AttachOptions = {}): Promise<boolean> {
  const prog = loadProgram({ name: "seed", type, insns: SEED });
  const pipe = new TracePipe();
  pipe.drain();
  const link = attach(prog, parseAttachSpec(spec), opts);
  try {
    for (let i = 0; i < 40; i++) {
      trigger();
      await Bun.sleep(50);
      if (pipe.drain().some((l) => l.includes("Hello World!"))) return true;
    }
    return false;
  } finally {
    link.close();
    prog.close();
    pipe.close();
  }
}

function probeLeftovers(): string {
  const t = tracefsDir()!;
  return ["kprobe_events", "uprobe_events"].filter((f) => existsSync(`${t}/${f}`)).map((f) => readFileSync(`${t}/${f}`, "utf8")).join("").split("\n").filter((l) => l.includes("bpfload")).join("\n");
}

const forkSomething = () => void Bun.spawnSync(["/bin/sh", "-c", "true & wait"]);

/** readelf (binutils) as the oracle for a symbol's file offset: its value mapped through PT_LOAD. */
function readelfFileOffset(path: string, symbol: string): number | undefined {
  const readelf = Bun.which("readelf");
  if (!readelf) return undefined;
  const syms = Bun.spawnSync([readelf, "-Ws", "--dyn-syms", path]).stdout.toString();
  const line = syms.split("\n").find((l) => new RegExp(`\\sFUNC\\s.*\\s${symbol}(@\\S*)?$`).test(l));
  if (!line) return undefined;
  const value = BigInt(`0x${line.trim().split(/\s+/)[1]}`);
  const phdrs = Bun.spawnSync([readelf, "-Wl", path]).stdout.toString();
  for (const l of phdrs.split("\n").filter((x) => x.trim().startsWith("LOAD"))) {
    const [, off, vaddr, , filesz] = l.trim().split(/\s+/).map((x) => (x.startsWith("0x") ? BigInt(x) : 0n));
    if (value >= vaddr! && value < vaddr! + filesz!) return Number(value - vaddr! + off!);
  }
  return undefined;
}

describe.skipIf(!canUseKernel)("attach kinds on the running kernel", () => {
  test.skipIf(!LIBC)("uprobe by symbol: the file offset agrees with readelf", () => {
    const ours = uprobeFileOffset({ kind: "uprobe", path: LIBC!, symbol: "__libc_start_main", offset: 0 });
    const oracle = readelfFileOffset(LIBC!, "__libc_start_main");
    if (Bun.which("readelf")) expect(oracle).toBeDefined();
    if (oracle !== undefined) expect(ours).toBe(oracle);
    expect(uprobeFileOffset({ kind: "uprobe", path: LIBC!, symbol: "__libc_start_main", offset: 4 })).toBe(ours + 4);
  });

  for (const api of ["pmu", "tracefs"] as const) {
    test.skipIf(!LIBC || (api === "pmu" && !probePmu("uprobe")))(`uprobe on libc's __libc_start_main (${api})`, async () => {
      expect(await seesHello("kprobe", `uprobe:${LIBC}:__libc_start_main`, () => Bun.spawnSync(["/bin/true"]), { probeApi: api })).toBe(true);
      expect(probeLeftovers()).toBe("");
    });
  }

  test.skipIf(!LIBC)("uretprobe fires on return", async () => {
    expect(await seesHello("kprobe", `uretprobe:${LIBC}:malloc`, () => Bun.spawnSync(["/bin/sh", "-c", "true"]), {})).toBe(true);
  });

  test("raw tracepoint sched_process_fork", async () => {
    expect(await seesHello("raw_tracepoint", "raw_tracepoint:sched_process_fork", forkSomething)).toBe(true);
  });

  test("perf_event: cpu-clock sampling on every CPU", async () => {
    expect(await seesHello("perf_event", "perf_event", () => {}, { freq: 199 })).toBe(true);
  });

  test("socket filter on lo sees loopback packets", async () => {
    const server = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    try {
      expect(await seesHello("socket_filter", "socket:lo", () => void Bun.connect({ hostname: "127.0.0.1", port: server.port, socket: { data() {} } }).then((s) => s.end()))).toBe(true);
    } finally {
      server.stop(true);
    }
  });

  test.skipIf(!LIBC)("a SIGKILLed run leaves its tracefs probe; the next run's sweep (bpfload cleanup) removes it", async () => {
    const proc = Bun.spawn([process.execPath, `${REPO}/src/main.ts`, "load", `${REPO}/test/vm/seed.bin`, "--attach", `uprobe:${LIBC}:__libc_start_main`, "--probe-api", "tracefs"], { stdout: "ignore", stderr: "pipe" });
    const name = `bpfload2_${proc.pid.toString(36)}_`;
    for (let i = 0; i < 100 && !probeLeftovers().includes(name); i++) await Bun.sleep(50);
    proc.kill("SIGKILL");
    await proc.exited;
    expect(probeLeftovers()).toMatch(new RegExp(`${name}[0-9a-z]+_[0-9a-z]+_0___libc_start_main`));
    const r = await runCli(["cleanup"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`removed uprobe event bpfload/${name}[0-9a-z]+_[0-9a-z]+_0___libc_start_main`));
    expect(probeLeftovers()).toBe("");
  });

  test.skipIf(!LIBC)("the next run sweeps a SIGKILLed run's probe by itself before adding its own", async () => {
    const args = ["load", `${REPO}/test/vm/seed.bin`, "--attach", `uprobe:${LIBC}:__libc_start_main`, "--probe-api", "tracefs"];
    const proc = Bun.spawn([process.execPath, `${REPO}/src/main.ts`, ...args], { stdout: "ignore", stderr: "ignore" });
    const name = `bpfload2_${proc.pid.toString(36)}_`;
    for (let i = 0; i < 100 && !probeLeftovers().includes(name); i++) await Bun.sleep(50);
    proc.kill("SIGKILL");
    await proc.exited;
    expect(probeLeftovers()).toContain(name);
    const next = await runCli([...args, "--duration", "0"]);
    expect(next.code).toBe(0);
    expect(probeLeftovers()).toBe("");
  });

  test("unknown raw tracepoint, missing interface and missing uprobe target are one-line errors", async () => {
    const seed = `${REPO}/test/vm/seed.bin`;
    const cases: [string, RegExp, number][] = [
      ["raw_tracepoint:no_such_tp", /unknown tracepoint 'no_such_tp'/, 1],
      ["socket:nosuch0", /no network interface 'nosuch0'/, 1],
      ["uprobe:/no/such/bin:main", /no such file \(uprobe target\)/, 2],
      [`uprobe:${LIBC ?? "/bin/sh"}:no_such_function_xyz`, /no function symbol 'no_such_function_xyz'/, 2],
    ];
    for (const [spec, msg, code] of cases) {
      const r = await runCli(["load", seed, "--attach", spec, "--duration", "1"]);
      expect(r.stderr).toMatch(msg);
      expect(r.code).toBe(code);
    }
    expect(probeLeftovers()).toBe("");
  });
});

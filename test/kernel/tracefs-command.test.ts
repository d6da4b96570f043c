// The tracefs command writer against a model of the kernel's own parser (pure: no kernel needed).
// The model follows kernel/trace: the buffer is cut at '\n', a '#' starts a comment, argv is split
// on the kernel's isspace() (which includes the Latin-1 byte 0xA0), and uprobe PATH:OFFSET is cut
// at the first ':' by 4.17 and older, at the last ':' by newer kernels.
import { describe, expect, test } from "bun:test";
import { probeEventName } from "../../src/attach-spec.ts";
import { InvalidArgumentError } from "../../src/errors.ts";
import { cliText } from "../cli-text.ts";
import { EVENT_NAME, TracefsCommand } from "../../src/kernel/tracefs/command.ts";

const KERNEL_SPACE = new Set([0x20, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0xa0]);

/** What the kernel would run for `text` written to a probe control file: a list of argv. */
function kernelParse(text: string): string[][] {
  const bytes = new TextEncoder().encode(`${text}\n`);
  const commands: string[][] = [];
  let line: number[] = [];
  const flush = () => {
    const hash = line.indexOf(0x23);
    const kept = hash < 0 ? line : line.slice(0, hash);
    const argv: string[] = [];
    let tok: number[] = [];
    for (const b of [...kept, 0x20]) {
      if (KERNEL_SPACE.has(b) || b === 0) {
        if (tok.length) argv.push(new TextDecoder().decode(new Uint8Array(tok)));
        tok = [];
        if (b === 0) break; // the kernel's strings end at NUL
      } else tok.push(b);
    }
    if (argv.length) commands.push(argv);
    line = [];
  };
  for (const b of bytes) {
    if (b === 0x0a) flush();
    else line.push(b);
  }
  return commands;
}

/** A small seeded generator (mulberry32): the same cases on every run. */
function rng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ALPHABET = ["a", "Z", "_", "0", "9", ".", "/", ":", "#", " ", "\t", "\n", "\r", "\v", "\f", "\0", "\x7f", "\u00a0", "é", "-", "+", "%", "(", "=", "\x01", "x", "bin", "/usr/bin/true"];

function randomString(next: () => number, max: number): string {
  let s = "";
  const n = Math.floor(next() * max);
  for (let i = 0; i < n; i++) s += ALPHABET[Math.floor(next() * ALPHABET.length)]!;
  return s;
}

function tryBuild(build: () => TracefsCommand): TracefsCommand | undefined {
  try {
    return build();
  } catch (e) {
    if (!(e instanceof InvalidArgumentError)) throw e;
    expect(e.message).not.toContain("\n"); // the refusal is one line, whatever the input
    return undefined;
  }
}

describe("tracefs command writer (seeded property test)", () => {
  test("every accepted command is one kernel command of single-token fields in group bpfload; the rest is refused", () => {
    const next = rng(20261201);
    let accepted = 0;
    let refused = 0;
    for (let i = 0; i < 4000; i++) {
      const owner = { pid: 1 + Math.floor(next() * 4194304), start: Math.floor(next() * 2 ** 40), pidns: Math.floor(next() * 2 ** 32) };
      const label = randomString(next, 90);
      const event = probeEventName(owner, Math.floor(next() * 1000), label);
      expect(event).toMatch(EVENT_NAME);
      // sometimes a hostile name instead of one probeEventName made
      const name = next() < 0.3 ? randomString(next, 70) : event;
      const path = next() < 0.5 ? `/${randomString(next, 40)}` : randomString(next, 40);
      const offset = Math.floor(next() * 0x100000);
      const symbol = next() < 0.5 ? label : "do_sys_open";

      const up = tryBuild(() => TracefsCommand.uprobe(next() < 0.5 ? "p" : "r", name, path, offset));
      // the model: what the kernel would do with it, on old and new kernels alike
      const intended = [`p:bpfload/${name}`, `r:bpfload/${name}`];
      const parsed = kernelParse(`p:bpfload/${name} ${path}:0x${offset.toString(16)}`);
      const oneToken = parsed.length === 1 && parsed[0]!.length === 2 && parsed[0]![0] === `p:bpfload/${name}` && parsed[0]![1] === `${path}:0x${offset.toString(16)}`;
      const sameCut = path.indexOf(":") < 0; // first and last ':' agree only without ':' in the path
      const modelAccepts = oneToken && sameCut && EVENT_NAME.test(name) && path.startsWith("/");
      // sound: nothing the kernel would read differently is accepted; complete for paths without
      // control characters (those the writer refuses even where the kernel would take them)
      if (up) expect(modelAccepts).toBe(true);
      if (modelAccepts && !/[\x00-\x1f\x7f]/.test(path)) expect(up).toBeDefined();
      if (up) {
        accepted++;
        const cmds = kernelParse(up.text);
        expect(cmds.length).toBe(1);
        expect(cmds[0]!.length).toBe(2);
        expect(intended).toContain(cmds[0]![0]!);
        expect(cmds[0]![0]!.split("/")[1]).toMatch(EVENT_NAME);
        expect(up.text).not.toMatch(/[\n\r#]/);
        expect(up.file).toBe("uprobe_events");
      } else refused++;

      const kp = tryBuild(() => TracefsCommand.kprobe("p", name, symbol, offset % 64));
      if (kp) {
        const cmds = kernelParse(kp.text);
        expect(cmds.length).toBe(1);
        expect(cmds[0]!.length).toBe(2);
        expect(cmds[0]![0]).toBe(`p:bpfload/${name}`);
        expect(kp.file).toBe("kprobe_events");
      } else {
        expect(EVENT_NAME.test(name) && /^[A-Za-z_][A-Za-z0-9_.]{0,127}$/.test(symbol)).toBe(false);
      }

      const rm = tryBuild(() => TracefsCommand.remove("uprobe_events", name));
      expect(rm !== undefined).toBe(EVENT_NAME.test(name));
      if (rm) expect(kernelParse(rm.text)).toEqual([[`-:bpfload/${name}`]]);
    }
    // the generator reaches both sides
    expect(accepted).toBeGreaterThan(50);
    expect(refused).toBeGreaterThan(100);
  });

  test("the issue's injection strings are refused with one clear line", () => {
    const event = probeEventName({ pid: 42, start: 1, pidns: 2 }, 0, "x");
    expect(() => TracefsCommand.uprobe("p", event, "/usr/bin/true:0x100\np:evil/pwned /usr/bin/true", 0x200)).toThrow(/cannot be used through tracefs/);
    expect(() => TracefsCommand.uprobe("p", event, "/usr/bin/true:0x100\n-:victim/keep", 0)).toThrow(/cannot be used through tracefs/);
    expect(() => TracefsCommand.uprobe("p", event, "/tmp/with space/true", 0)).toThrow(/contains a space.*use probeApi pmu/);
    expect(cliText(() => TracefsCommand.uprobe("p", event, "/tmp/with space/true", 0))).toMatch(/contains a space.*use --probe-api pmu/);
    expect(() => TracefsCommand.uprobe("p", event, "/tmp/a#b", 0)).toThrow(/'#'/);
    expect(() => TracefsCommand.uprobe("p", event, "/tmp/a:b", 0)).toThrow(/':'/);
    expect(() => TracefsCommand.remove("uprobe_events", "keep\n-:victim/keep")).toThrow(InvalidArgumentError);
    expect(() => TracefsCommand.kprobe("p\n-:victim/keep\np", event, "do_sys_open")).toThrow(InvalidArgumentError);
    expect(() => TracefsCommand.kprobe("p", "evil/pwned", "do_sys_open")).toThrow(InvalidArgumentError);
    expect(TracefsCommand.uprobe("r", event, "/usr/bin/true", 0x1234).text).toBe(`r:bpfload/${event} /usr/bin/true:0x1234`);
    expect(TracefsCommand.kprobe("r16", event, "kernel_clone.isra.0", 0).text).toBe(`r16:bpfload/${event} kernel_clone.isra.0`);
  });
});

test("kretprobe instances: 1 to 4096, as the kernel takes them", () => {
  const event = probeEventName({ pid: 42, start: 1, pidns: 2 }, 0, "x");
  expect(TracefsCommand.kprobe("r4096", event, "kernel_clone").text).toStartWith("r4096:bpfload/");
  expect(() => TracefsCommand.kprobe("r5000", event, "kernel_clone")).toThrow(/maxactive 5000: the kernel takes 1 to 4096/);
  expect(cliText(() => TracefsCommand.kprobe("r5000", event, "kernel_clone"))).toMatch(/^bad --maxactive 5000: the kernel takes 1 to 4096/);
  expect(() => TracefsCommand.kprobe("r0", event, "kernel_clone")).toThrow(InvalidArgumentError);
});

import { describe, expect, test } from "bun:test";
import { probeEventName } from "../../src/attach-spec.ts";
import { classifyEvents, parseProbeEvents, staleEvents, sweepStaleEvents } from "../../src/kernel/tracefs/sweep.ts";
import { TracefsWriteError } from "../../src/kernel/tracefs/tracefs.ts";

const LISTING = `p:kprobes/sys_clone sys_clone
p:bpfload/bpfload_4242_0_sys_clone __x64_sys_clone
r2:bpfload/bpfload_4243_1_kernel_clone kernel_clone
p:bpfload/someone_elses_event do_sys_open
p:perf/bpfload_4242_0_fake do_sys_open
`;

test("probe event listings are parsed (kprobe and kretprobe with maxactive)", () => {
  const events = parseProbeEvents("kprobe_events", LISTING);
  expect(events.map((e) => `${e.group}/${e.event}`)).toEqual([
    "kprobes/sys_clone",
    "bpfload/bpfload_4242_0_sys_clone",
    "bpfload/bpfload_4243_1_kernel_clone",
    "bpfload/someone_elses_event",
    "perf/bpfload_4242_0_fake",
  ]);
  expect(parseProbeEvents("uprobe_events", "p:bpfload/bpfload_9_0_x /bin/sh:0x0000000000001234\n")[0]?.event).toBe("bpfload_9_0_x");
});

test("only bpfload's own events of dead processes are stale", () => {
  const events = parseProbeEvents("kprobe_events", LISTING);
  const stale = staleEvents(events, (pid) => pid === 4243);
  expect(stale.map((e) => e.event)).toEqual(["bpfload_4242_0_sys_clone"]);
  expect(staleEvents(events, () => true)).toEqual([]);
});

describe("ownership across PID namespaces and pid reuse", () => {
  const me = { pid: 100, start: 5000, pidns: 4026531836 };
  const ev = (owner: { pid: number; start: number; pidns: number }, seq = 0) => ({
    file: "uprobe_events" as const,
    group: "bpfload",
    event: probeEventName(owner, seq, "main"),
    line: "",
  });
  const running = new Map([[200, 7000], [100, 5000]]);
  const startOf = (pid: number) => running.get(pid);

  test("another namespace's events are left alone, even when its pid is not running here", () => {
    const other = ev({ pid: 1, start: 9000, pidns: 4026532999 });
    const c = classifyEvents([other], me, startOf);
    expect(c.foreign).toEqual([other]);
    expect(c.stale).toEqual([]);
  });

  test("same namespace: dead pid or a reused pid (other start time) is stale; the live owner and this process are not", () => {
    const dead = ev({ pid: 300, start: 1, pidns: me.pidns });
    const reused = ev({ pid: 200, start: 6999, pidns: me.pidns });
    const live = ev({ pid: 200, start: 7000, pidns: me.pidns });
    const mine = ev(me, 1);
    const c = classifyEvents([dead, reused, live, mine], me, startOf);
    expect(c.stale.map((e) => e.event)).toEqual([dead.event, reused.event]);
    expect(c.alive.map((e) => e.event)).toEqual([live.event, mine.event]);
  });

  test("old-format names (pid only) are judged by the pid, as older bpfload versions did", () => {
    const [oldDead, oldLive] = parseProbeEvents("kprobe_events", "p:bpfload/bpfload_300_0_f f\np:bpfload/bpfload_200_0_f f\n");
    const c = classifyEvents([oldDead!, oldLive!], me, startOf);
    expect(c.stale).toEqual([oldDead!]);
    expect(c.alive).toEqual([oldLive!]);
  });
});

describe("a run that ends during the sweep", () => {
  const me = { pid: 100, start: 5000, pidns: 1 };
  const gone = { file: "uprobe_events" as const, group: "bpfload", event: probeEventName({ pid: 300, start: 1, pidns: 1 }, 0, "main"), line: "" };

  test("an event listed, then removed by its owner before our '-:', counts as removed (not a failure)", () => {
    let listed = [gone];
    const r = sweepStaleEvents({
      me,
      startOf: () => undefined,
      list: () => listed,
      remove: () => {
        listed = []; // its owner got there first
        throw new TracefsWriteError("uprobe_events", 2, "the kernel refused '-:...'");
      },
    });
    expect(r.failed).toEqual([]);
    expect(r.vanished).toEqual([gone]);
  });

  test("an event that is still there after a refused removal is a failure", () => {
    const r = sweepStaleEvents({
      me,
      startOf: () => undefined,
      list: () => [gone],
      remove: () => {
        throw new TracefsWriteError("uprobe_events", 16, "busy");
      },
    });
    expect(r.failed.length).toBe(1);
  });
});

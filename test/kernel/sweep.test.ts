import { expect, test } from "bun:test";
import { parseProbeEvents, staleEvents } from "../../src/kernel/sweep.ts";

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

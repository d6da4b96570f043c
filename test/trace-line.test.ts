import { expect, test } from "bun:test";
import { parseTraceLine } from "../src/trace-line.ts";

test("4.9 format (the seed's output)", () => {
  expect(parseTraceLine("            bash-13708 [003] d... 51890.256702: : Hello World!")).toEqual({
    task: "bash", pid: 13708, cpu: 3, flags: "d...", timestamp: 51890.256702, event: "", message: "Hello World!",
  });
  expect(parseTraceLine("     gnome-shell-1429  [000] d... 52581.579554: : Hello World!")?.task).toBe("gnome-shell");
});

test("6.x format with the event name", () => {
  expect(parseTraceLine("              sh-8006    [001] ...21   501.917995: bpf_trace_printk: Hello World!")).toEqual({
    task: "sh", pid: 8006, cpu: 1, flags: "...21", timestamp: 501.917995, event: "bpf_trace_printk", message: "Hello World!",
  });
});

test("task names with dashes and spaces, and the tgid column", () => {
  expect(parseTraceLine("  kworker/u4:1-my-thing-55 [000] d..1 10.5: bpf_trace_printk: x")?.task).toBe("kworker/u4:1-my-thing");
  expect(parseTraceLine("  memfd:sealed 91-2679 (   2679) [000] ...21 413.736: bpf_trace_printk: a: b")).toMatchObject({ pid: 2679, message: "a: b" });
});

test("non-trace lines are not parsed", () => {
  expect(parseTraceLine("")).toBeUndefined();
  expect(parseTraceLine("CPU:1 [LOST 3 EVENTS]")).toBeUndefined();
});

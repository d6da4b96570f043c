// The kernel's rule for the size of a map value buffer (bpf_map_value_size() in kernel/bpf/syscall.c),
// and the CPU list parser it depends on. Pure: no bpf() calls.
import { expect, test } from "bun:test";
import { mapValueBytes, mapValueCopies, mapValueStride } from "../../src/sys/bpf.ts";
import { countCpuList, possibleCpus } from "../../src/sys/cpus.ts";
import { MAP_TYPES } from "../../src/uapi.ts";

const type = (name: string) => MAP_TYPES.indexOf(name as never);

test("CPU lists are counted like the kernel's cpumask lists", () => {
  expect(countCpuList("0\n")).toBe(1);
  expect(countCpuList("0-1\n")).toBe(2);
  expect(countCpuList("0-3")).toBe(4);
  expect(countCpuList("0,2-5")).toBe(5);
  expect(countCpuList("0-63,128-191")).toBe(128);
});

test("possible CPUs come from sysfs (the same count as the file's own ranges)", () => {
  const text = require("node:fs").readFileSync("/sys/devices/system/cpu/possible", "utf8");
  expect(possibleCpus()).toBe(countCpuList(text));
});

test("per-CPU maps: round_up(value_size, 8) per possible CPU", () => {
  const cpus = possibleCpus();
  for (const name of ["percpu_array", "percpu_hash", "lru_percpu_hash", "percpu_cgroup_storage"]) {
    expect([name, mapValueCopies(type(name))]).toEqual([name, cpus]);
    expect([name, mapValueStride(type(name), 4)]).toEqual([name, 8]);
    expect([name, mapValueBytes(type(name), 4)]).toEqual([name, 8 * cpus]);
    expect([name, mapValueBytes(type(name), 8)]).toEqual([name, 8 * cpus]);
    expect([name, mapValueBytes(type(name), 12)]).toEqual([name, 16 * cpus]);
    expect([name, mapValueBytes(type(name), 1)]).toEqual([name, 8 * cpus]);
  }
});

test("other maps: value_size exactly, one copy", () => {
  for (const name of ["hash", "array", "lru_hash", "lpm_trie", "prog_array", "perf_event_array", "cgroup_storage"]) {
    expect([name, mapValueCopies(type(name)), mapValueBytes(type(name), 12)]).toEqual([name, 1, 12]);
  }
});

// The mountinfo parser (pure) against the kernel's format, and against this machine's /proc/mounts
// (an independent listing: the same mount points and types in the same order).
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { mountPointsOf, mounts, parseMountinfo } from "../../src/kernel/mounts.ts";

const SAMPLE = [
  "22 28 0:20 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw",
  "36 22 0:12 / /sys/kernel/tracing rw,nosuid,nodev,noexec,relatime shared:16 - tracefs tracefs rw",
  "37 22 0:33 / /sys/fs/bpf rw,nosuid,nodev,noexec,relatime shared:17 master:1 - bpf bpf rw,mode=700",
  "90 28 0:45 / /mnt/with\\040space rw,relatime - bpf none rw",
  "91 28 0:46 / /sys/kernel/debug rw,relatime - debugfs debugfs rw",
  "",
].join("\n");

test("mount points and types, optional fields skipped, octal escapes undone", () => {
  expect(parseMountinfo(SAMPLE)).toEqual([
    { mountPoint: "/sys", fstype: "sysfs" },
    { mountPoint: "/sys/kernel/tracing", fstype: "tracefs" },
    { mountPoint: "/sys/fs/bpf", fstype: "bpf" },
    { mountPoint: "/mnt/with space", fstype: "bpf" },
    { mountPoint: "/sys/kernel/debug", fstype: "debugfs" },
  ]);
  expect(mountPointsOf("bpf", parseMountinfo(SAMPLE))).toEqual(["/sys/fs/bpf", "/mnt/with space"]);
  expect(parseMountinfo("garbage without a separator\n")).toEqual([]);
});

test("this process's mounts agree with /proc/mounts", () => {
  const procMounts = readFileSync("/proc/mounts", "utf8").trim().split("\n").map((l) => {
    const [, mnt, type] = l.split(" ");
    return { mountPoint: mnt!.replace(/\\([0-7]{3})/g, (_, o) => String.fromCharCode(parseInt(o, 8))), fstype: type! };
  });
  expect(mounts()).toEqual(procMounts);
});

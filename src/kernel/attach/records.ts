// Attachments that outlive bpfload (netlink XDP and tc filters, BPF_PROG_ATTACH on cgroups and
// of the flow dissector before 5.7) are
// written down under /run/bpfload/ before they are made, one file each, named like bpfload's probe
// events (attach-spec.ts probeEventName: pid, start time, PID namespace), and removed after the
// detach. A later run or `bpfload cleanup` undoes the records of dead owners (sweep-net.ts).
import { probeEventName, probeEventOwner, type EventOwner } from "../../attach-spec.ts";
import { SystemError } from "../../errors.ts";
import { FileError, makeDirs, tryReadText, writeFile } from "../../sys/files.ts";
import { listDir, openDirAt, openDirNoSymlinks, unlinkAt } from "../../sys/paths.ts";
import { close } from "../../sys/fd.ts";
import { selfOwner } from "../tracefs/sweep.ts";

export const RECORD_DIR = "/run/bpfload";

export type NetRecord =
  | { kind: "xdp"; netns: number; ifindex: number; iface: string; progId: number; progName: string; flags: number }
  | { kind: "tc"; netns: number; ifindex: number; iface: string; progId: number; progName: string; parent: number; prio: number; handle: number; createdQdisc: boolean }
  | { kind: "cgroup"; path: string; attachType: number; progId: number; progName: string }
  | { kind: "flow_dissector"; netns: number; progId: number; progName: string };

let sequence = 0;

/** Writes the record and returns its file name (for removeRecord). */
export function writeRecord(rec: NetRecord, dir = RECORD_DIR): string {
  const name = `${probeEventName(selfOwner(), sequence++, rec.kind)}.json`;
  try {
    makeDirs(dir);
    writeFile(`${dir}/${name}`, new TextEncoder().encode(`${JSON.stringify(rec)}\n`));
  } catch (e) {
    if (e instanceof FileError) throw new SystemError(`cannot record the attachment in ${dir} (needed to remove it after a crash): ${e.message}`);
    throw e;
  }
  return name;
}

const ENOSYS = 38;
const AT_FDCWD = -100;

/**
 * The record directory, opened through no symbolic link: openat2(RESOLVE_NO_SYMLINKS) from 5.6,
 * before that component by component with O_NOFOLLOW (openat2's ENOSYS had made every removal a
 * silent no-op on 4.x-5.5, where these records matter most: found on 5.4). `openat2` is for tests.
 */
export function openRecordDir(dir: string, openat2 = openDirNoSymlinks): { ret: number; errno: number } {
  const whole = openat2(dir);
  if (whole.ret >= 0 || whole.errno !== ENOSYS) return whole;
  let fd = openDirAt(AT_FDCWD, dir.startsWith("/") ? "/" : ".");
  for (const part of dir.split("/").filter((p) => p !== "" && p !== ".")) {
    if (fd.ret < 0) break;
    const next = openDirAt(fd.ret, part);
    close(fd.ret);
    fd = next;
  }
  return fd;
}

export function removeRecord(name: string, dir = RECORD_DIR, openat2 = openDirNoSymlinks): void {
  const d = openRecordDir(dir, openat2);
  if (d.ret < 0) return;
  try {
    unlinkAt(d.ret, name, false);
  } finally {
    close(d.ret);
  }
}

export interface StoredRecord {
  name: string;
  owner: EventOwner;
  /** Undefined when the file is not readable JSON (a run killed while writing it). */
  record?: NetRecord;
}

export function listRecords(dir = RECORD_DIR): StoredRecord[] {
  const out: StoredRecord[] = [];
  for (const name of listDir(dir)) {
    if (!name.endsWith(".json")) continue;
    const owner = probeEventOwner(name.slice(0, -5));
    if (!owner) continue;
    let record: NetRecord | undefined;
    try {
      record = JSON.parse(tryReadText(`${dir}/${name}`) ?? "");
    } catch {
      record = undefined;
    }
    out.push({ name, owner, record });
  }
  return out;
}

/** The rule of the tracefs sweep (sweep.ts classifyEvents) for one owner. Pure. */
export function ownerState(owner: EventOwner, me: Required<EventOwner>, startOf: (pid: number) => number | undefined): "stale" | "alive" | "foreign" {
  if (owner.pidns !== undefined && owner.pidns !== me.pidns) return "foreign";
  if (owner.pid === me.pid && (owner.start === undefined || owner.start === me.start)) return "alive";
  const start = startOf(owner.pid);
  return start === undefined || (owner.start !== undefined && start !== owner.start) ? "stale" : "alive";
}

// The next run and `bpfload cleanup`: undo the recorded attachments (records.ts) of bpfload
// processes that are gone, in this network namespace; never a live one's, never one made in
// another PID namespace (its pid means nothing here) or network namespace (nor its ifindex).
import { tryReadText } from "../../sys/files.ts";
import { listDir, readLink } from "../../sys/paths.ts";
import { processStartTime, selfOwner } from "../tracefs/sweep.ts";
import { detachCgroup } from "./cgroup.ts";
import { netnsInode } from "./common.ts";
import { listRecords, ownerState, removeRecord, RECORD_DIR, type NetRecord, type StoredRecord } from "./records.ts";
import { detachFlowDissector } from "./netns.ts";
import { detachTc } from "./tc.ts";
import { detachXdp } from "./xdp.ts";

export interface NetSweepResult {
  /** Undone: the program was still attached and is detached now. */
  removed: StoredRecord[];
  /** The record's program was no longer attached there: only the record was removed. */
  gone: StoredRecord[];
  alive: StoredRecord[];
  /** Made in another PID or network namespace: left for a cleanup run there. */
  foreign: StoredRecord[];
  failed: { record: StoredRecord; reason: string }[];
}

export function describeRecord(r: NetRecord | undefined): string {
  if (!r) return "an unreadable record";
  if (r.kind === "xdp") return `XDP program '${r.progName}' (id ${r.progId}) on ${r.iface}`;
  if (r.kind === "tc") return `tc program '${r.progName}' (id ${r.progId}) on ${r.iface} ${r.parent === 0xfffffff2 ? "ingress" : "egress"} (prio ${r.prio})`;
  if (r.kind === "flow_dissector") return `flow dissector program '${r.progName}' (id ${r.progId})`;
  return `cgroup program '${r.progName}' (id ${r.progId}) on ${r.path}`;
}

function undo(r: NetRecord): "removed" | "gone" {
  if (r.kind === "xdp") return detachXdp(r);
  if (r.kind === "tc") return detachTc(r);
  if (r.kind === "flow_dissector") return detachFlowDissector(r);
  return detachCgroup(r);
}

/**
 * The start time of a process that still runs; undefined for a zombie too: a SIGKILLed bpfload
 * whose parent has not reaped it yet holds no file descriptors, only its netlink attachments.
 */
function startOfLiving(pid: number): number | undefined {
  const stat = tryReadText(`/proc/${pid}/stat`);
  if (stat === undefined || statIsZombie(stat)) return undefined;
  return processStartTime(pid);
}

/** Field 3 of /proc/PID/stat, after the last ')' (comm may hold anything): Z for a zombie. Pure. */
export function statIsZombie(stat: string): boolean {
  return stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z");
}

/**
 * Does a network namespace still exist? Looked for where namespaces live: processes' ns/net and
 * the bind mounts of `ip netns` (/run/netns). One held only by an open fd elsewhere is not found:
 * its record is then dropped (its attachments stay, and go with the namespace).
 */
function netnsExists(inode: number): boolean {
  const want = `net:[${inode}]`;
  for (const pid of listDir("/proc")) {
    if (/^\d+$/.test(pid) && readLink(`/proc/${pid}/ns/net`) === want) return true;
  }
  const { statSync } = require("node:fs") as typeof import("node:fs");
  for (const name of listDir("/run/netns")) {
    try {
      if (statSync(`/run/netns/${name}`).ino === inode) return true;
    } catch {}
  }
  return false;
}

export function sweepNetRecords(dir = RECORD_DIR): NetSweepResult {
  const out: NetSweepResult = { removed: [], gone: [], alive: [], foreign: [], failed: [] };
  const me = selfOwner();
  const netns = netnsInode();
  for (const s of listRecords(dir)) {
    const state = ownerState(s.owner, me, startOfLiving);
    if (state === "alive") {
      out.alive.push(s);
      continue;
    }
    if (state === "foreign") {
      out.foreign.push(s);
      continue;
    }
    if (s.record && "netns" in s.record && s.record.netns !== netns) {
      if (netnsExists(s.record.netns)) {
        out.foreign.push(s);
      } else {
        removeRecord(s.name, dir); // the namespace is gone, and its interfaces with their programs
        out.gone.push(s);
      }
      continue;
    }
    try {
      const result = s.record ? undo(s.record) : "gone"; // unreadable: its run died before attaching
      removeRecord(s.name, dir);
      (result === "removed" ? out.removed : out.gone).push(s);
    } catch (e) {
      out.failed.push({ record: s, reason: (e as Error).message });
    }
  }
  return out;
}

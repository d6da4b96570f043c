// The next run and `bpfload cleanup`: undo the recorded attachments (records.ts) of bpfload
// processes that are gone, in this network namespace; never a live one's, never one made in
// another PID namespace (its pid means nothing here) or network namespace (nor its ifindex).
import { processStartTime, selfOwner } from "../sweep.ts";
import { detachCgroup } from "./cgroup.ts";
import { netnsInode } from "./common.ts";
import { listRecords, ownerState, removeRecord, RECORD_DIR, type NetRecord, type StoredRecord } from "./records.ts";
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
  return `cgroup program '${r.progName}' (id ${r.progId}) on ${r.path}`;
}

function undo(r: NetRecord): "removed" | "gone" {
  if (r.kind === "xdp") return detachXdp(r);
  if (r.kind === "tc") return detachTc(r);
  return detachCgroup(r);
}

export function sweepNetRecords(dir = RECORD_DIR): NetSweepResult {
  const out: NetSweepResult = { removed: [], gone: [], alive: [], foreign: [], failed: [] };
  const me = selfOwner();
  const netns = netnsInode();
  for (const s of listRecords(dir)) {
    const state = ownerState(s.owner, me, processStartTime);
    if (state === "alive") {
      out.alive.push(s);
      continue;
    }
    if (state === "foreign" || (s.record && "netns" in s.record && s.record.netns !== netns)) {
      out.foreign.push(s);
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

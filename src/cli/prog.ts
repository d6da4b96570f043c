// `bpfload prog list | show PROG`: the kernel's programs by id, pin path or name:NAME.
import { listPrograms, openProgram, programInfo, UsageError, type ProgInfo } from "../index.ts";
import type { Output } from "./output.ts";

const USAGE = "bpfload prog list | show PROG  (PROG: id, pin path or name:NAME)";

function infoText(i: ProgInfo): string {
  const stats = i.runCount ? `  run_cnt ${i.runCount}  run_time_ns ${i.runTimeNs}` : "";
  return `${i.id}: ${i.type}  name ${i.name || "-"}  tag ${i.tag}\n\tloaded ${i.loadTime.toFixed(0)} s after boot  uid ${i.uid}  xlated ${i.xlatedBytes}B  jited ${i.jitedBytes}B${i.mapIds.length ? `  map_ids ${i.mapIds.join(",")}` : ""}${i.btfId ? `  btf_id ${i.btfId}` : ""}${stats}`;
}

function infoJson(i: ProgInfo): Record<string, unknown> {
  return { id: i.id, progType: i.type, name: i.name, tag: i.tag, loadTime: i.loadTime, uid: i.uid, xlatedBytes: i.xlatedBytes, jitedBytes: i.jitedBytes, mapIds: i.mapIds, btfId: i.btfId, runCount: i.runCount, runTimeNs: i.runTimeNs };
}

function show(out: Output, i: ProgInfo): void {
  out.result(infoText(i), infoJson(i));
}

export function runProg(out: Output, action: string, args: string[] = []): number {
  if (action === "list") {
    if (args.length) throw new UsageError(`prog list takes no arguments (${USAGE})`);
    for (const i of listPrograms()) show(out, i);
    return 0;
  }
  if (action === "show") {
    if (args.length !== 1) throw new UsageError(`prog show: give one program (${USAGE})`);
    using prog = openProgram(args[0]!);
    show(out, programInfo(prog));
    return 0;
  }
  throw new UsageError(`unknown prog action '${action}': ${USAGE}`);
}

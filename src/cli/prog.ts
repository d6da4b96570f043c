// `bpfload prog list | show PROG`: the kernel's programs by id, pin path or name:NAME.
import { UsageError } from "../index.ts";
import { openProgById, openProgRef, parseObjectRef, progIds, progInfoOf, type ProgInfo } from "../kernel/objects.ts";
import { close } from "../sys/fd.ts";
import type { Output } from "./output.ts";

const USAGE = "bpfload prog list | show PROG  (PROG: id, pin path or name:NAME)";

function infoText(i: ProgInfo): string {
  const stats = i.runCount ? `  run_cnt ${i.runCount}  run_time_ns ${i.runTimeNs}` : "";
  return `${i.id}: ${i.type}  name ${i.name || "-"}  tag ${i.tag}\n\tloaded ${i.loadTime.toFixed(0)} s after boot  uid ${i.uid}  xlated ${i.xlatedBytes}B  jited ${i.jitedBytes}B${i.mapIds.length ? `  map_ids ${i.mapIds.join(",")}` : ""}${i.btfId ? `  btf_id ${i.btfId}` : ""}${stats}`;
}

function infoJson(i: ProgInfo): Record<string, unknown> {
  return { id: i.id, progType: i.type, name: i.name, tag: i.tag, loadTime: i.loadTime, uid: i.uid, xlatedBytes: i.xlatedBytes, jitedBytes: i.jitedBytes, mapIds: i.mapIds, btfId: i.btfId, runCount: i.runCount, runTimeNs: i.runTimeNs };
}

function showFd(out: Output, fd: number): void {
  try {
    const i = progInfoOf(fd);
    out.result(infoText(i), infoJson(i));
  } finally {
    close(fd);
  }
}

export function runProg(out: Output, action: string, args: string[] = []): number {
  if (action === "list") {
    if (args.length) throw new UsageError(`prog list takes no arguments (${USAGE})`);
    for (const id of progIds()) {
      const fd = openProgById(id);
      if (fd !== undefined) showFd(out, fd);
    }
    return 0;
  }
  if (action === "show") {
    if (args.length !== 1) throw new UsageError(`prog show: give one program (${USAGE})`);
    showFd(out, openProgRef(parseObjectRef(args[0]!, "program")));
    return 0;
  }
  throw new UsageError(`unknown prog action '${action}': ${USAGE}`);
}

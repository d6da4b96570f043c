// perf_event sampling programs: a software cpu-clock event per CPU at the asked frequency.
import { formatAttachSpec, type AttachSpec } from "../../attach-spec.ts";
import { ERRNO } from "../../errors.ts";
import { perfEventOpen } from "../../sys/perf.ts";
import { PERF_COUNT_SW_CPU_CLOCK, PERF_TYPE_SOFTWARE } from "../../uapi.ts";
import { possibleCpus } from "../map.ts";
import { attachError, attachToPerfFd, MultiLink, type Link } from "./perf-link.ts";
import type { Program } from "../program.ts";

/** Online CPUs as perf wants them (possible CPUs that are offline refuse with ENODEV: skipped). */
export function attachPerfEvent(prog: Program, spec: AttachSpec & { kind: "perf_event" }, freq: number): Link {
  const target = formatAttachSpec(spec);
  const links: Link[] = [];
  let lastErrno = 0;
  try {
    for (let cpu = 0; cpu < possibleCpus(); cpu++) {
      const open = perfEventOpen({ type: PERF_TYPE_SOFTWARE, config: PERF_COUNT_SW_CPU_CLOCK, sampleFreq: freq, cpu });
      if (open.ret < 0) {
        lastErrno = open.errno;
        continue;
      }
      links.push(attachToPerfFd(prog, open.ret, `${target} cpu ${cpu}`, {}));
    }
  } catch (e) {
    for (const l of links) l.close();
    throw e;
  }
  if (!links.length) throw attachError(prog, target, "perf_event_open", lastErrno || ERRNO.ENODEV);
  return new MultiLink(`${target} at ${freq} Hz on ${links.length} CPUs`, links);
}

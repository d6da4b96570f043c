// Records what the running kernel answers to every feature probe: each call a probe makes through
// the ProbeKernel seam, with its result, as one JSON line on stdout. Run on the VM rig's kernels
// (compiled with `bun build --compile`) to produce the recorded answers in recorded.ts:
//   bun test/kernel/features/record.ts            (as root; on the host or in a guest)
import { liveKernel, type ProbeKernel } from "../../../src/kernel/features/kernel.ts";
import { FEATURE_IDS, FEATURES } from "../../../src/kernel/features/probes.ts";
import { kernelVersion } from "../../../src/kernel/program.ts";
import { tryReadText } from "../../../src/sys/files.ts";
import type { RecordedCall } from "./replay.ts";

function recording(calls: RecordedCall[]): ProbeKernel {
  return {
    progLoad: (a) => {
      const r = liveKernel.progLoad(a);
      calls.push({ call: "progLoad", progType: a.progType, ok: r.ret >= 0, errno: r.errno, logTrueSize: r.logTrueSize, log: r.log.trim().split("\n").slice(-2).join(" | ") || undefined });
      return r;
    },
    mapCreate: (a) => {
      const r = liveKernel.mapCreate(a);
      calls.push({ call: "mapCreate", ok: r.ret >= 0, errno: r.errno });
      return r;
    },
    btfLoad: (blob) => {
      const r = liveKernel.btfLoad(blob);
      calls.push({ call: "btfLoad", ok: r.ret >= 0, errno: r.errno, log: r.log.trim().split("\n").slice(-1)[0] || undefined });
      return r;
    },
    linkCreateErrno: () => {
      const errno = liveKernel.linkCreateErrno();
      calls.push({ call: "linkCreateErrno", ok: false, errno });
      return errno;
    },
    linkCreate: (a) => {
      const errno = liveKernel.linkCreate(a);
      calls.push({ call: "linkCreate", kind: String(a.attachType), ok: errno === 0, errno });
      return errno;
    },
    close: (fd) => liveKernel.close(fd),
    hasPmu: (kind) => {
      const ok = liveKernel.hasPmu(kind);
      calls.push({ call: "hasPmu", kind, ok, errno: 0 });
      return ok;
    },
    hasTracefsFile: (name) => {
      const ok = liveKernel.hasTracefsFile(name);
      calls.push({ call: "hasTracefsFile", kind: name, ok, errno: 0 });
      return ok;
    },
    readTracefsFile: (name) => {
      const text = liveKernel.readTracefsFile(name);
      // Only the kprobe_events syntax lines of README are kept: what the maxactive probe reads.
      const kept = text?.split("\n").filter((l) => /Format:|^\s*r\[|p\|r\[/.test(l)).join("\n");
      calls.push({ call: "readTracefsFile", kind: name, ok: text !== undefined, errno: 0, log: kept });
      return kept;
    },
    syscallTracepointRefusal: () => {
      const why = liveKernel.syscallTracepointRefusal();
      calls.push({ call: "syscallTracepointRefusal", ok: why === undefined, errno: 0, log: why });
      return why;
    },
    versionCode: () => liveKernel.versionCode(),
  };
}

const features: Record<string, { answer?: boolean; configured?: boolean; calls: RecordedCall[] }> = {};
for (const id of FEATURE_IDS) {
  const calls: RecordedCall[] = [];
  const k = recording(calls);
  const answer = FEATURES[id].probe?.(k);
  const configured = FEATURES[id].configured?.(k);
  features[id] = { answer, configured, calls };
}
const release = tryReadText("/proc/sys/kernel/osrelease")?.trim();
console.log(`FEATREC ${JSON.stringify({ release, versionCode: kernelVersion().code, features })}`);

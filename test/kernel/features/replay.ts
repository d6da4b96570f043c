// A ProbeKernel that answers with what a real kernel answered (recorded.ts, made by record.ts), in
// the order the probe asked. A probe that asks something else than was recorded fails loudly: a
// recorded answer is only evidence for the question it answered.
import type { ProbeKernel } from "../../../src/kernel/features/kernel.ts";

export interface RecordedCall {
  call: "progLoad" | "mapCreate" | "btfLoad" | "linkCreateErrno" | "linkCreate" | "hasPmu" | "hasTracefsFile" | "readTracefsFile" | "syscallTracepointRefusal";
  /** progLoad: the program type asked for; hasPmu/hasTracefsFile: what was asked about. */
  progType?: number;
  kind?: string;
  ok: boolean;
  errno: number;
  logTrueSize?: number;
  /** The end of the verifier/BTF log, or the refusal's reason. */
  log?: string;
}

/** `unasked()`: recorded calls the probe did not make (0 when it asked exactly what was recorded). */
export function replayKernel(calls: RecordedCall[], versionCode: number): ProbeKernel & { unasked(): number } {
  let next = 0;
  const take = (call: RecordedCall["call"], detail?: { progType?: number; kind?: string }): RecordedCall => {
    const c = calls[next++];
    if (!c || c.call !== call || (detail?.progType !== undefined && c.progType !== detail.progType) || (detail?.kind !== undefined && c.kind !== detail.kind)) {
      throw new Error(`probe asked ${call}${JSON.stringify(detail ?? {})} but the recording has ${JSON.stringify(c)} at call ${next - 1}`);
    }
    return c;
  };
  const fd = (c: RecordedCall) => (c.ok ? 100 + next : -1);
  return {
    progLoad: (a) => {
      const c = take("progLoad", { progType: a.progType });
      return { ret: fd(c), errno: c.errno, log: c.log ?? "", logTrueSize: c.logTrueSize ?? 0 };
    },
    mapCreate: () => {
      const c = take("mapCreate");
      return { ret: fd(c), errno: c.errno };
    },
    btfLoad: () => {
      const c = take("btfLoad");
      return { ret: fd(c), errno: c.errno, log: c.log ?? "" };
    },
    linkCreateErrno: () => take("linkCreateErrno").errno,
    // kind: the attach type asked for
    linkCreate: (a) => take("linkCreate", { kind: String(a.attachType) }).errno,
    close: () => {},
    hasPmu: (kind) => take("hasPmu", { kind }).ok,
    hasTracefsFile: (name) => take("hasTracefsFile", { kind: name }).ok,
    readTracefsFile: (name) => {
      const c = take("readTracefsFile", { kind: name });
      return c.ok ? (c.log ?? "") : undefined;
    },
    syscallTracepointRefusal: () => {
      const c = take("syscallTracepointRefusal");
      return c.ok ? undefined : (c.log ?? "refused");
    },
    versionCode: () => versionCode,
    unasked: () => calls.length - next,
  };
}

// One entry point from an attach spec to the attach function of its kind.
import type { AttachSpec } from "../attach-spec.ts";
import { attachKprobe, type KprobeAttachInfo } from "./kprobe.ts";
import type { Link } from "./perf-link.ts";
import type { Program } from "./program.ts";
import { attachTracepoint } from "./tracepoint.ts";

export interface AttachNotes {
  /** A kprobe went to a different symbol than the one written (syscall name resolution). */
  onKprobe?: (info: KprobeAttachInfo) => void;
}

export function attach(prog: Program, spec: AttachSpec, notes: AttachNotes = {}): Link {
  switch (spec.kind) {
    case "kprobe":
    case "kretprobe":
      return attachKprobe(prog, spec, notes.onKprobe);
    case "tracepoint":
      return attachTracepoint(prog, spec);
  }
}

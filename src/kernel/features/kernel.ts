// The seam between the feature probes and the live kernel: every probe asks through this small
// interface, so unit tests can hand it recorded kernel answers instead (test/kernel/features.test.ts).
import { bpfBtfLoad, bpfLinkCreate, bpfLinkCreateProbe, bpfMapCreate, type LinkCreateArgs, type MapCreateArgs, type ProgLoadArgs, type ProgLoadResult } from "../../sys/bpf.ts";
import type { SysResult } from "../../sys/libc.ts";
import { close } from "../../sys/fd.ts";
import { exists, tryReadText } from "../../sys/files.ts";
import { hasControl, tracefs } from "../tracefs/tracefs.ts";

// Loaded on the first probe: importing the probes' table (FEATURE_IDS, "bpfload") must not load the loader.
const program = () => require("../program.ts") as typeof import("../program.ts");
const probePmu = (kind: "kprobe" | "uprobe") => (require("../attach/probe-pmu.ts") as typeof import("../attach/probe-pmu.ts")).probePmu(kind);
const attachTracepoint: typeof import("../attach/tracepoint.ts").attachTracepoint = (...a) => (require("../attach/tracepoint.ts") as typeof import("../attach/tracepoint.ts")).attachTracepoint(...a);

export interface ProbeKernel {
  /** BPF_PROG_LOAD (a.askLogTrueSize: 6.4+ reports log_true_size; a.claimedLogSize: see ProgLoadArgs). */
  progLoad(a: ProgLoadArgs): ProgLoadResult;
  mapCreate(a: MapCreateArgs): SysResult;
  btfLoad(blob: Uint8Array): SysResult & { log: string };
  /** errno of BPF_LINK_CREATE with prog_fd -1: EBADF when the command exists. */
  linkCreateErrno(): number;
  /** BPF_LINK_CREATE of a probe's program (a link made is closed at once): 0 when made, else the errno. */
  linkCreate(a: LinkCreateArgs): number;
  close(fd: number): void;
  /** Does sysfs list this perf PMU (/sys/bus/event_source/devices/KIND)? */
  hasPmu(kind: "kprobe" | "uprobe"): boolean;
  /** Does tracefs have this control file (kprobe_events, uprobe_events)? */
  hasTracefsFile(name: string): boolean;
  /** A tracefs file's text (README), undefined when absent. */
  readTracefsFile(name: string): string | undefined;
  /** Attach a tracepoint program to syscalls:sys_enter_getpid for real: undefined, or why not. */
  syscallTracepointRefusal(): string | undefined;
  /** LINUX_VERSION_CODE to send as kern_version. */
  versionCode(): number;
}

/** r0 = 0; exit */
const RETURN_0 = new Uint8Array([0xb7, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0]);

function tracefsOrUndefined(): string | undefined {
  try {
    return tracefs();
  } catch {
    return undefined;
  }
}

export const liveKernel: ProbeKernel = {
  progLoad: (a) => {
    program().ensureMemlockLimit(); // before 5.11 even a probe's program is charged to RLIMIT_MEMLOCK
    return program().progLoadSeam.load(a); // the seam tests swap for a fake kernel
  },
  mapCreate: (a) => {
    program().ensureMemlockLimit();
    return bpfMapCreate(a);
  },
  btfLoad: (blob) => bpfBtfLoad(blob, 4096),
  linkCreateErrno: () => bpfLinkCreateProbe(),
  linkCreate: (a) => {
    const r = bpfLinkCreate(a);
    if (r.ret >= 0) close(r.ret);
    return r.ret >= 0 ? 0 : r.errno;
  },
  close: (fd) => close(fd),
  hasPmu: (kind) => !!probePmu(kind),
  hasTracefsFile: (name) => !!tracefsOrUndefined() && hasControl(name),
  readTracefsFile: (name) => {
    const t = tracefsOrUndefined();
    return t ? tryReadText(`${t}/${name}`) : undefined;
  },
  syscallTracepointRefusal: () => {
    const t = tracefsOrUndefined();
    if (!t) return "no tracefs";
    if (!exists(`${t}/events/syscalls/sys_enter_getpid`)) return "no syscalls:* events (CONFIG_FTRACE_SYSCALLS off)";
    try {
      const prog = program().loadProgram({ name: "probe", type: "tracepoint", insns: RETURN_0 });
      try {
        attachTracepoint(prog, { kind: "tracepoint", category: "syscalls", name: "sys_enter_getpid" }).close();
        return undefined;
      } finally {
        prog.close();
      }
    } catch (e) {
      return (e as Error).message;
    }
  },
  versionCode: () => program().kernelVersion().code,
};

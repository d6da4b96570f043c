// `bpfload hello`: the seed article in one command. Its 13 instructions go on the clone syscall
// (a kprobe where the kernel has kprobes, else the best tracepoint this kernel has for clone), a
// few short child processes trigger it, and the "Hello World!" lines show up here.
import { formatVersionCode, hasFeature, hasProbes, hasTracepoint, HELLO_INSNS, HELLO_MESSAGE, loadProgram, parseAttachSpec, progTypeFor, SystemError, type AttachSpec, type ProgTypeName } from "../index.ts";
import { resolveKernVersion } from "./load.ts";
import type { Output } from "./output.ts";
import { attachAndWatch, prepareSession } from "./session.ts";

export interface HelloOptions {
  duration?: number;
  count?: number;
  kernVersion?: string;
  /** Force the attach point (e.g. to try the tracepoint on a kernel with kprobes). */
  attach?: string;
}

export const HELLO_DEFAULT_SECONDS = 3;

/** The attach point for clone on this kernel, and why. */
function chooseAttach(): { spec: AttachSpec; type: ProgTypeName; why: string } {
  if (hasProbes("kprobe")) {
    return { spec: parseAttachSpec("kprobe:sys_clone"), type: "kprobe", why: "kprobe on the clone syscall, as the seed article does" };
  }
  if (hasTracepoint("syscalls", "sys_enter_clone") && hasFeature("syscallTracepoints")) {
    return { spec: parseAttachSpec("tracepoint:syscalls:sys_enter_clone"), type: "tracepoint", why: "this kernel has no kprobes: using the clone syscall's tracepoint" };
  }
  if (hasTracepoint("raw_syscalls", "sys_enter")) {
    return { spec: parseAttachSpec("tracepoint:raw_syscalls:sys_enter"), type: "tracepoint", why: "this kernel has neither kprobes nor BPF on syscall tracepoints (4.14+): using raw_syscalls:sys_enter, which fires on every syscall" };
  }
  throw new SystemError("this kernel has no kprobes and no syscall tracepoints: nothing to attach the hello program to");
}

/** Runs `sh -c 'true & wait'`: the shell's fork goes through the clone syscall. */
function forkSomething(): void {
  try {
    Bun.spawn(["/bin/sh", "-c", "true & wait"], { stdin: "ignore", stdout: "ignore", stderr: "ignore" });
  } catch {
    // no /bin/sh: other processes on the machine will have to trigger the probe
  }
}

export async function runHello(out: Output, opts: HelloOptions): Promise<number> {
  const kernVersion = resolveKernVersion(opts.kernVersion);
  const chosen = opts.attach
    ? (() => {
        const spec = parseAttachSpec(String(opts.attach));
        return { spec, type: progTypeFor(spec), why: "attach point given" };
      })()
    : chooseAttach(); // the running kernel decides (by probing), whatever --kern-version says
  out.info(`hello: the seed's 13 instructions; ${chosen.why}`);
  // trace_pipe (one reader) and a uprobe target are checked before anything is loaded
  const pipe = prepareSession(out, [chosen.spec], { watch: opts.duration !== 0 });
  let prog: ReturnType<typeof loadProgram>;
  try {
    prog = loadProgram({ name: "hello", type: chosen.type, insns: HELLO_INSNS, kernVersion });
  } catch (e) {
    pipe?.close();
    throw e;
  }
  try {
    out.event("loaded", { program: "hello", progType: chosen.type, insns: 13, fd: prog.fd, kernVersion: kernVersion.code, kernVersionSource: kernVersion.source }, `loaded 'hello' as a ${chosen.type} program; kern_version ${formatVersionCode(kernVersion.code)} from ${kernVersion.source}`);
    const duration = opts.duration ?? HELLO_DEFAULT_SECONDS;
    let hellos = 0;
    const triggers: ReturnType<typeof setTimeout>[] = [];
    const result = await attachAndWatch(out, [{ prog, spec: chosen.spec }], {
      pipe,
      duration,
      count: opts.count,
      onReady: () => {
        for (let i = 0; i < 3; i++) triggers.push(setTimeout(forkSomething, 100 + i * 300));
      },
      onTrace: (msg) => {
        if (msg.includes(HELLO_MESSAGE)) hellos++;
      },
    });
    for (const t of triggers) clearTimeout(t);
    out.event("exit", { reason: result.reason, lines: result.lines, hellos }, `${hellos} "${HELLO_MESSAGE}" lines in ${result.lines} trace lines; detached and cleaned up.`);
    if (opts.duration === undefined) out.info(`(hello stops after ${HELLO_DEFAULT_SECONDS} s: use --duration SECONDS to watch longer, or 'bpfload load FILE --attach ...' to run until Ctrl-C)`);
    if (hellos === 0 && result.reason !== "signal") {
      throw new SystemError(`no "${HELLO_MESSAGE}" line arrived: the probe did not fire or trace_pipe is read by another process (only one reader gets each line)`);
    }
    return 0;
  } finally {
    pipe?.close();
    prog.close();
  }
}

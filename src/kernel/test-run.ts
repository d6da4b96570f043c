// BPF_PROG_TEST_RUN (4.12+): run a loaded program on input bytes in the kernel, without
// attaching it: the return value, the kernel's own per-run duration, and the packet/context
// as the program left them. Refusals name what is missing and the version that brought it.
import { ERRNO, InvalidArgumentError, NotSupportedError, SyscallError, errnoName, opt, optionText, type OptionText } from "../errors.ts";
import { FEATURE_SINCE, PROG_TYPE_SINCE, newerThan, since } from "../since.ts";
import { bpfProgTestRun } from "../sys/bpf.ts";
import type { ProgTypeName } from "../uapi.ts";
import type { Program } from "./program.ts";

/** Program types that take a packet (data_in is the frame, from the Ethernet header on). */
export const PACKET_TYPES: ReadonlySet<ProgTypeName> = new Set<ProgTypeName>(["socket_filter", "sched_cls", "sched_act", "xdp", "lwt_in", "lwt_out", "lwt_xmit", "lwt_seg6local", "cgroup_skb", "flow_dissector", "sk_skb"]);

/** When each type got a test runner (bpf_prog_ops.test_run), where later than the command itself. */
const TEST_RUN_SINCE: Partial<Record<ProgTypeName, [number, number]>> = {
  socket_filter: [4, 12], sched_cls: [4, 12], sched_act: [4, 12], xdp: [4, 12], lwt_in: [4, 12], lwt_out: [4, 12], lwt_xmit: [4, 12],
  cgroup_skb: [4, 12], lwt_seg6local: [4, 18], flow_dissector: [4, 20], tracing: [5, 5], raw_tracepoint: [5, 10], sk_lookup: [5, 9], syscall: [5, 14], struct_ops: [5, 6],
  netfilter: [6, 5],
};

/**
 * Types whose test run takes a context and no packet: the kernel refuses data_in for them
 * (EINVAL), and for syscall and sk_lookup a context is required. syscall programs get their
 * context back in ctx_in (no ctx_out, no repeat: the kernel runs them once).
 */
const CTX_ONLY: Partial<Record<ProgTypeName, string | OptionText>> = {
  syscall: optionText`the program's own context struct (its argument), e.g. ${opt("ctx", "0100000002000000", "bytes 01 00 00 00 02 00 00 00")}`,
  sk_lookup: "a struct bpf_sk_lookup (family, protocol, remote and local address and port)",
  raw_tracepoint: "the tracepoint's arguments, u64 each",
};

export interface TestRunOptions {
  data?: Uint8Array;
  ctx?: Uint8Array;
  repeat?: number;
}

export interface TestRunResult {
  retval: number;
  /** Nanoseconds per run as the kernel measured it (average over `repeat`). */
  duration: number;
  repeat: number;
  dataOut: Uint8Array;
  ctxOut?: Uint8Array;
}

const { ENOSPC, ENOTSUPP, EINVAL } = ERRNO;

/** The refusals the kernel version tells before anything runs. */
export function checkTestRun(type: ProgTypeName, opts: TestRunOptions, kernelCode: number): void {
  const typeSince = TEST_RUN_SINCE[type];
  if (!typeSince) {
    throw new InvalidArgumentError("program", `${type} programs cannot be test-run: the kernel has a test runner for ${Object.keys(TEST_RUN_SINCE).join(", ")} programs`);
  }
  // every type's runner came with or after the command itself (4.12): the type's version is the one
  // to name (tracing on 4.9 needs 5.5, not 4.12)
  if (newerThan(typeSince, kernelCode)) throw new NotSupportedError(`BPF_PROG_TEST_RUN for ${type}`, since(typeSince));
  if (type === "raw_tracepoint" && opts.ctx && newerThan(FEATURE_SINCE["BPF_PROG_TEST_RUN ctx_in for raw_tracepoint"], kernelCode)) {
    throw new NotSupportedError("ctx_in for raw_tracepoint", since(FEATURE_SINCE["BPF_PROG_TEST_RUN ctx_in for raw_tracepoint"]));
  }
  const ctxOnly = CTX_ONLY[type];
  if (ctxOnly && opts.data) throw new InvalidArgumentError("data", optionText`a ${type} program takes no packet (the kernel refuses data_in for it): give ${opt("ctx")} with ${ctxOnly}`);
  // a syscall program that never reads its context runs without one (the kernel wants ctx_size_in
  // >= the largest offset the program reads); sk_lookup always needs its struct
  if (type === "sk_lookup" && !opts.ctx) throw new InvalidArgumentError("ctx", optionText`a test run of a ${type} program needs ${opt("ctx")}: ${ctxOnly}`);
  if (type === "syscall" && opts.repeat !== undefined && opts.repeat > 1) throw new InvalidArgumentError("repeat", optionText`the kernel runs a syscall program once per test run: ${opt("repeat")} does not apply`);
  if (PACKET_TYPES.has(type) && (!opts.data || opts.data.length < 14)) {
    throw new InvalidArgumentError("data", optionText`a ${type} program runs on a packet: give ${opt("data")} with at least an Ethernet header (14 bytes)${opt("pcap", undefined, "", ", or ")}`);
  }
  if (opts.repeat !== undefined && (!Number.isInteger(opts.repeat) || opts.repeat < 0 || opts.repeat > 0xffffffff)) {
    throw new InvalidArgumentError("repeat", `bad repeat count ${opts.repeat}: 1 to 4294967295`);
  }
}

/** What a test run needs of a program: one loaded here, or one the kernel had (a pin, an id). */
export type RunnableProgram = Pick<Program, "fd" | "name" | "type" | "kernVersion">;

export function testRun(prog: RunnableProgram, opts: TestRunOptions = {}): TestRunResult {
  checkTestRun(prog.type, opts, prog.kernVersion.code);
  const data = opts.data;
  // Room for what the program may add (bpf_xdp_adjust_head/tail, skb_change_tail): retried once
  // with the size the kernel says it needed.
  let dataOutSize = data?.length ? data.length + 512 : 0;
  // a syscall program's context comes back in ctx_in: the kernel refuses a ctx_out for it
  const ctxOutSize = prog.type === "syscall" ? 0 : (opts.ctx?.length ?? 0);
  for (let attempt = 0; ; attempt++) {
    const r = bpfProgTestRun({ progFd: prog.fd, data, dataOutSize, ctx: opts.ctx, ctxOutSize, repeat: opts.repeat });
    if (r.ret < 0 && r.errno === ENOSPC && attempt === 0 && r.dataSizeOut > dataOutSize) {
      dataOutSize = r.dataSizeOut;
      continue;
    }
    if (r.ret < 0) throw refusal(prog, opts, r.errno);
    const ctxOut = prog.type === "syscall" && opts.ctx?.length ? r.ctxInAfter : ctxOutSize ? r.ctxOut : undefined;
    return { retval: r.retval, duration: r.duration, repeat: opts.repeat || 1, dataOut: r.dataOut, ctxOut };
  }
}

function refusal(prog: RunnableProgram, opts: TestRunOptions, errno: number): Error {
  const what = `test run of '${prog.name}' (${prog.type})`;
  if (errno === ENOTSUPP || errno === 95 /* EOPNOTSUPP */) {
    return new NotSupportedError(`BPF_PROG_TEST_RUN for ${prog.type}`, since(TEST_RUN_SINCE[prog.type] ?? PROG_TYPE_SINCE[prog.type] ?? FEATURE_SINCE.BPF_PROG_TEST_RUN), "this kernel has no test runner for the type");
  }
  const hint =
    errno === EINVAL
      ? !opts.ctx && CTX_ONLY[prog.type]
        ? optionText`the program reads its context, which was not given: give ${opt("ctx")} with ${CTX_ONLY[prog.type]}`
        : opts.ctx
        ? optionText`the kernel refused the input: ${opt("ctx")} must be the program's context struct (e.g. struct __sk_buff, 192 bytes on 6.x, with only the fields the kernel lets a test set), or leave it out`
        : "the kernel refused the input: a packet must be at least 14 bytes (Ethernet header); some types take no data at all"
      : errno === 1 || errno === 13
        ? "run as root (CAP_BPF / CAP_SYS_ADMIN)"
        : undefined;
  return new SyscallError(what, "BPF_PROG_TEST_RUN", errno, hint ?? (errnoName(errno) === "E2BIG" ? optionText`the kernel's attr is older than the fields sent: drop ${opt("ctx")}` : undefined));
}

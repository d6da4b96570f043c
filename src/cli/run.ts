// `bpfload run FILE`: BPF_PROG_TEST_RUN of one program on given bytes (or each packet of a
// pcap file), without attaching anything: retval (and what it means for the type), the
// kernel's per-run duration, data_out/ctx_out as hex, and a packet's decoded headers.
//
// Start-up: only what every run needs is imported here; loading an object (load.ts, program.ts,
// the ELF reader) or opening a loaded program (objects.ts) is imported when that is the input,
// so `run PIN` costs little more than Bun's start (bpftool prog run's case).
import {
  checkTestRun, detectKernelVersion, isOnBpfFs, openProgram, readUserFile, takesPackets, testRun, UsageError,
  type KernelVersion, type ProgTypeName, type TestRunResult,
} from "../index.ts";
import type { RunnableProgram } from "../kernel/test-run.ts";
import { inputFileError, readInput } from "./input.ts";
import type { Output } from "./output.ts";
import { decodePacket, formatPacket, hex, parseHex, readPcap, verdictName } from "./packet.ts";

export interface RunOptions {
  program?: string;
  section?: string;
  type?: string;
  data?: string;
  ctx?: string;
  repeat?: number;
  pcap?: string;
  kernVersion?: string;
  /** --btf FILE: target BTF for CO-RE relocations. */
  btf?: string;
}

function readBytesOption(value: string, option: string): Uint8Array {
  if (!value.startsWith("@")) return parseHex(value, option);
  const path = value.slice(1);
  try {
    return readUserFile(path);
  } catch (e) {
    throw inputFileError(path, e);
  }
}

/** A program the kernel has already (as `bpftool prog run` takes): id:N, name:NAME or a pin on a BPF filesystem. */
function isLoadedProgRef(file: string): boolean {
  return /^(id:\d+|name:.+)$/.test(file) || isOnBpfFs(file);
}

/** The running kernel's version, or --kern-version's (parsed as load does). */
async function kernVersionFor(option: string | undefined): Promise<KernelVersion> {
  if (option !== undefined) return (await import("./load.ts")).resolveKernVersion(option);
  return detectKernelVersion();
}

async function openLoaded(file: string, opts: RunOptions): Promise<{ prog: RunnableProgram; close: () => void }> {
  if (opts.section || opts.program || opts.type) throw new UsageError(`${file} is a loaded program: --section, --program and --type do not apply`);
  const kernVersion = await kernVersionFor(opts.kernVersion);
  const loaded = openProgram(file, { kernVersion });
  try {
    const prog: RunnableProgram = { fd: loaded.fd, name: loaded.name, type: loaded.type, kernVersion };
    checkTestRun(prog.type, runInput(opts), kernVersion.code);
    return { prog, close: () => loaded.close() };
  } catch (e) {
    loaded.close();
    throw e;
  }
}

async function loadOne(out: Output, file: string, opts: RunOptions): Promise<{ prog: RunnableProgram; close: () => void }> {
  if (isLoadedProgRef(file)) return openLoaded(file, opts);
  const { parseProgType, resolveKernVersion } = await import("./load.ts");
  const { loadProgram } = await import("../kernel/program.ts");
  const type = opts.type !== undefined ? parseProgType(opts.type) : undefined;
  const kernVersion = resolveKernVersion(opts.kernVersion);
  const input = readInput(file);
  if (input.kind === "elf") {
    const { readObject } = await import("../elf/index.ts");
    const obj = await readObject(input.bytes, file);
    const matches = obj.programs.filter((p) => (opts.section === undefined || p.section === opts.section) && (opts.program === undefined || p.name === opts.program));
    const list = obj.programs.map((p) => `${p.name} (section ${p.section})`).join(", ");
    if (matches.length !== 1) {
      throw new UsageError(matches.length ? `${file} has ${matches.length} programs (${list}): pick one with --program` : `${file} has no such program: it has ${list || "none"}`);
    }
    const wanted = matches[0]!;
    const progType = type ?? wanted.progType;
    if (progType) checkTestRun(progType, runInput(opts), kernVersion.code); // refuse before loading
    const { loadCollection } = await import("../kernel/collection.ts");
    const { btfFileOption, lazyCoreTarget } = await import("../kernel/btf/core-target.ts");
    // with the object's BTF: callbacks and global functions need its func_info, sk_storage maps its types
    const col = loadCollection(obj, { select: (p) => p === wanted, type, kernVersion, elf: input.bytes, targetBtf: lazyCoreTarget(btfFileOption(opts.btf)) });
    return { prog: col.programs[0]!.program, close: () => col.close() };
  }
  if (!type) throw new UsageError(`cannot tell the program type of ${file}: give --type (e.g. socket_filter, xdp, sched_cls)`);
  if (opts.section || opts.program) throw new UsageError(`${file} is not an ELF object: --section and --program do not apply`);
  checkTestRun(type, runInput(opts), kernVersion.code);
  let insns: Uint8Array;
  if (input.kind === "asm") {
    const { assembleProgram } = await import("./asm.ts");
    insns = assembleProgram(input.text, file);
  } else insns = input.insns;
  const prog = loadProgram({ name: (file.split("/").pop() ?? "prog").replace(/\.[^.]*$/, "") || "prog", type, insns, kernVersion });
  return { prog, close: () => prog.close() };
}

let parsedInput: { data?: Uint8Array; ctx?: Uint8Array; repeat?: number } | undefined;
function runInput(opts: RunOptions) {
  parsedInput ??= {
    data: opts.data !== undefined ? readBytesOption(opts.data, "--data") : opts.pcap !== undefined ? new Uint8Array(64) : undefined,
    ctx: opts.ctx !== undefined ? readBytesOption(opts.ctx, "--ctx") : undefined,
    repeat: opts.repeat,
  };
  return parsedInput;
}

function verdictText(type: ProgTypeName, r: TestRunResult): string {
  const v = verdictName(type, r.retval);
  return `retval ${r.retval | 0}${v ? ` (${v})` : ""}`;
}

export async function runRun(out: Output, file: string, opts: RunOptions): Promise<number> {
  parsedInput = undefined;
  if (opts.pcap !== undefined && opts.data !== undefined) throw new UsageError("--pcap and --data both give the packet: use one");
  const packets = opts.pcap !== undefined ? readPcap(readBytesOption(`@${opts.pcap}`, "--pcap"), opts.pcap) : undefined;
  const input = runInput(opts);
  const { prog, close } = await loadOne(out, file, opts);
  try {
    if (packets) {
      if (!takesPackets(prog.type)) throw new UsageError(`--pcap: '${prog.name}' is a ${prog.type} program, which does not take packets`);
      const counts = new Map<string, number>();
      for (const p of packets) {
        const r = testRun(prog, { data: p.data, ctx: input.ctx, repeat: opts.repeat });
        const v = verdictName(prog.type, r.retval) ?? String(r.retval | 0);
        counts.set(v, (counts.get(v) ?? 0) + 1);
        const summary = decodePacket(p.data);
        out.result(`packet ${p.index}: ${verdictText(prog.type, r)}, ${p.data.length} bytes: ${formatPacket(summary)}`, {
          type: "packet", index: p.index, retval: r.retval | 0, verdict: verdictName(prog.type, r.retval), duration: r.duration, length: p.data.length, headers: summary,
          ...(hex(r.dataOut) !== hex(p.data) ? { dataOut: hex(r.dataOut) } : {}),
        });
      }
      out.event("summary", { packets: packets.length, verdicts: Object.fromEntries(counts) }, `${packets.length} packets: ${[...counts].map(([v, n]) => `${n} ${v}`).join(", ")}`);
      return 0;
    }
    const r = testRun(prog, input);
    const packet = takesPackets(prog.type);
    const json: Record<string, unknown> = { type: "run", program: prog.name, progType: prog.type, retval: r.retval | 0, verdict: verdictName(prog.type, r.retval), duration: r.duration, repeat: r.repeat };
    const lines = [verdictText(prog.type, r), `duration ${r.duration} ns per run (${r.repeat} run${r.repeat === 1 ? "" : "s"}, as the kernel measured)`];
    if (prog.type === "flow_dissector") {
      // the kernel hands back the dissector's struct bpf_flow_keys, not the packet
      lines.push(`flow_keys ${r.dataOut.length} bytes: ${hex(r.dataOut)}`);
      json.flowKeys = hex(r.dataOut);
    } else if (r.dataOut.length || input.data) {
      lines.push(`data_out ${r.dataOut.length} bytes${input.data && hex(r.dataOut) === hex(input.data) ? " (unchanged)" : ""}: ${hex(r.dataOut)}`);
      json.dataOut = hex(r.dataOut);
      if (packet) {
        const s = decodePacket(r.dataOut);
        lines.push(`  ${formatPacket(s)}`);
        json.headers = s;
      }
    }
    if (r.ctxOut) {
      lines.push(`ctx_out ${r.ctxOut.length} bytes: ${hex(r.ctxOut)}`);
      json.ctxOut = hex(r.ctxOut);
    }
    out.result(lines.join("\n"), json);
    return 0;
  } finally {
    close();
  }
}

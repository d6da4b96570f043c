// The command table: cac wiring, option validation, and the one place that turns errors into a
// single line and an exit code (0 ok, 1 the kernel or system refused, 2 bad usage or input).
import { cac, type CAC } from "cac";
import { BpfloadError, runCleanup, setup, UsageError, VerifierError } from "../index.ts";
import { quote } from "../errors.ts";
import { cliKind, cliMessage } from "./flags.ts";
import { loadFailureMessage } from "../load-failure.ts";
import { parseDecimal, parseInteger } from "../numbers.ts";
import { openFilesErrno } from "../sys/open-files.ts";
import { Output, stdoutWriter, writeFailure } from "./output.ts";

/** An integer CLI option: `--name` must be a whole number in [min, max]. */
export function integerOption(name: string, text: string, min: number, max: number): number {
  const n = parseInteger(text, { min: BigInt(min), max: BigInt(max) }, `--${name}`);
  if (n === undefined) throw new UsageError(`bad --${name} ${quote(text)}: give a whole number from ${min} to ${max}`);
  return n;
}

type Opts = Record<string, unknown>;

/** Repeated options become arrays in cac: the last one counts. (Values are the raw text: see rawValues.) */
function str(v: unknown): string | undefined {
  if (v === undefined || v === null || v === true) return undefined;
  return String(Array.isArray(v) ? v[v.length - 1] : v);
}

/** Every value of a repeatable option. */
function list(v: unknown): string[] {
  if (v === undefined || v === null || v === true) return [];
  return (Array.isArray(v) ? v : [v]).filter((x) => x !== true).map(String);
}

/** An option given at most once (a repeatable one of another command, e.g. --btf). */
function one(name: string, v: unknown): string | undefined {
  const all = list(v);
  if (v === true) throw new UsageError(`--${name} needs a value`);
  if (all.length > 1) throw new UsageError(`--${name} is given ${all.length} times: give it once`);
  return all[0];
}

function needed(name: string, v: unknown): string | undefined {
  if (v === true) throw new UsageError(`--${name} needs a value`);
  return str(v);
}

/** An integer option within [min, max] (1.5, -3, 1e99 and 0x1ffffffff beyond the range are refused). */
function int(name: string, v: unknown, min: number, max: number): number | undefined {
  const s = needed(name, v);
  return s === undefined ? undefined : integerOption(name, s, min, max);
}

/** Largest --duration: u32 seconds (136 years); watch.ts chains timers past setTimeout's 24.8 days. */
const MAX_DURATION_S = 0xffffffff;

function seconds(name: string, v: unknown): number | undefined {
  const s = needed(name, v);
  if (s === undefined) return undefined;
  const n = parseDecimal(s, MAX_DURATION_S, `--${name}`);
  if (n === undefined) throw new UsageError(`bad --${name} ${quote(s)}: give seconds (a number like 10 or 2.5)`);
  return n;
}

// Ranges the kernel has: kretprobe maxactive is at most KRETPROBE_MAXACTIVE_MAX (4096); log_level
// is a bit mask of 1, 2 and 4 (load.ts says which); the rest are u32 fields or counters.
const U32 = 0xffffffff;

/**
 * cac turns numeric-looking values into numbers (`--kern-version 4.10` → 4.1, `--pin 0123` → 123,
 * 1e99 → Infinity-ish): the values of options that take one are taken again from argv, as typed.
 */
function rawValues(cli: CAC, argv: string[]): Opts {
  const flags = new Map<string, string[]>();
  for (const o of [...cli.globalCommand.options, ...(cli.matchedCommand?.options ?? [])]) {
    if (o.isBoolean) continue;
    for (const f of o.rawName.split(/[\s,]+/)) if (f.startsWith("-")) flags.set(f, o.names); // -o and --output: both names
  }
  const out: Opts = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--") break;
    const eq = a.indexOf("=");
    const names = flags.get(eq > 0 ? a.slice(0, eq) : a);
    if (names === undefined) continue;
    const value = eq > 0 ? a.slice(eq + 1) : i + 1 < argv.length && !argv[i + 1]!.startsWith("-") ? argv[++i] : undefined; // as mri takes it
    if (value === undefined) continue;
    for (const n of names) out[n] = REPEATABLE.has(n) ? [...((out[n] as string[] | undefined) ?? []), value] : value;
  }
  return out;
}

/** Options that may be given several times (`--hist a --hist b`): all their values, in order. */
const REPEATABLE = new Set(["hist", "set", "map", "btf"]);

/** Every spelling of an option that takes a value (`--count`, `-o`), in any command. */
function valueFlags(cli: CAC): Set<string> {
  const flags = new Set<string>();
  for (const c of [cli.globalCommand, ...cli.commands]) {
    for (const o of c.options) if (!o.isBoolean) for (const f of o.rawName.split(/[\s,]+/)) if (f.startsWith("-")) flags.add(f);
  }
  return flags;
}

/**
 * mri reads `--count -3` as --count without a value and an unknown option -3: join a negative
 * number to its option (`--count=-3`) so the range check says what is wrong with it.
 */
function joinNegativeValues(cli: CAC, argv: string[]): string[] {
  const flags = valueFlags(cli);
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const next = argv[i + 1];
    if (a === "--") {
      out.push(...argv.slice(i));
      break;
    }
    if (flags.has(a) && next !== undefined && /^-[0-9.]/.test(next)) {
      out.push(`${a}=${next}`);
      i++;
    } else {
      out.push(a);
    }
  }
  return out;
}

/**
 * cac hands mri its boolean options by camelCase name, so a dashed one (`--load-only`) is not known
 * as boolean and swallows the next argument (`load --no-attach FILE`): spell those camelCase.
 */
function booleanFlags(cli: CAC): Map<string, string> {
  const map = new Map<string, string>([["--no-attach", "--loadOnly"]]); // cac would negate --attach <spec>
  for (const c of [cli.globalCommand, ...cli.commands]) {
    for (const o of c.options) {
      if (!o.isBoolean || o.negated) continue;
      for (const f of o.rawName.split(/[\s,]+/)) if (f.startsWith("--") && f.slice(2).includes("-")) map.set(f, `--${o.names[0]}`);
    }
  }
  return map;
}

/** cac prints help and version with console.info: send that through stdout's writer too. */
function throughWriter<T>(fn: () => T): T {
  const info = console.info;
  console.info = (...args: unknown[]) => void stdoutWriter.write(`${args.join(" ")}\n`);
  try {
    return fn();
  } finally {
    console.info = info;
  }
}

function output(o: Opts): Output {
  return new Output({ json: !!o.json, verbose: !!o.verbose });
}

/** Every command, in the order build registers them (a test checks the two agree). */
export const COMMAND_NAMES = ["load", "run", "hello", "cleanup", "disasm", "extract", "asm", "map", "prog", "btf", "probe"];

/**
 * The cac command table. With `only`, just that command (and the global options): cac runs mri once
 * per registered command while parsing: building and parsing with all ten took ~1.45 ms of a one-shot
 * run, with one ~1.0 ms (compiled executable). argv naming one command can match no other.
 */
export function build(version: string, run: (p: Promise<number>, o: Opts) => void, only?: string): CAC {
  const wanted = (name: string) => only === undefined || name === only;
  const cli = cac("bpfload");
  cli.option("--json", "One JSON object per result or event line on stdout");
  cli.option("--verbose", "Say more: kern_version source, probe names, file descriptors");

  if (wanted("load")) cli
    .command("load <file>", "Load an eBPF program (raw instructions, ELF object or .s), attach it and stream trace_pipe")
    .option("--section <name>", "ELF section of the program (default: the only program)")
    .option("--program <name>", "Program by function name, in an object with several")
    .option("--type <type>", "Program type: kprobe, tracepoint, socket_filter, ... (default: from --attach or the section name)")
    .option("--attach <spec>", "kprobe:FUNC[+OFF], kretprobe:FUNC, tracepoint:CAT:NAME, raw_tracepoint:NAME, uprobe:PATH:SYMBOL[+OFF] or uprobe:PATH:0xOFFSET, uretprobe:PATH:SYMBOL, perf_event, socket:IFACE, xdp:IFACE[:generic|native], tc:IFACE:ingress|egress, cgroup:PATH[:TYPE], flow_dissector, sk_lookup[:NETNS], netfilter:ipv4|ipv6:HOOK[:PRIO], tp_btf:NAME, fentry:FUNC, fexit:FUNC, fmod_ret:FUNC, lsm:HOOK, iter:TARGET")
    .option("--probe-api <api>", "kprobes/uprobes through 'pmu' (perf PMU, 4.17+) or 'tracefs' (kprobe_events); default: pmu where available")
    .option("--maxactive <n>", "kretprobe instances (tracefs, 4.12+)")
    .option("--freq <hz>", "perf_event programs: samples per second on each CPU (default 49)")
    .option("--net-api <api>", "xdp, tc and cgroup hooks through 'link' (bpf_link: xdp 5.9+, tcx 6.6+, cgroup 5.7+) or 'netlink' (netlink and BPF_PROG_ATTACH, as before links); default: link, else netlink")
    .option("--license <license>", "License string given to the kernel (default: the object's, else GPL)")
    .option("--kern-version <version>", "kern_version to send (4.9.228 or 0x409e4); default: detected from the running kernel")
    .option("--log-level <level>", "Always fetch the verifier log at this level (1, 2, 4) and print it")
    .option("--duration <seconds>", "Detach and exit after this many seconds (0: right after attaching)")
    .option("--count <lines>", "Detach and exit after this many trace lines")
    .option("--pin <dir>", "Pin the programs and maps in this BPF-filesystem directory (mounts /sys/fs/bpf if needed)")
    .option("--hist <map>", "Draw this map as a histogram at exit: MAP[:log2|linear[:STEP]] (keys: bucket indexes; repeatable)")
    .option("--interval <seconds>", "While watching, reprint the histograms (and other maps' counters as rates) every S seconds")
    .option("--load-only", "Only load the program and report, do not attach (also: --no-attach)")
    .option("--set <name=value>", "Set a global variable (const volatile in .rodata, or .data/.bss) before loading; repeatable")
    .option("--map <name:max_entries=N>", "Size a map before creating it: NAME:max_entries=N[,value_size=M]; repeatable")
    .option("--btf <file>", "Target BTF for CO-RE relocations on a kernel without /sys/kernel/btf/vmlinux: a BTFHub .btf or .btf.tar.xz, or a vmlinux with .BTF (default: $BPFLOAD_BTF, else the kernel's)")
    .option("--decode <map=type>", "Decode the records of a ringbuf/perf_event_array map as this BTF struct (default: the one struct named event or *_event, else hex)")
    .option("--target <prog:func>", "freplace programs: the loaded program and its global function they replace, PROG_ID:FUNC or PIN_PATH:FUNC (FUNC may come from the section freplace/FUNC)")
    .example("bpfload load test_bpf --attach kprobe:sys_clone")
    .example("bpfload load test_bpf.o --section kprobe/sys_clone --duration 10")
    .example("bpfload load prog.bin --type tracepoint --attach tracepoint:syscalls:sys_enter_clone --count 5 --json")
    .example("bpfload load test_bpf --attach uprobe:/bin/bash:readline")
    .example("bpfload load counters.o --no-attach    # does it load? (exit 0 when every program loaded)")
    .action(async (file: string, o: Opts) => {
      const { runLoad } = await import("./load.ts");
      run(
        runLoad(output(o), file, {
          section: str(o.section),
          program: str(o.program),
          type: str(o.type),
          attach: str(o.attach),
          license: str(o.license),
          kernVersion: str(o.kernVersion),
          logLevel: int("log-level", o.logLevel, 1, 7),
          duration: seconds("duration", o.duration),
          count: int("count", o.count, 1, U32),
          attachProgram: !o.loadOnly,
          probeApi: str(o.probeApi),
          maxactive: int("maxactive", o.maxactive, 1, 4096),
          freq: int("freq", o.freq, 1, U32),
          pin: str(o.pin),
          set: o.set === undefined ? undefined : ([] as unknown[]).concat(o.set).map(String),
          maps: o.map === undefined ? undefined : ([] as unknown[]).concat(o.map).map(String),
          decode: list(o.decode),
          netApi: str(o.netApi),
          hist: o.hist === undefined ? undefined : (Array.isArray(o.hist) ? o.hist : [o.hist]).map(String),
          interval: seconds("interval", o.interval),
          target: str(o.target),
          btf: one("btf", o.btf),
        }),
        o,
      );
    });

  if (wanted("run")) cli
    .command("run <file>", "Run a program once (or --repeat N times) on given bytes with BPF_PROG_TEST_RUN: retval, duration, data out")
    .option("--program <name>", "Program by function name, in an object with several")
    .option("--section <name>", "Program by ELF section")
    .option("--type <type>", "Program type, for raw instructions or to override the section's")
    .option("--data <hex>", "Packet / data_in: hex bytes, or @FILE for a file's raw bytes")
    .option("--ctx <hex>", "Context (ctx_in): hex bytes, or @FILE (e.g. struct __sk_buff fields; raw_tracepoint args)")
    .option("--repeat <n>", "Run this many times; the duration is the kernel's average per run")
    .option("--pcap <file>", "Run on each packet of a pcap capture and print a verdict per packet")
    .option("--kern-version <version>", "kern_version to send; default: detected")
    .option("--btf <file>", "Target BTF for CO-RE relocations (default: $BPFLOAD_BTF, else the kernel's)")
    .example("bpfload run filter.o --data @packet.bin")
    .example("bpfload run xdp.o --program xdp_verdict --pcap trace.pcap")
    .example("bpfload run xdp.o --data 'ff ff ff ff ff ff ...' --repeat 1000000")
    .action(async (file: string, o: Opts) => {
      const { runRun } = await import("./run.ts");
      run(runRun(output(o), file, { program: str(o.program), section: str(o.section), type: str(o.type), data: needed("data", o.data), ctx: needed("ctx", o.ctx), repeat: int("repeat", o.repeat, 1, U32), pcap: needed("pcap", o.pcap), kernVersion: str(o.kernVersion), btf: one("btf", o.btf) }), o);
    });

  if (wanted("hello")) cli
    .command("hello", "Run the built-in example: the seed article's Hello World program on the clone syscall")
    .option("--duration <seconds>", "Watch this long (default 3)")
    .option("--count <lines>", "Stop after this many trace lines")
    .option("--attach <spec>", "Attach elsewhere than the clone syscall")
    .option("--kern-version <version>", "kern_version to send; default: detected")
    .example("bpfload hello")
    .example("bpfload hello --duration 30 --json")
    .action(async (o: Opts) => {
      const { runHello } = await import("./hello.ts");
      run(runHello(output(o), { duration: seconds("duration", o.duration), count: int("count", o.count, 1, U32), attach: str(o.attach), kernVersion: str(o.kernVersion) }), o);
    });

  if (wanted("cleanup")) cli
    .command("cleanup", "Remove probe events left behind by bpfload processes that were killed (never anyone else's)")
    .example("bpfload cleanup")
    .action(async (o: Opts) => {
      const { runCleanup: sweep } = await import("./cleanup.ts");
      run(Promise.resolve().then(() => sweep(output(o))), o);
    });

  if (wanted("disasm")) cli
    .command("disasm <file>", "Disassemble raw instructions, an ELF object or a .s file (llvm-objdump's output, or the verifier's)")
    .option("--syntax <syntax>", "llvm (default: exactly llvm-objdump -dr of LLVM 14) or kernel (as the verifier log and bpftool print it)")
    .option("--modern", "Spell ISA v4 instructions as current LLVM does (LLVM 14 prints them as <unknown>)")
    .option("--no-relocs", "Leave out the relocation lines (llvm-objdump -d instead of -dr)")
    .option("--section <name>", "Only this section of an object")
    .option("-S, --source", "Interleave the C source lines (from the object's .BTF.ext line info, clang -g), as llvm-objdump -S does")
    .example("bpfload disasm test_bpf.o")
    .example("bpfload disasm test_bpf --syntax kernel    # to read next to a verifier log")
    .action(async (file: string, o: Opts) => {
      const { runDisasm } = await import("./disasm.ts");
      run(runDisasm(output(o), file, { syntax: str(o.syntax), modern: !!o.modern, relocs: o.relocs !== false, section: str(o.section), source: !!o.source }), o);
    });

  if (wanted("extract")) cli
    .command("extract <object>", "Write the raw instructions of one program of an ELF object (what the seed did with dd)")
    .option("-o, --output <file>", "Where to write the instructions")
    .option("--section <name>", "The program's section (default: the only program)")
    .option("--program <name>", "The program's function name")
    .example("bpfload extract test_bpf.o -o test_bpf")
    .example("bpfload extract samples.o --section kprobe/sys_write -o prog.bin")
    .action(async (file: string, o: Opts) => {
      const { runExtract } = await import("./extract.ts");
      run(runExtract(output(o), file, { section: str(o.section), program: str(o.program), output: str(o.output) }), o);
    });

  if (wanted("asm")) cli
    .command("asm <source>", "Assemble llvm-syntax eBPF assembler (labels, comments; disasm output too) into raw instructions")
    .option("-o, --output <file>", "Where to write the instructions")
    .example("bpfload asm prog.s -o prog.bin && bpfload load prog.bin --attach kprobe:sys_clone")
    .example("bpfload load prog.s --attach tracepoint:syscalls:sys_enter_clone    # no separate step needed")
    .action(async (file: string, o: Opts) => {
      const { runAsm } = await import("./asm.ts");
      run(Promise.resolve().then(() => runAsm(output(o), file, { output: str(o.output) })), o);
    });

  if (wanted("map")) cli
    .command("map <action> [...args]", "Maps by id, pin path or name:NAME: list, show MAP, dump MAP, lookup MAP KEY, update MAP KEY VALUE, delete MAP KEY, push MAP VALUE, pop MAP, freeze MAP")
    .example("bpfload load counters.o --pin /sys/fs/bpf/counters --duration 10 && bpfload map dump /sys/fs/bpf/counters/counts")
    .example("bpfload map lookup name:counts 0      # keys and values: integers (5, 0x1f, -1) or bytes (hex:01000000)")
    .example("bpfload map list --json")
    .action(async (action: string, args: string[], o: Opts) => {
      const { runMap } = await import("./map.ts");
      run(Promise.resolve().then(() => runMap(output(o), action, args.map(String))), o);
    });

  if (wanted("prog")) cli
    .command("prog <action> [...args]", "Programs by id, pin path or name:NAME: list, show PROG")
    .example("bpfload prog list")
    .example("bpfload prog show name:xdp_drop_udp --json")
    .action(async (action: string, args: string[], o: Opts) => {
      const { runProg } = await import("./prog.ts");
      run(Promise.resolve().then(() => runProg(output(o), action, args.map(String))), o);
    });

  if (wanted("btf")) cli
    .command("btf <action> [...args]", "CO-RE offline: relocs OBJ [--btf FILE|DIR ...]: each relocation resolved on the target BTF (or why not) and a verdict per program; several targets: which kernels it runs on")
    .option("--btf <file>", "Target BTF file or directory of them (BTFHub .btf, .btf.tar.xz, a vmlinux with .BTF); repeatable; default: $BPFLOAD_BTF, else the kernel's")
    .option("--program <name>", "Only this program of the object")
    .example("bpfload btf relocs prog.o                       # against this kernel's BTF")
    .example("bpfload btf relocs prog.o --btf 4.19.0-27-amd64.btf --btf 5.10.0-30-amd64.btf.tar.xz")
    .example("bpfload btf relocs prog.o --btf ./btfhub-archive/debian/10/x86_64/ --json")
    .action(async (action: string, args: string[], o: Opts) => {
      const { runBtf } = await import("./btf.ts");
      run(runBtf(output(o), action, args.map(String), { btf: list(o.btf), program: str(o.program) }), o);
    });

  if (wanted("probe")) cli
    .command("probe", "What this kernel offers: version, paths, JIT, program/map types, helpers, probe mechanisms")
    .example("bpfload probe")
    .example("bpfload probe --json | jq .probes")
    .action(async (o: Opts) => {
      const { runProbe } = await import("./probe.ts");
      run(Promise.resolve().then(() => runProbe(output(o))), o);
    });

  cli.help();
  cli.version(version);
  return cli;
}

export async function main(argv: string[], version: string): Promise<number> {
  // the executable owns its process: memlock, signal handlers (before any command can create
  // something in the kernel: cleanup.ts), mounts (lib/setup.ts)
  setup({ memlock: true, signals: true, mounts: true });
  let pending: Promise<number> | undefined;
  let opts: Opts = {};
  const onRun = (p: Promise<number>, o: Opts) => {
    pending = p;
    opts = o;
  };
  let cli = build(version, onRun, singleCommand(argv));
  // An option that command does not have (or a negative value) is parsed as before, against every
  // command's options, so that what is said about it does not change.
  if (cli.commands.length === 1 && !knowsEveryFlag(cli, argv)) cli = build(version, onRun);
  try {
    const booleans = booleanFlags(cli);
    const args = joinNegativeValues(cli, argv.map((a) => booleans.get(a) ?? a));
    throughWriter(() => cli.parse(["bun", "bpfload", ...args], { run: false }));
    Object.assign(cli.options, rawValues(cli, args));
    opts = cli.options;
    if (cli.options.help || cli.options.version) {
      const failed = writeFailure(); // cac printed it: completely, or that is the error
      return failed ? report(failed, opts) : 0;
    }
    if (!cli.matchedCommand) {
      if (argv.length === 0) {
        throughWriter(() => cli.outputHelp());
        return 2;
      }
      throw new UsageError(`unknown command ${quote(argv[0]!)}: see 'bpfload --help'`);
    }
    await cli.runMatchedCommand();
    const code = await pending!;
    // A write the system refused (ENOSPC on >/dev/full) stopped the output: that is a failure.
    const failed = writeFailure();
    return failed ? report(failed, opts) : code;
  } catch (e) {
    runCleanup();
    return report(e, opts);
  }
}

/** The command argv names in its first word, if any. */
export function singleCommand(argv: string[]): string | undefined {
  return (COMMAND_NAMES as readonly string[]).includes(argv[0] ?? "") ? argv[0] : undefined;
}

/** Every option-like argument is a spelling of an option of the built commands (or global). */
export function knowsEveryFlag(cli: CAC, argv: string[]): boolean {
  const known = new Set(["--no-attach"]);
  for (const c of [cli.globalCommand, ...cli.commands]) for (const o of c.options) for (const f of o.rawName.split(/[\s,]+/)) if (f.startsWith("-")) known.add(f);
  for (const a of argv) {
    if (a === "--") break;
    if (a.startsWith("-") && !known.has(a.split("=")[0]!)) return false;
  }
  return true;
}

function report(e: unknown, opts: Opts): number {
  const out = new Output({ json: !!opts.json, verbose: !!opts.verbose });
  // An error after stdout failed: the failure is what the user needs to hear about.
  e = writeFailure() ?? e;
  if (e instanceof BpfloadError) {
    out.error({ kind: cliKind(e), message: cliMessage(e), exitCode: e.exitCode, log: e instanceof VerifierError ? e.log : undefined });
    return e.exitCode;
  }
  const err = e as Error;
  if (err?.name === "CACError") {
    out.error({ kind: "usage", message: `${err.message.replace(/\.$/, "")}: see 'bpfload --help'`, exitCode: 2 });
    return 2;
  }
  // A command's module that could not be loaded for want of descriptors or memory: the system's
  // limit, named, not an internal error.
  const load = loadFailureMessage(e, openFilesErrno);
  if (load) {
    out.error({ kind: "system", message: load, exitCode: 1 });
    return 1;
  }
  out.error({ kind: "internal", message: `internal error: ${err?.message ?? String(e)}${opts.verbose ? `\n${err?.stack}` : " (--verbose shows where)"}`, exitCode: 1 });
  return 1;
}


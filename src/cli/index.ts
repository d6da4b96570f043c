// The command table: cac wiring, option validation, and the one place that turns errors into a
// single line and an exit code (0 ok, 1 the kernel or system refused, 2 bad usage or input).
import { cac, type CAC } from "cac";
import { BpfloadError, UsageError, VerifierError } from "../errors.ts";
import { runCleanup } from "../kernel/cleanup.ts";
import { Output } from "./output.ts";

type Opts = Record<string, unknown>;

/** cac turns numeric-looking values into numbers and repeated options into arrays: undo both. */
function str(v: unknown): string | undefined {
  if (v === undefined || v === null || v === true) return undefined;
  return String(Array.isArray(v) ? v[v.length - 1] : v);
}

function num(name: string, v: unknown, min = 0): number | undefined {
  const s = str(v);
  if (s === undefined) {
    if (v === true) throw new UsageError(`--${name} needs a value`);
    return undefined;
  }
  const n = Number(s);
  if (!Number.isFinite(n) || n < min) throw new UsageError(`bad --${name} '${s}': give a number >= ${min}`);
  return n;
}

function output(o: Opts): Output {
  return new Output({ json: !!o.json, verbose: !!o.verbose });
}

function build(version: string, run: (p: Promise<number>, o: Opts) => void): CAC {
  const cli = cac("bpfload");
  cli.option("--json", "One JSON object per result or event line on stdout");
  cli.option("--verbose", "Say more: kern_version source, probe names, file descriptors");

  cli
    .command("load <file>", "Load an eBPF program (raw instructions, ELF object or .s), attach it and stream trace_pipe")
    .option("--section <name>", "ELF section of the program (default: the only program)")
    .option("--program <name>", "Program by function name, in an object with several")
    .option("--type <type>", "Program type: kprobe, tracepoint, socket_filter, ... (default: from --attach or the section name)")
    .option("--attach <spec>", "kprobe:FUNC[+OFF], kretprobe:FUNC, tracepoint:CAT:NAME, raw_tracepoint:NAME, uprobe:PATH:SYMBOL[+OFF] or uprobe:PATH:0xOFFSET, uretprobe:PATH:SYMBOL, perf_event, socket:IFACE")
    .option("--probe-api <api>", "kprobes/uprobes through 'pmu' (perf PMU, 4.17+) or 'tracefs' (kprobe_events); default: pmu where available")
    .option("--maxactive <n>", "kretprobe instances (tracefs, 4.12+)")
    .option("--freq <hz>", "perf_event programs: samples per second on each CPU (default 49)")
    .option("--license <license>", "License string given to the kernel (default: the object's, else GPL)")
    .option("--kern-version <version>", "kern_version to send (4.9.228 or 0x409e4); default: detected from the running kernel")
    .option("--log-level <level>", "Always fetch the verifier log at this level (1, 2, 4) and print it")
    .option("--duration <seconds>", "Detach and exit after this many seconds (0: right after attaching)")
    .option("--count <lines>", "Detach and exit after this many trace lines")
    .option("--pin <dir>", "Pin the programs and maps in this BPF-filesystem directory (mounts /sys/fs/bpf if needed)")
    .option("--load-only", "Only load the program and report, do not attach (also: --no-attach)")
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
          logLevel: num("log-level", o.logLevel, 1),
          duration: num("duration", o.duration),
          count: num("count", o.count, 1),
          attachProgram: !o.loadOnly,
          probeApi: str(o.probeApi),
          maxactive: num("maxactive", o.maxactive, 1),
          freq: num("freq", o.freq, 1),
          pin: str(o.pin),
        }),
        o,
      );
    });

  cli
    .command("hello", "Run the built-in example: the seed article's Hello World program on the clone syscall")
    .option("--duration <seconds>", "Watch this long (default 3)")
    .option("--count <lines>", "Stop after this many trace lines")
    .option("--attach <spec>", "Attach elsewhere than the clone syscall")
    .option("--kern-version <version>", "kern_version to send; default: detected")
    .example("bpfload hello")
    .example("bpfload hello --duration 30 --json")
    .action(async (o: Opts) => {
      const { runHello } = await import("./hello.ts");
      run(runHello(output(o), { duration: num("duration", o.duration), count: num("count", o.count, 1), attach: str(o.attach), kernVersion: str(o.kernVersion) }), o);
    });

  cli
    .command("cleanup", "Remove probe events left behind by bpfload processes that were killed (never anyone else's)")
    .example("bpfload cleanup")
    .action(async (o: Opts) => {
      const { runCleanup: sweep } = await import("./cleanup.ts");
      run(Promise.resolve().then(() => sweep(output(o))), o);
    });

  cli
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

  cli
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

  cli
    .command("asm <source>", "Assemble llvm-syntax eBPF assembler (labels, comments; disasm output too) into raw instructions")
    .option("-o, --output <file>", "Where to write the instructions")
    .example("bpfload asm prog.s -o prog.bin && bpfload load prog.bin --attach kprobe:sys_clone")
    .example("bpfload load prog.s --attach tracepoint:syscalls:sys_enter_clone    # no separate step needed")
    .action(async (file: string, o: Opts) => {
      const { runAsm } = await import("./asm.ts");
      run(Promise.resolve().then(() => runAsm(output(o), file, { output: str(o.output) })), o);
    });

  cli
    .command("map <action> [pin]", "map dump PIN: print the entries of a pinned map (hex, and integers where sizes allow)")
    .example("bpfload load counters.o --pin /sys/fs/bpf/counters --duration 10 && bpfload map dump /sys/fs/bpf/counters/counts")
    .action(async (action: string, pin: string | undefined, o: Opts) => {
      const { runMap } = await import("./map.ts");
      run(Promise.resolve().then(() => runMap(output(o), action, pin)), o);
    });

  cli
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
  let pending: Promise<number> | undefined;
  let opts: Opts = {};
  const cli = build(version, (p, o) => {
    pending = p;
    opts = o;
  });
  try {
    // `--no-attach` would be cac's negation of `--attach <spec>` and break it: spell it --load-only.
    const args = argv.map((a) => (a === "--no-attach" ? "--load-only" : a));
    cli.parse(["bun", "bpfload", ...args], { run: false });
    opts = cli.options;
    if (cli.options.help || cli.options.version) return 0; // cac printed it
    if (!cli.matchedCommand) {
      if (argv.length === 0) {
        cli.outputHelp();
        return 2;
      }
      throw new UsageError(`unknown command '${argv[0]}': see 'bpfload --help'`);
    }
    await cli.runMatchedCommand();
    return await pending!;
  } catch (e) {
    runCleanup();
    return report(e, opts);
  }
}

function report(e: unknown, opts: Opts): number {
  const out = new Output({ json: !!opts.json, verbose: !!opts.verbose });
  if (e instanceof BpfloadError) {
    out.error({ kind: e.kind, message: e.message, exitCode: e.exitCode, log: e instanceof VerifierError ? e.log : undefined });
    return e.exitCode;
  }
  const err = e as Error;
  if (err?.name === "CACError") {
    out.error({ kind: "usage", message: `${err.message.replace(/\.$/, "")}: see 'bpfload --help'`, exitCode: 2 });
    return 2;
  }
  out.error({ kind: "internal", message: `internal error: ${err?.message ?? String(e)}${opts.verbose ? `\n${err?.stack}` : " (--verbose shows where)"}`, exitCode: 1 });
  return 1;
}

// The command table built for one command (the fast path of `bpfload load ...`) must parse and
// explain that command exactly as the whole table does.
import { describe, expect, test } from "bun:test";
import { build, COMMAND_NAMES, knowsEveryFlag, singleCommand } from "../../src/cli/index.ts";

const noop = () => {};

/** What cac makes of argv with this table: the matched command, its args and options, and its help text. */
function parsed(only: string | undefined, argv: string[]) {
  const cli = build("0.0.0", noop, only);
  cli.parse(["bun", "bpfload", ...argv], { run: false });
  const lines: string[] = [];
  const info = console.info;
  console.info = (...a: unknown[]) => void lines.push(a.join(" "));
  try {
    cli.matchedCommand?.outputHelp();
  } finally {
    console.info = info;
  }
  return { command: cli.matchedCommand?.name, args: cli.args, options: cli.options, help: lines.join("\n") };
}

describe("command table", () => {
  test("COMMAND_NAMES lists every command build registers, in order", () => {
    expect(build("0.0.0", noop).commands.map((c) => c.name)).toEqual([...COMMAND_NAMES]);
  });

  test("one command's table: same command, args, options and help as the whole table", () => {
    const cases = [
      ["load", "seed.bin", "--attach", "tracepoint:syscalls:sys_enter_clone", "--duration", "0"],
      ["load", "x.o", "--section", "kprobe/sys_clone", "--json", "--verbose", "--hist", "a", "--hist", "b:linear:2"],
      ["load", "x.o", "--load-only", "--log-level", "2"],
      ["run", "x.o", "--data", "00 01", "--repeat", "3"],
      ["disasm", "x.o", "-S", "--no-relocs", "--syntax", "kernel"],
      ["extract", "x.o", "-o", "out.bin"],
      ["map", "dump", "name:counts", "--json"],
      ["prog", "list"],
      ["probe"],
      ["hello", "--duration", "1"],
      ["cleanup"],
      ["asm", "x.s", "-o", "x.bin"],
    ];
    for (const argv of cases) {
      const only = singleCommand(argv);
      expect(only).toBe(argv[0]);
      const one = build("0.0.0", noop, only);
      expect(one.commands.length).toBe(1);
      expect(knowsEveryFlag(one, argv)).toBe(true);
      expect(parsed(only, argv)).toEqual(parsed(undefined, argv));
    }
  });

  test("an option of another command, or a negative value, is not known to one command's table", () => {
    const one = build("0.0.0", noop, "load");
    expect(knowsEveryFlag(one, ["load", "x", "-o", "y"])).toBe(false); // extract's
    expect(knowsEveryFlag(one, ["load", "x", "--count", "-3"])).toBe(false);
    expect(knowsEveryFlag(one, ["load", "x", "--", "-o"])).toBe(true); // after --: arguments
    expect(knowsEveryFlag(one, ["load", "x", "--no-attach", "--json", "-h"])).toBe(true);
    expect(singleCommand(["--json", "load"])).toBeUndefined();
    expect(singleCommand(["nosuch"])).toBeUndefined();
  });
});

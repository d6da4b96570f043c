#!/usr/bin/env bun
// Entry point. `--version` is answered before anything else is loaded, so it costs no more than
// Bun's own start-up; every command's module is imported only when that command runs.
import pkg from "../package.json" with { type: "json" };

const argv = process.argv.slice(2);
if (argv.length === 1 && (argv[0] === "--version" || argv[0] === "-v")) {
  console.log(`bpfload ${pkg.version}`);
} else {
  let cli: typeof import("./cli/index.ts");
  try {
    cli = await import("./cli/index.ts");
  } catch (e) {
    // Before the CLI's own error reporting exists: the modules themselves could not be loaded.
    process.stderr.write(`bpfload: ${startupFailure(e as Error)}\n`);
    process.exit(1);
  }
  process.exitCode = await cli.main(argv, pkg.version);
}

/** One line for a failure to start: the limits a user can fix, named. */
function startupFailure(e: Error): string {
  const msg = String(e?.message ?? e);
  if (/requires the JIT/.test(msg)) {
    return "cannot start: Bun's JIT (needed for bun:ffi) could not reserve its memory: the address-space limit (ulimit -v) or data limit (ulimit -d) is too small; raise it (a few GB)";
  }
  if (/EMFILE|ENFILE/.test(msg)) return `cannot start: too many open files (${/ENFILE/.test(msg) ? "ENFILE" : "EMFILE"}): raise ulimit -n`;
  if (/ENOMEM/.test(msg)) return "cannot start: out of memory (ENOMEM)";
  return `cannot start: ${msg.split("\n")[0]}`;
}

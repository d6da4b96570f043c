#!/usr/bin/env bun
// Entry point. `--version` is answered before anything else is loaded, so it costs no more than
// Bun's own start-up; every command's module is imported only when that command runs.
import pkg from "../package.json" with { type: "json" };

const argv = process.argv.slice(2);
if (argv.length === 1 && (argv[0] === "--version" || argv[0] === "-v")) {
  console.log(`bpfload ${pkg.version}`);
} else {
  const { main } = await import("./cli/index.ts");
  process.exitCode = await main(argv, pkg.version);
}

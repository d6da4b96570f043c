#!/usr/bin/env bun
// Entry point. `--version` is answered before anything else is loaded, so it costs no more than
// Bun's own start-up; every command's module is imported only when that command runs.
import pkg from "../package.json" with { type: "json" };

const argv = process.argv.slice(2);
if (argv.length === 1 && (argv[0] === "--version" || argv[0] === "-v")) {
  console.log(`bpfload ${pkg.version}`);
} else {
  let cli: typeof import("./cli/index.ts") | undefined;
  try {
    cli = await import("./cli/index.ts");
  } catch (e) {
    // The CLI itself could not load (bun:ffi without its JIT under a small ulimit -v, a file that
    // cannot be opened): one line, as the CLI would say it, instead of Bun's report of the throw.
    // Imported only now: --version and every normal run stay free of node:fs (1.2 ms of start-up).
    const message = await explainLoadFailure(e);
    if (argv.includes("--json")) console.log(JSON.stringify({ error: { kind: "system", message, exitCode: 1 } }));
    else process.stderr.write(`bpfload: ${message.replace(/[\x00-\x1f\x7f]/g, " ")}\n`);
    process.exitCode = 1;
  }
  if (cli) process.exitCode = await cli.main(argv, pkg.version);
}

async function explainLoadFailure(e: unknown): Promise<string> {
  const fallback = `internal error: ${(e as Error)?.message ?? String(e)}`;
  try {
    const { loadFailureMessage } = await import("./load-failure.ts");
    // open-files.ts needs bun:ffi, which is what may have failed (no JIT): without it, no fd check.
    const fdErrno = await import("./sys/open-files.ts").then((m) => m.openFilesErrno, () => undefined);
    return loadFailureMessage(e, fdErrno) ?? fallback;
  } catch {
    return fallback;
  }
}

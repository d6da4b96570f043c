// Shared by the tests: whether the real kernel can be used, and how to run the CLI.
import { existsSync } from "node:fs";

const isRoot = process.geteuid?.() === 0;

function bpfWorks(): string | undefined {
  if (!isRoot) return "not root: kernel tests need root (run the tests as root, as CI does)";
  try {
    const { bpfProgLoad } = require("../src/sys/bpf.ts") as typeof import("../src/sys/bpf.ts");
    // r0 = 0; exit — the smallest program every kernel accepts as a socket filter.
    const insns = new Uint8Array([0xb7, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0]);
    const r = bpfProgLoad({ progType: 1, insns, license: "GPL", kernVersion: 0, logLevel: 0, logSize: 0 });
    if (r.ret < 0) return `the bpf() syscall is refused here (errno ${r.errno}): a container without CAP_SYS_ADMIN/CAP_BPF?`;
    require("../src/sys/fd.ts").close(r.ret);
    return undefined;
  } catch (e) {
    return `bun:ffi cannot call syscall(): ${(e as Error).message}`;
  }
}

/** Why kernel tests are skipped here, or undefined when they can run. */
export const kernelSkipReason: string | undefined = bpfWorks();
export const canUseKernel = kernelSkipReason === undefined;
if (kernelSkipReason) console.warn(`[skip] kernel tests: ${kernelSkipReason}`);

export const REPO = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
export const MAIN = `${REPO}/src/main.ts`;

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI from source (or `bin` when given) and collects its output. */
export async function runCli(args: string[], opts: { bin?: string; timeoutMs?: number } = {}): Promise<CliRun> {
  const cmd = opts.bin ? [opts.bin, ...args] : [process.execPath, MAIN, ...args];
  const proc = Bun.spawn(cmd, { stdout: "pipe", stderr: "pipe", stdin: "ignore", timeout: opts.timeoutMs ?? 20000 });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { code, stdout, stderr };
}

export function tracefsDir(): string | undefined {
  return ["/sys/kernel/tracing", "/sys/kernel/debug/tracing"].find((d) => existsSync(`${d}/trace_pipe`));
}

export const SEED_HEX =
  "b7 01 00 00 0a 00 00 00 6b 1a fc ff 00 00 00 00 b7 01 00 00 72 6c 64 21 63 1a f8 ff 00 00 00 00 " +
  "18 01 00 00 48 65 6c 6c 00 00 00 00 6f 20 57 6f 7b 1a f0 ff 00 00 00 00 bf a1 00 00 00 00 00 00 " +
  "07 01 00 00 f0 ff ff ff b7 02 00 00 0e 00 00 00 85 00 00 00 06 00 00 00 b7 00 00 00 00 00 00 00 " +
  "95 00 00 00 00 00 00 00";
export const SEED = new Uint8Array(SEED_HEX.split(" ").map((h) => parseInt(h, 16)));

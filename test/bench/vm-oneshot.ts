// Benchmark (not a test): the one-shot bench inside a VM guest. Builds a static C loader
// (oneshot.c) and a static timer (runtimes.c), then boots the guest with test/vm/bench.sh as its
// checks; the VMCHECK line carries the medians and the bpfload / C loader ratio.
//   npx bun test/bench/vm-oneshot.ts [--kernel 4.9] [--binary dist/bpfload-linux-x64] [other run.ts options]
// Needs gcc with static glibc (libc6-dev) and what test/vm/run.ts needs.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";

const repo = new URL("../..", import.meta.url).pathname;
const dir = mkdtempSync(`${tmpdir()}/bpfload-vmbench-`);
for (const name of ["oneshot", "runtimes"]) {
  const out = `${dir}/${name === "oneshot" ? "cloader" : name}`;
  const r = Bun.spawnSync(["gcc", "-static", "-O2", "-o", out, `${repo}/test/bench/${name}.c`], { stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`gcc -static ${name}.c: ${r.stderr.toString()}`);
}
const args = ["test/vm/run.ts", "--checks", "test/vm/bench.sh", "--file", `${dir}/cloader`, "--file", `${dir}/runtimes`, "--show-output", ...process.argv.slice(2)];
const r = Bun.spawnSync([process.execPath, ...args], { cwd: repo, stdout: "inherit", stderr: "inherit" });
rmSync(dir, { recursive: true, force: true });
process.exit(r.exitCode ?? 1);

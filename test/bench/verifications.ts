// Benchmark (not a test): how many BPF_PROG_LOAD calls one load makes, bpfload against libbpf
// (bpftool prog load), counted by strace. The object is test/fixtures/loop3.o (the selftests'
// loop3 shape: refused after a 1M-instruction walk with a ~70 MB level-1 log), or any given one;
// run as root, under the shared kernel lock:
//   flock /tmp/bpfload-kernel.lock npx bun test/bench/verifications.ts [OBJ]
// Prints, for each loader, the calls that load the object's programs (verifications) and the
// feature probes (tiny programs), with the wall time.
import { readFileSync, rmSync } from "node:fs";

const repo = new URL("../..", import.meta.url).pathname;
const obj = process.argv[2] ?? `${repo}/test/fixtures/loop3.o`;
const strace = Bun.which("strace");
const bpftool = Bun.which("bpftool");
if (process.geteuid?.() !== 0 || !strace || !bpftool) {
  console.log("needs root, strace and bpftool (apt-get install strace bpftool)");
  process.exit(0);
}

interface Count {
  probes: number;
  verifications: number;
  logSizes: number[];
  ms: number;
}

/** Runs `cmd` under strace and sorts its BPF_PROG_LOAD calls: 2-instruction ones are probes. */
function count(cmd: string[]): Count {
  const out = `/tmp/bpfload-bench-strace-${process.pid}.txt`;
  const t = performance.now();
  Bun.spawnSync([strace!, "-f", "-e", "trace=bpf", "-o", out, ...cmd], { stdout: "ignore", stderr: "ignore" });
  const ms = performance.now() - t;
  const loads = readFileSync(out, "utf8").split("\n").filter((l) => l.includes("bpf(BPF_PROG_LOAD"));
  rmSync(out, { force: true });
  const insnCnt = (l: string) => Number(l.match(/insn_cnt=(\d+)/)?.[1]);
  const big = loads.filter((l) => insnCnt(l) > 2);
  return { probes: loads.length - big.length, verifications: big.length, logSizes: big.map((l) => Number(l.match(/log_size=(\d+)/)?.[1] ?? 0)), ms };
}

const pin = `/sys/fs/bpf/bpfload-bench-${process.pid}`;
const libbpf = count([bpftool, "prog", "load", obj, pin]);
rmSync(pin, { force: true });
const ours = count([process.execPath, `${repo}/src/main.ts`, "load", obj, "--no-attach"]);

const show = (name: string, c: Count) =>
  console.log(`${name.padEnd(24)} ${String(c.verifications).padStart(2)} verifications + ${c.probes} probes  (log sizes ${c.logSizes.join(", ")})  ${(c.ms / 1000).toFixed(1)} s`);
console.log(`BPF_PROG_LOAD calls for ${obj.replace(repo, "")}:`);
show("libbpf (bpftool)", libbpf);
show("bpfload", ours);
console.log(`verifications per load: bpfload ${ours.verifications} vs libbpf ${libbpf.verifications} (${ours.verifications <= libbpf.verifications ? "ok" : "MORE than libbpf"})`);

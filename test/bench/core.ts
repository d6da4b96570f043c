// CO-RE benchmark (a script, not a timed test; as root, takes /tmp/bpfload-kernel.lock per run):
// - in process: vmlinux BTF read + indexed, then "candidates ready" for one relocation
//   (task_struct.real_parent of core_task.o), then all of the object's relocations resolved;
// - whole process, side by side: `bpfload load OBJ --no-attach` vs `bpftool prog loadall OBJ PIN`
//   (median of N runs, peak RSS of each), and Bun's own floor (`bun -e 0`) for the RSS target.
//   Usage: bun test/bench/core.ts [OBJ] [--runs N]
import { readFileSync, rmSync } from "node:fs";
import { CoreRelocator, resolveRecords } from "../../src/btf/core/index.ts";
import { Btf, readBtfExt } from "../../src/elf/btf.ts";
import { readObject } from "../../src/elf/index.ts";
import { MAIN, REPO } from "../support.ts";

const args = process.argv.slice(2);
const runsAt = args.indexOf("--runs");
const RUNS = runsAt >= 0 ? Number(args[runsAt + 1]) : 15;
const OBJ = args.find((a, i) => !a.startsWith("--") && args[i - 1] !== "--runs") ?? `${REPO}/test/fixtures/core_task.o`;
const LOCK = "/tmp/bpfload-kernel.lock";
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

// in process
{
  const bytes = new Uint8Array(readFileSync(OBJ));
  const obj = await readObject(bytes, OBJ);
  const sec = (n: string) => {
    const s = obj.sections.find((x) => x.name === n)!;
    return bytes.subarray(s.offset, s.offset + s.size);
  };
  const local = new Btf(sec(".BTF"));
  const ext = readBtfExt(sec(".BTF.ext"), () => local);
  const first = ext.coreRelo[0]!.records[0]!;
  const t0 = performance.now();
  const vmlinux = new Btf(new Uint8Array(readFileSync("/sys/kernel/btf/vmlinux")));
  const t1 = performance.now();
  const r = new CoreRelocator(local, [{ name: "vmlinux", btf: vmlinux }]);
  r.resolve(first);
  const t2 = performance.now();
  const all = resolveRecords(r, ext.coreRelo, obj.functions);
  const t3 = performance.now();
  console.log(`vmlinux BTF (${(vmlinux.bytes.length / 1e6).toFixed(1)} MB, ${vmlinux.typeCount} types): read + index ${(t1 - t0).toFixed(1)} ms; candidates ready for relocation 0 ${(t2 - t1).toFixed(1)} ms; all ${all.length} resolved ${(t3 - t2).toFixed(1)} ms`);
}

// whole process
/** Wall time inside the lock and peak RSS (GNU time's %M, KB), of the command alone. */
function timed(cmd: string[]): { ms: number; rss: number; code: number } {
  const r = Bun.spawnSync(["flock", LOCK, "/usr/bin/time", "-f", "@@ %e %M", ...cmd], { stdout: "ignore", stderr: "pipe" });
  const m = r.stderr.toString().match(/@@ ([\d.]+) (\d+)/);
  return { ms: Number(m?.[1] ?? NaN) * 1000, rss: Number(m?.[2] ?? 0) / 1024, code: r.exitCode ?? -1 };
}
const pin = `/sys/fs/bpf/bpfload_core_bench_${process.pid}`;
const ours: number[] = [], theirs: number[] = [], floor: number[] = [];
let oursRss = 0, theirsRss = 0, floorRss = 0;
for (let i = 0; i < RUNS; i++) {
  const a = timed([process.execPath, MAIN, "load", OBJ, "--no-attach"]);
  const b = timed(["sh", "-c", `bpftool prog loadall '${OBJ}' '${pin}'; rc=$?; rm -rf '${pin}'; exit $rc`]);
  const c = timed([process.execPath, "-e", "0"]);
  ours.push(a.ms), theirs.push(b.ms), floor.push(c.ms);
  oursRss = Math.max(oursRss, a.rss), theirsRss = Math.max(theirsRss, b.rss), floorRss = Math.max(floorRss, c.rss);
}
rmSync(pin, { recursive: true, force: true });
const btfMb = readFileSync("/sys/kernel/btf/vmlinux").length / 1e6;
console.log(`${OBJ.split("/").pop()}, median of ${RUNS} (each inside the kernel lock, /usr/bin/time: 10 ms resolution):`);
console.log(`  bpfload load --no-attach   ${median(ours).toFixed(1)} ms, peak RSS ${oursRss.toFixed(0)} MB`);
console.log(`  bpftool prog loadall       ${median(theirs).toFixed(1)} ms, peak RSS ${theirsRss.toFixed(0)} MB`);
console.log(`  ratio                      ${(median(ours) / median(theirs)).toFixed(2)}x (target <= 1.2x)`);
console.log(`  Bun's floor (bun -e 0)     ${median(floor).toFixed(1)} ms, peak RSS ${floorRss.toFixed(0)} MB; RSS target <= 1.5 x ${floorRss.toFixed(0)} + ${btfMb.toFixed(1)} = ${(1.5 * floorRss + btfMb).toFixed(0)} MB`);

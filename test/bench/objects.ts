// Benchmark (not a test): reading an object, side by side in one run with bpftool.
//  1. parse + relocate in-process: readObject + linkProgram of every program (fake map fds), the pure
//     work bpfload does before any syscall;
//  2. whole process, as root: `bpfload load OBJ --no-attach` against `bpftool prog loadall OBJ DIR`,
//     both creating the maps and loading every program into the kernel.
//   npx bun test/bench/objects.ts [runs]
import { readFileSync, rmSync } from "node:fs";
import { linkProgram, readObject } from "../../src/elf/index.ts";

const runs = Number(process.argv[2] ?? 30);
const repo = new URL("../..", import.meta.url).pathname;
// The largest fixtures that libbpf 1.x (bpftool) can also load: BTF maps, several programs.
const objects = ["btf_maps.o", "multi.o"];
const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!;

for (const name of objects) {
  const file = `${repo}/test/fixtures/${name}`;
  const bytes = new Uint8Array(readFileSync(file));
  const parse: number[] = [];
  for (let i = 0; i < runs * 10; i++) {
    const t = performance.now();
    const obj = await readObject(bytes, file);
    for (const p of obj.programs) linkProgram(obj, p, { mapFd: () => 3 });
    parse.push(performance.now() - t);
  }
  console.log(`${name} (${bytes.length} bytes): parse + relocate in-process, median ${median(parse).toFixed(3)} ms`);
}

const bpftool = Bun.which("bpftool");
if (process.geteuid?.() !== 0 || !bpftool) {
  console.log(`whole-process comparison skipped: ${bpftool ? "needs root" : "no bpftool (apt-get install bpftool)"}`);
  process.exit(0);
}
Bun.spawnSync([process.execPath, "build.ts", process.arch], { cwd: repo });
const bpfload = `${repo}/dist/bpfload-linux-${process.arch}`;
for (const name of objects) {
  const file = `${repo}/test/fixtures/${name}`;
  const pinDir = `/sys/fs/bpf/bpfload-bench-${process.pid}`;
  const times: Record<string, number[]> = { bpfload: [], bpftool: [] };
  for (let i = 0; i < runs + 2; i++) {
    let t = performance.now();
    const a = Bun.spawnSync([bpfload, "load", file, "--no-attach"], { stdout: "ignore", stderr: "pipe" });
    const ta = performance.now() - t;
    if (a.exitCode !== 0) throw new Error(`bpfload: ${a.stderr}`);
    t = performance.now();
    const b = Bun.spawnSync([bpftool, "prog", "loadall", file, pinDir], { stdout: "ignore", stderr: "pipe" });
    const tb = performance.now() - t;
    rmSync(pinDir, { recursive: true, force: true });
    if (b.exitCode !== 0) throw new Error(`bpftool: ${b.stderr}`);
    if (i >= 2) {
      times.bpfload!.push(ta);
      times.bpftool!.push(tb);
    }
  }
  const [ours, theirs] = [median(times.bpfload!), median(times.bpftool!)];
  console.log(`${name}: load every program, whole process: bpfload ${ours.toFixed(1)} ms, bpftool prog loadall ${theirs.toFixed(1)} ms (${(ours / theirs).toFixed(2)}x)`);
}

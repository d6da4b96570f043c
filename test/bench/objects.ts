// Benchmark (not a test): reading and loading objects, side by side in one run with bpftool.
//  1. in-process, per fixture with BTF: the BTF work of a load (parse + validate .BTF, read .BTF.ext,
//     sanitize for this kernel's probed features), and parse + relocate of every program (fake map
//     fds): the pure work bpfload does before any syscall;
//  2. whole process, as root: `bpfload load OBJ --no-attach` against `bpftool prog loadall OBJ DIR`,
//     both creating the maps and loading every program into the kernel, interleaved (one of each in
//     turn), on every fixture both of them load here; per fixture the medians, then the median of
//     the per-fixture ratios (the issue's target: <= 1.2x).
//   flock /tmp/bpfload-kernel.lock npx bun test/bench/objects.ts [runs]   (default 15 whole-process runs per fixture and tool)
import { readdirSync, readFileSync, rmSync } from "node:fs";
import { dataLayoutOf, sanitizeBtf } from "../../src/btf/sanitize.ts";
import { Btf, linkProgram, readObject } from "../../src/elf/index.ts";
import { readBtfExt } from "../../src/elf/btf.ts";

const runs = Number(process.argv[2] ?? 15);
const repo = new URL("../..", import.meta.url).pathname;
const FIX = `${repo}/test/fixtures`;
const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!;
const fixtures = readdirSync(FIX).filter((f) => f.endsWith(".o")).sort();
const root = process.geteuid?.() === 0;

// this kernel's BTF kinds (probed) when root; else the worst case: every kind sanitized away
let features = { func: false, funcGlobal: false, datasec: false, float: false, declTag: false, typeTag: false, enum64: false };
if (root) features = (await import("../../src/kernel/btf/load.ts")).kernelBtfFeatures();

const section = (bytes: Uint8Array, obj: Awaited<ReturnType<typeof readObject>>, name: string) => {
  const s = obj.sections.find((x) => x.name === name);
  return s ? bytes.subarray(s.offset, s.offset + s.size) : undefined;
};

console.log(`in-process, median of ${runs * 20} runs (BTF: parse + validate + .BTF.ext + sanitize)`);
const btfTimes: number[] = [];
for (const name of fixtures) {
  const file = `${FIX}/${name}`;
  const bytes = new Uint8Array(readFileSync(file));
  let obj: Awaited<ReturnType<typeof readObject>>;
  try {
    obj = await readObject(bytes, file);
  } catch {
    continue; // objects the reader refuses on purpose are not for timing
  }
  const raw = section(bytes, obj, ".BTF");
  const extRaw = section(bytes, obj, ".BTF.ext");
  const btf: number[] = [];
  const parse: number[] = [];
  for (let i = 0; i < runs * 20; i++) {
    let t = performance.now();
    if (raw) {
      const b = new Btf(raw).validate();
      if (extRaw) readBtfExt(extRaw, () => b);
      sanitizeBtf(b, features, dataLayoutOf(obj));
      btf.push(performance.now() - t);
    }
    t = performance.now();
    const o = await readObject(bytes, file);
    for (const p of o.programs) {
      try {
        linkProgram(o, p, { mapFd: () => 3 });
      } catch {}
    }
    parse.push(performance.now() - t);
  }
  if (raw) btfTimes.push(median(btf));
  console.log(`  ${name.padEnd(20)} ${String(bytes.length).padStart(7)} B  BTF ${raw ? `${median(btf).toFixed(3)} ms (${raw.length} B)` : "none".padEnd(8)}  parse + relocate ${median(parse).toFixed(3)} ms`);
}
console.log(`  BTF parse + sanitize: median over the fixtures ${median(btfTimes).toFixed(3)} ms, max ${Math.max(...btfTimes).toFixed(3)} ms (target < 1 ms)`);

const bpftool = Bun.which("bpftool");
if (!root || !bpftool) {
  console.log(`whole-process comparison skipped: ${bpftool ? "needs root" : "no bpftool (apt-get install bpftool)"}`);
  process.exit(0);
}
Bun.spawnSync([process.execPath, "build.ts", process.arch], { cwd: repo });
const bpfload = `${repo}/dist/bpfload-linux-${process.arch}`;
const pinDir = `/sys/fs/bpf/bpfload-bench-${process.pid}`;
const ours = (file: string) => Bun.spawnSync([bpfload, "load", file, "--no-attach"], { stdout: "ignore", stderr: "ignore" });
// libbpf pins maps marked LIBBPF_PIN_BY_NAME at /sys/fs/bpf/NAME (btf_maps.o's 'sized'): what a
// bpftool run adds there is removed again (run the bench under the shared kernel lock)
const bpffs = () => new Set(readdirSync("/sys/fs/bpf"));
const theirs = (file: string) => {
  const before = bpffs();
  const r = Bun.spawnSync([bpftool, "prog", "loadall", file, pinDir], { stdout: "ignore", stderr: "ignore" });
  rmSync(pinDir, { recursive: true, force: true });
  for (const name of bpffs()) if (!before.has(name)) rmSync(`/sys/fs/bpf/${name}`, { recursive: true, force: true });
  return r;
};
const timed = (f: () => { exitCode: number | null }) => {
  const t = performance.now();
  const r = f();
  return { ms: performance.now() - t, ok: r.exitCode === 0 };
};

console.log(`whole process, median of ${runs} interleaved runs each: bpfload load --no-attach vs bpftool prog loadall`);
const ratios: number[] = [];
const skipped: string[] = [];
for (const name of fixtures) {
  const file = `${FIX}/${name}`;
  // only where both load everything (bpftool refuses the 4.9-style and raw objects, this host fentry...)
  if (!timed(() => ours(file)).ok || !timed(() => theirs(file)).ok) {
    skipped.push(name);
    continue;
  }
  const a: number[] = [];
  const b: number[] = [];
  for (let i = 0; i < runs; i++) {
    a.push(timed(() => ours(file)).ms);
    b.push(timed(() => theirs(file)).ms);
  }
  const ratio = median(a) / median(b);
  ratios.push(ratio);
  console.log(`  ${name.padEnd(20)} bpfload ${median(a).toFixed(1).padStart(6)} ms  bpftool ${median(b).toFixed(1).padStart(6)} ms  ${ratio.toFixed(2)}x`);
}
console.log(`  median ratio over ${ratios.length} fixtures: ${median(ratios).toFixed(2)}x (target <= 1.2x); not loaded by both here: ${skipped.join(", ") || "none"}`);

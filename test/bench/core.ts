// Benchmark (not a test): CO-RE against this kernel's vmlinux BTF, side by side in one run with bpftool.
//  1. start to "candidates ready" for one relocation: a fresh Bun process reads the object, opens
//     /sys/kernel/btf/vmlinux (index pass) and resolves the object's first relocation (the name
//     index and its candidates); bpftool -d: the time its libbpf prints the first candidate line;
//  2. whole process, as root: `bpfload load OBJ --no-attach` (the compiled executable) against
//     `bpftool prog loadall OBJ DIR`, interleaved, median of N;
//  3. peak RSS of that bpfload run against Bun's own floor (`bun -e 0`) plus the BTF file's size.
//   npx bun test/bench/core.ts [runs] [object]
import { rmSync, statSync } from "node:fs";

const runs = Number(process.argv[2] ?? 15);
const repo = new URL("../..", import.meta.url).pathname;
const obj = process.argv[3] ?? `${repo}/test/fixtures/core_tracing.o`;
const VMLINUX = "/sys/kernel/btf/vmlinux";
const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!;
const ms = (n: number) => `${n.toFixed(1)} ms`;
const mb = (n: number) => `${(n / (1024 * 1024)).toFixed(1)} MB`;

// The in-process part, run as a child: `bun test/bench/core.ts --child OBJ` prints JSON stamps.
if (process.argv[2] === "--child") {
  const t0 = performance.now(); // Bun's start before this line is in performance.now()'s origin
  const { readFileSync } = await import("node:fs");
  const { readObject } = await import("../../src/elf/index.ts");
  const { objectCore } = await import("../../src/btf/target-relocs.ts");
  const { CoreRelocator } = await import("../../src/btf/core/index.ts");
  const { openTargetBtf, coreTargets } = await import("../../src/kernel/btf/core-target.ts");
  const file = process.argv[3]!;
  const bytes = new Uint8Array(readFileSync(file));
  const o = await readObject(bytes, file);
  const core = objectCore(o, bytes);
  const t1 = performance.now();
  const target = openTargetBtf();
  const t2 = performance.now();
  const rec = core.records[0]!.records[0]!;
  const r = new CoreRelocator(core.btf!, coreTargets(target)).resolve(rec);
  const t3 = performance.now();
  console.log(JSON.stringify({ started: t0, objectRead: t1, btfOpened: t2, candidatesReady: t3, candidates: r.candidates }));
  process.exit(0);
}

if (!statSync(VMLINUX, { throwIfNoEntry: false })) {
  console.log(`skipped: no ${VMLINUX}`);
  process.exit(0);
}
const btfSize = statSync(VMLINUX).size;
const bpftool = Bun.which("bpftool");
console.log(`object ${obj}; target ${VMLINUX} (${mb(btfSize)}); ${runs} runs each, interleaved`);

// 1. start to candidates ready
const ours: { total: number; open: number; cands: number; wall: number }[] = [];
const theirs: number[] = [];
for (let i = 0; i < runs + 1; i++) {
  const t = performance.now();
  const c = Bun.spawnSync([process.execPath, import.meta.path, "--child", obj], { stdout: "pipe", stderr: "pipe" });
  const wall = performance.now() - t;
  if (c.exitCode !== 0) throw new Error(`child: ${c.stderr}`);
  const s = JSON.parse(c.stdout.toString());
  if (i > 0) ours.push({ total: s.candidatesReady, open: s.btfOpened - s.objectRead, cands: s.candidatesReady - s.btfOpened, wall });
  if (bpftool && process.geteuid?.() === 0) {
    const pin = `/sys/fs/bpf/bpfload-bench-core-${process.pid}`;
    const t0 = performance.now();
    const p = Bun.spawn([bpftool, "-d", "prog", "loadall", obj, pin], { stdout: "ignore", stderr: "pipe" });
    let seen: number | undefined;
    let text = "";
    for await (const chunk of p.stderr) {
      text += new TextDecoder().decode(chunk);
      if (seen === undefined && /target candidate|candidate #/.test(text)) seen = performance.now() - t0;
    }
    await p.exited;
    rmSync(pin, { recursive: true, force: true });
    if (i > 0 && seen !== undefined) theirs.push(seen);
  }
}
const m = (f: (x: (typeof ours)[number]) => number) => median(ours.map(f));
console.log(`1. start to candidates ready (one relocation): bpfload ${ms(m((x) => x.total))} (BTF index pass ${ms(m((x) => x.open))}, name index + candidates ${ms(m((x) => x.cands))}; process wall ${ms(m((x) => x.wall))})` +
  (theirs.length ? `, bpftool -d first candidate line ${ms(median(theirs))} (${(m((x) => x.total) / median(theirs)).toFixed(2)}x)` : ", bpftool: skipped (needs root and bpftool)"));

if (process.geteuid?.() !== 0 || !bpftool) {
  console.log(`2, 3 skipped: ${bpftool ? "need root" : "no bpftool"}`);
  process.exit(0);
}

// 2. whole process, and 3. peak RSS
const build = Bun.spawnSync([process.execPath, "build.ts", process.arch], { cwd: repo, stdout: "ignore", stderr: "pipe" });
if (build.exitCode !== 0) throw new Error(`build: ${build.stderr}`);
const bpfload = `${repo}/dist/bpfload-linux-${process.arch}`;
const times = { bpfload: [] as number[], bpftool: [] as number[] };
const rss = { bpfload: [] as number[], bpftool: [] as number[], floor: [] as number[] };
for (let i = 0; i < runs + 2; i++) {
  let t = performance.now();
  const a = Bun.spawnSync([bpfload, "load", obj, "--no-attach"], { stdout: "ignore", stderr: "pipe" });
  const ta = performance.now() - t;
  if (a.exitCode !== 0) throw new Error(`bpfload: ${a.stderr}`);
  const pin = `/sys/fs/bpf/bpfload-bench-core-${process.pid}`;
  t = performance.now();
  const b = Bun.spawnSync([bpftool, "prog", "loadall", obj, pin], { stdout: "ignore", stderr: "pipe" });
  const tb = performance.now() - t;
  rmSync(pin, { recursive: true, force: true });
  if (b.exitCode !== 0) throw new Error(`bpftool: ${b.stderr}`);
  const f = Bun.spawnSync([process.execPath, "-e", "0"], { stdout: "ignore" });
  if (i >= 2) {
    times.bpfload.push(ta);
    times.bpftool.push(tb);
    rss.bpfload.push(a.resourceUsage.maxRSS);
    rss.bpftool.push(b.resourceUsage.maxRSS);
    rss.floor.push(f.resourceUsage.maxRSS);
  }
}
const [tOurs, tTheirs] = [median(times.bpfload), median(times.bpftool)];
console.log(`2. whole process, load every program: bpfload load --no-attach ${ms(tOurs)}, bpftool prog loadall ${ms(tTheirs)}: ${(tOurs / tTheirs).toFixed(2)}x (target <= 1.2x)`);
const [rOurs, rFloor] = [median(rss.bpfload), median(rss.floor)];
console.log(`3. peak RSS: bpfload ${mb(rOurs)}, Bun's floor (bun -e 0) ${mb(rFloor)} + BTF ${mb(btfSize)} = ${mb(rFloor + btfSize)}: ${(rOurs / (rFloor + btfSize)).toFixed(2)}x (target <= 1.5x); bpftool ${mb(median(rss.bpftool))}`);

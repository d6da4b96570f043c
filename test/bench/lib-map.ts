// Benchmark (not a timed test): map get round trips per second through the library (BpfMap.get,
// number/bigint values) and the kernel layer under it (raw bytes), against a C loop on libbpf's
// bpf_map_lookup_elem and `bpftool map lookup` in a shell loop, on the same array map. As root:
//   npx bun test/bench/lib-map.ts
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { createMap } from "../../src/index.ts";

const REPO = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");
const dir = mkdtempSync(`${tmpdir()}/bpfload-bench-libmap-`);
const sh = (cmd: string[]) => {
  const r = Bun.spawnSync(cmd);
  if (r.exitCode !== 0) throw new Error(`${cmd.join(" ")}: ${r.stderr}`);
  return r.stdout.toString();
};
sh(["gcc", "-O2", `${REPO}/test/bench/lib-map.c`, "-lbpf", "-o", `${dir}/lookup`]);

const N = 300_000;
using map = createMap({ name: "bench", type: "array", keySize: 4, valueSize: 8, maxEntries: 1 });
map.set(0, 42n);
const id = Number(/^map_id:\s*(\d+)/m.exec(readFileSync(`/proc/self/fdinfo/${map.fd}`, "utf8"))![1]);

const rate = (fn: () => void, n: number) => {
  for (let i = 0; i < 10_000; i++) fn(); // warm up the JIT
  const t = performance.now();
  for (let i = 0; i < n; i++) fn();
  return n / ((performance.now() - t) / 1000);
};
const median = (xs: number[]) => xs.sort((a, b) => a - b)[xs.length >> 1]!;

const lib: number[] = [], raw: number[] = [], c: number[] = [];
const key = new Uint8Array(4);
for (let round = 0; round < 5; round++) {
  lib.push(rate(() => map.get(0), N));
  raw.push(rate(() => map.raw.lookup(key), N));
  c.push(Number(sh([`${dir}/lookup`, String(id), String(N)])));
}
const BPFTOOL_N = 100;
const t = performance.now();
sh(["sh", "-c", `i=0; while [ $i -lt ${BPFTOOL_N} ]; do bpftool map lookup id ${id} key 0 0 0 0 >/dev/null || exit 1; i=$((i+1)); done`]);
const bpftool = BPFTOOL_N / ((performance.now() - t) / 1000);
rmSync(dir, { recursive: true, force: true });

const fmt = (n: number) => `${Math.round(n).toLocaleString("en")}/s`;
console.log(`map get round trips (array map, key 4 B, value 8 B; median of 5 × ${N.toLocaleString("en")}):`);
console.log(`  bpfload BpfMap.get (decoded bigint)   ${fmt(median(lib))}   ${(median(c) / median(lib)).toFixed(2)}x slower than C`);
console.log(`  bpfload kernel layer (bytes)          ${fmt(median(raw))}   ${(median(c) / median(raw)).toFixed(2)}x slower than C`);
console.log(`  C loop, libbpf bpf_map_lookup_elem    ${fmt(median(c))}`);
console.log(`  bpftool map lookup, a process each     ${fmt(bpftool)}`);

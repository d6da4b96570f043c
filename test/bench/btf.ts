// Benchmark (not a test): reading this host's vmlinux BTF (/sys/kernel/btf/vmlinux, ~5 MB).
//  1. the index (one pass over the type records: lengths, kinds, name offsets checked) — what a
//     lookup of a few types costs, since types are decoded on demand;
//  2. a lookup by kind and name after the index (a struct every kernel has);
//  3. decoding every type, and decoding + printing all of it in bpftool's raw format;
//  4. `bpftool btf dump file /sys/kernel/btf/vmlinux > /dev/null`, whole process, for scale.
//   npx bun test/bench/btf.ts [runs] [file]
import { readFileSync } from "node:fs";
import { Btf, BTF_KIND_STRUCT } from "../../src/elf/btf.ts";
import { formatBtfRaw } from "../../src/elf/btf-format.ts";

const runs = Number(process.argv[2] ?? 20);
const file = process.argv[3] ?? "/sys/kernel/btf/vmlinux";
const bytes = new Uint8Array(readFileSync(file));
const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!;
const time = (n: number, f: () => void) => {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    f();
    out.push(performance.now() - t);
  }
  return median(out);
};

const t0 = performance.now();
let count = new Btf(bytes).typeCount;
const cold = performance.now() - t0;
const index = time(runs * 5, () => {
  count = new Btf(bytes).typeCount;
});
const lookup = time(runs * 5, () => {
  new Btf(bytes).find(BTF_KIND_STRUCT, "task_struct");
});
const all = time(Math.max(3, runs / 4), () => {
  new Btf(bytes).types;
});
const printed = time(3, () => {
  formatBtfRaw(new Btf(bytes));
});
console.log(`${file}: ${bytes.length} bytes, ${count - 1} types`);
console.log(`  index, first run (cold JIT)   ${cold.toFixed(2)} ms`);
console.log(`  index (lazy parse)            median ${index.toFixed(2)} ms`);
console.log(`  index + find task_struct      median ${lookup.toFixed(2)} ms`);
console.log(`  decode every type             median ${all.toFixed(1)} ms`);
console.log(`  decode + bpftool raw format   median ${printed.toFixed(0)} ms`);

const bpftool = Bun.which("bpftool");
if (!bpftool) {
  console.log("  bpftool: not installed, no comparison");
} else {
  const whole = time(5, () => {
    Bun.spawnSync(["sh", "-c", `"$0" btf dump file "$1" > /dev/null`, bpftool, file]);
  });
  console.log(`  bpftool btf dump file > /dev/null (process) median ${whole.toFixed(0)} ms`);
}

// CO-RE conformance against libbpf: for every object of the selftests corpus (built by
// selftests.sh into work/obj) that has CO-RE relocations, the engine's results against this
// kernel's BTF compared with those libbpf's debug log gives (bpftool -d prog loadall), relocation
// by relocation. By hand, as root: bun test/conformance/core-oracle.ts [PATTERN]
// (takes /tmp/bpfload-kernel.lock around each bpftool run; pins nothing that outlives it).
import { readdirSync } from "node:fs";
import { bpfloadRelocations, compareRelocations, libbpfRelocations } from "../kernel/core-oracle.ts";

const dir = `${import.meta.dir}/work/obj`;
const pattern = new RegExp(`^${(process.argv[2] ?? "*").replace(/[.]/g, "\\.").replace(/\*/g, ".*")}\\.o$`);
const LOCK = process.env.LOCK ?? "/tmp/bpfload-kernel.lock";
let objects = 0, relocations = 0, agree = 0;
const bad: string[] = [];
for (const f of readdirSync(dir).filter((n) => pattern.test(n)).sort()) {
  const path = `${dir}/${f}`;
  let ours;
  try {
    ours = await bpfloadRelocations(path);
  } catch (e) {
    bad.push(`${f}: bpfload: ${(e as Error).message}`);
    continue;
  }
  if (!ours.results.length) continue;
  objects++;
  relocations += ours.results.length;
  const theirs = libbpfRelocations(path, 10, LOCK);
  const c = compareRelocations(theirs, ours.lines);
  agree += c.agree;
  const logged = theirs.lines.size + theirs.failed.size;
  console.log(`${f}: ${ours.results.length} relocations, libbpf logged ${logged}, agree ${c.agree}${c.disagree.length ? `, DISAGREE ${c.disagree.length}` : ""}`);
  for (const d of c.disagree.slice(0, 5)) bad.push(`${f}: ${d}`);
}
console.log(`\n${objects} objects with CO-RE relocations, ${relocations} relocations, ${agree} agree with libbpf, ${bad.length} problems`);
for (const b of bad) console.log(b);

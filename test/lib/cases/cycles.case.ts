// Run by test/lib/lifetime.test.ts in a process of its own: 1,000 load/close cycles of a collection,
// measured where no other test file's allocations move the RSS (bun test runs every file in one
// process). Prints one JSON line: fds and RSS before and after.
import { readdirSync, readFileSync } from "node:fs";
import { load, readObject } from "../../../src/index.ts";

const fdCount = () => readdirSync("/proc/self/fd").length;
const rssKb = () => Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync("/proc/self/status", "utf8"))![1]);
const spec = await readObject(new URL("../../../examples/ci/counter.o", import.meta.url).pathname);
const cycle = () => {
  using coll = load(spec);
  coll.maps.get("execs")!.set(1, 1n);
};
for (let i = 0; i < 300; i++) cycle(); // warm up: JIT tiers, allocator arenas, feature probes (RSS settles after a few hundred)
Bun.gc(true);
const fds = fdCount();
const rss = rssKb();
for (let i = 0; i < 1000; i++) cycle();
Bun.gc(true);
console.log(JSON.stringify({ fdsBefore: fds, fdsAfter: fdCount(), rssBeforeKb: rss, rssAfterKb: rssKb() }));

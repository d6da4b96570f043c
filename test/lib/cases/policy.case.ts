// Run by test/lib/policy.test.ts as a plain script: what the library does to the process before
// and after setup(). Prints one JSON line.
import { readFileSync } from "node:fs";
import { createMap, load, readObject, setup, SystemError } from "../../../src/index.ts";
import { tracefs } from "../../../src/kernel/tracefs/tracefs.ts";

const memlock = () => /^Max locked memory\s+(\S+)/m.exec(readFileSync("/proc/self/limits", "utf8"))![1];
const listeners = () => ["SIGINT", "SIGTERM", "SIGHUP"].map((s) => process.listenerCount(s)).join(",");
const out: Record<string, unknown> = { memlockBefore: memlock() };
if (process.argv[2] === "tracefs") {
  try {
    tracefs();
    out.tracefs = "found";
  } catch (e) {
    out.tracefs = e instanceof SystemError ? e.message : `not a SystemError: ${e}`;
  }
} else {
  const spec = await readObject(new URL("../../../examples/ci/counter.o", import.meta.url).pathname);
  {
    using coll = load(spec);
    using link = coll.programs.get("on_execve")!.attach();
    using m = createMap({ type: "array", keySize: 4, valueSize: 4, maxEntries: 1 });
    out.listenersWhileAttached = listeners();
    out.memlockAfterLoad = memlock();
  }
  setup({ memlock: true, signals: true });
  createMap({ type: "array", keySize: 4, valueSize: 4, maxEntries: 1 }).close();
  out.listenersAfterSetup = listeners();
  out.memlockAfterSetup = memlock();
}
console.log(JSON.stringify(out));

// The example's tests: what a CI job runs with `bun test` in a privileged container. Each test
// loads the object, sets a knob, runs or attaches a program, observes it and cleans up (`using`).
// Unprivileged (a laptop, a container without --privileged) they are skipped and say why.
import { expect } from "bun:test";
import { load, openEvents, readObject } from "bpfload";
import { collect, kernelTest } from "bpfload/test";

const OBJECT = new URL("../counter.o", import.meta.url).pathname;

kernelTest("the socket filter returns the verdict set before loading, and counts per CPU", { minKernel: "5.2" }, async () => {
  const spec = await readObject(OBJECT);
  spec.variables.get("verdict")!.set(1);
  using coll = load(spec, { programs: ["count_packets"] });

  const run = coll.programs.get("count_packets")!.testRun({ data: new Uint8Array(64), repeat: 10 });
  expect(run.retval).toBe(1);
  const perCpu = coll.maps.get("packets")!.get(0) as bigint[]; // one value per possible CPU
  expect(perCpu.reduce((a, b) => a + b, 0n)).toBe(10n);
});

kernelTest("execve() is counted, printed and sent through the ring buffer", { minKernel: "5.8" }, async () => {
  const spec = await readObject(OBJECT);
  using coll = load(spec);
  using events = openEvents(coll.maps.get("events")!, { btf: spec.btf });
  const prog = coll.programs.get("on_execve")!;

  let pid = 0;
  const lines = await collect(prog, async () => {
    using link = prog.attach(); // where its section says: tracepoint/syscalls/sys_enter_execve
    const child = Bun.spawn(["/bin/true"]);
    pid = child.pid;
    await child.exited;
  });

  expect(lines.map((l) => l.message)).toContain(`execve by ${pid}`);
  expect(events.poll().map((r) => (r.value as { pid: number }).pid)).toContain(pid);
  expect(coll.maps.get("execs")!.get(pid)).toBe(1n);
});

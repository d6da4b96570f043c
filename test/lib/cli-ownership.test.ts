// `bpfload load` holds the library's wrappers (Collection, its Programs and BpfMaps, the Links):
// it must close each of them, so that nothing stays open and the leak safety net (which closes and
// reports a wrapper collected while open) never has one of the CLI's to report. runLoad in this
// process, then forced GCs: the fd table is as before and no leak was reported.
import { afterAll, describe, expect, test } from "bun:test";
import { readdirSync } from "node:fs";
import { runLoad } from "../../src/cli/load.ts";
import { Output } from "../../src/cli/output.ts";
import { trackLeaks, type LeakReport } from "../../src/index.ts";
import { canUseKernel, kernelSkipReason, REPO } from "../support.ts";

/** Says nothing: the test looks at fds and leak reports only. */
class Quiet extends Output {
  readonly lines: string[] = [];
  override raw(text: string | Uint8Array): void {
    this.lines.push(String(text));
  }
  override info(text: string): void {
    this.lines.push(text);
  }
  override detail(): void {}
  override event(_type: string, _fields: Record<string, unknown>, text?: string): void {
    if (text !== undefined) this.lines.push(text);
  }
}

const fds = () => readdirSync("/proc/self/fd").length;
const leaks: LeakReport[] = [];
const previous = trackLeaks({ onLeak: (l) => leaks.push(l) });
afterAll(() => trackLeaks(previous));

async function settle(): Promise<void> {
  for (let i = 0; i < 3; i++) {
    Bun.gc(true);
    await Bun.sleep(10); // FinalizationRegistry callbacks run in a later task
  }
}

describe.skipIf(!canUseKernel)(`runLoad closes what it holds${kernelSkipReason ? ` (${kernelSkipReason})` : ""}`, () => {
  const cases: [string, string, Parameters<typeof runLoad>[2]][] = [
    ["an object, loaded only (maps printed at exit)", `${REPO}/test/fixtures/globals.o`, { attachProgram: false }],
    ["an object attached and detached at once (--duration 0)", `${REPO}/examples/ci/counter.o`, { program: "on_execve", duration: 0 }],
    ["an iterator, run to its end", `${REPO}/test/fixtures/iter_count.o`, {}],
  ];
  for (const [what, file, opts] of cases) {
    test(what, async () => {
      await settle();
      leaks.length = 0;
      const before = fds();
      for (let i = 0; i < 5; i++) {
        const out = new Quiet({});
        expect(await runLoad(out, file, opts)).toBe(0);
        expect(out.lines.length).toBeGreaterThan(0);
      }
      await settle();
      expect(leaks.map((l) => l.what)).toEqual([]);
      expect(fds()).toBe(before);
    });
  }
});

// Lifetimes: `using` closes, closing twice is harmless, the GC safety net closes and reports a
// leaked fd, and 1,000 load/close cycles of a collection leave no fd and little memory behind.
import { describe, expect, test } from "bun:test";
import { createMap, load, readObject, trackLeaks, type LeakReport } from "../../src/index.ts";
import { canUseKernel, kernelSkipReason, REPO } from "../support.ts";

const EXAMPLE = `${REPO}/examples/ci/counter.o`;
const isOpen = (fd: number) => {
  try {
    return /anon_inode:bpf/.test(require("node:fs").readlinkSync(`/proc/self/fd/${fd}`));
  } catch {
    return false;
  }
};

describe.skipIf(!canUseKernel)(`lifetimes${kernelSkipReason ? ` (${kernelSkipReason})` : ""}`, () => {
  test("using closes the collection, its programs and maps; close twice is harmless", async () => {
    const spec = await readObject(EXAMPLE);
    let fds: number[] = [];
    {
      using coll = load(spec);
      fds = [...[...coll.programs.values()].map((p) => p.fd), ...[...coll.maps.values()].map((m) => m.fd)];
      expect(fds.every(isOpen)).toBe(true);
    }
    expect(fds.some(isOpen)).toBe(false);
    await using coll = load(spec);
    coll.close();
    coll.close();
    coll.programs.get("count_packets")!.close();
  });

  test("the GC safety net closes a map nobody closed, and reports it", async () => {
    const leaks: LeakReport[] = [];
    const previous = trackLeaks({ onLeak: (l) => leaks.push(l) });
    try {
      let fd = -1;
      (() => {
        const m = createMap({ name: "forgotten", type: "array", keySize: 4, valueSize: 4, maxEntries: 1 });
        fd = m.fd;
      })();
      expect(isOpen(fd)).toBe(true);
      for (let i = 0; i < 20 && !leaks.length; i++) {
        Bun.gc(true);
        await Bun.sleep(10);
      }
      expect(leaks.map((l) => l.what)).toContain("map 'forgotten'");
      expect(isOpen(fd)).toBe(false);
      // a map closed by hand is not reported
      leaks.length = 0;
      (() => createMap({ name: "closed", type: "array", keySize: 4, valueSize: 4, maxEntries: 1 }).close())();
      for (let i = 0; i < 5; i++) {
        Bun.gc(true);
        await Bun.sleep(10);
      }
      expect(leaks.map((l) => l.what)).not.toContain("map 'closed'");
    } finally {
      trackLeaks(previous);
    }
  });

  test("1,000 load/close cycles: no fd growth, RSS growth under 5 MB (in a process of their own)", async () => {
    const p = Bun.spawn([process.execPath, "test/lib/cases/cycles.case.ts"], { cwd: REPO, stdout: "pipe", stderr: "pipe" });
    const [text, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
    expect([code, err]).toEqual([0, ""]);
    const r = JSON.parse(text.trim().split("\n").pop()!);
    expect(r.fdsAfter).toBe(r.fdsBefore);
    const grew = r.rssAfterKb - r.rssBeforeKb;
    console.log(`1,000 load/close cycles: RSS grew ${grew} kB`);
    expect(grew).toBeLessThan(5 * 1024);
  }, 120_000);
});

// The maps printed after a good load: a map the kernel will not read back (a lookup refused) is
// said so and does not turn the load into an error; `map dump` (printMap) still fails. The real
// case (an sk_reuseport object's REUSEPORT_SOCKARRAY, lookup ENOSPC) runs as root, with bpftool as
// the oracle that nothing stays loaded.
import { describe, expect, test } from "bun:test";
import { printMap, printMapAtExit } from "../../src/cli/maps.ts";
import { Output } from "../../src/cli/output.ts";
import { SyscallError } from "../../src/errors.ts";
import type { BpfMap } from "../../src/kernel/map.ts";
import { canUseKernel, REPO, runCli } from "../support.ts";

class Capture extends Output {
  readonly lines: string[] = [];
  readonly events: { type: string; fields: Record<string, unknown> }[] = [];
  override info(text: string): void {
    this.lines.push(text);
  }
  override event(type: string, fields: Record<string, unknown>, text?: string): void {
    this.events.push({ type, fields });
    if (text !== undefined) this.lines.push(text);
  }
}

/** A hash map with one key whose value lookup the kernel refuses with `errno`. */
function refusingMap(error: Error): BpfMap {
  return {
    typeName: "hash",
    perCpu: false,
    def: { name: "m", type: 1, keySize: 4, valueSize: 4, maxEntries: 4, flags: 0 },
    valueCopies: () => 1,
    *keys() {
      yield new Uint8Array(4);
    },
    *entries() {
      throw error;
    },
  } as unknown as BpfMap;
}

const ENOSPC = 28;

describe("maps printed at exit", () => {
  test("a lookup the kernel refuses: one line naming the errno, no error, the JSON event has entries null", () => {
    const out = new Capture({});
    printMapAtExit(out, "socks", refusingMap(new SyscallError("map 'socks': lookup element", "BPF_MAP_LOOKUP_ELEM", ENOSPC)));
    expect(out.lines.at(-1)).toMatch(/^map 'socks' \(hash\): not readable from user space \(.*ENOSPC/);
    expect(out.events.at(-1)).toMatchObject({ type: "map", fields: { name: "socks", entries: null } });
  });

  test("map dump (printMap) still fails with the kernel's answer; a bug (not a syscall refusal) is not hidden at exit", () => {
    expect(() => printMap(new Capture({}), "socks", refusingMap(new SyscallError("lookup", "BPF_MAP_LOOKUP_ELEM", ENOSPC)))).toThrow("ENOSPC");
    expect(() => printMapAtExit(new Capture({}), "socks", refusingMap(new TypeError("boom")))).toThrow("boom");
  });
});

test("an event map (ringbuf, perf_event_array) at exit says its records streamed while watching, not that it is unreadable", () => {
  for (const typeName of ["ringbuf", "perf_event_array"]) {
    const out = new Capture({});
    printMap(out, "events", { ...refusingMap(new Error("not read")), typeName } as unknown as BpfMap);
    expect(out.lines).toEqual([`map 'events' (${typeName}): an event stream (its records are printed while watching), no entries to list`]);
    expect(out.events.at(-1)).toMatchObject({ type: "map", fields: { name: "events", entries: null } });
  }
});

const bpftool = Bun.which("bpftool");
describe.skipIf(!canUseKernel || !bpftool)("an sk_reuseport object's REUSEPORT_SOCKARRAY (as root, bpftool as the oracle)", () => {
  test("reuseport.o --no-attach: exit 0, the sockarray said unreadable, the other map printed, nothing left loaded", async () => {
    const r = await runCli(["load", `${REPO}/test/fixtures/reuseport.o`, "--no-attach"]);
    expect(r.stderr).not.toContain("bpfload:");
    expect(r.stderr).toContain("map 'socks' (reuseport_sockarray): not readable as data");
    expect(r.stderr).toContain("map 'picks' (array, 1 entries");
    expect(r.code).toBe(0);
    const json = await runCli(["load", `${REPO}/test/fixtures/reuseport.o`, "--no-attach", "--json"]);
    expect(json.code).toBe(0);
    const maps = json.stdout.trim().split("\n").map((l) => JSON.parse(l)).filter((e) => e.type === "map");
    expect(maps.map((m) => m.name).sort()).toEqual(["picks", "socks"]);
    const names = (JSON.parse(Bun.spawnSync([bpftool!, "prog", "show", "-j"]).stdout.toString() || "[]") as { name?: string }[]).map((p) => p.name);
    expect(names).not.toContain("pick");
  });
});

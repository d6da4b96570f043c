// `bpfload map ...` and `bpfload prog ...` against bpftool's view of the same objects: maps made
// and pinned by bpftool are changed by bpfload and read back by bpftool, and the other way round.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, rmSync } from "node:fs";
import { parseBytes } from "../../src/cli/map.ts";
import { UsageError } from "../../src/errors.ts";
import { canUseKernel, REPO, runCli } from "../support.ts";

describe("keys and values as users write them", () => {
  test.each([
    ["5", 4, "05000000"],
    ["0x1f", 2, "1f00"],
    ["-1", 4, "ffffffff"],
    ["-128", 1, "80"],
    ["18446744073709551615", 8, "ffffffffffffffff"],
    ["hex:01020304", 4, "01020304"],
    ["hex:01 02:03 04", 4, "01020304"],
    ["01 00 00 00", 4, "01000000"],
    ["0", 16, "00".repeat(16)],
  ])("%s in %d bytes", (text, size, want) => {
    expect(Buffer.from(parseBytes(text, size, "key")).toString("hex")).toBe(want);
  });

  test.each([
    ["256", 1, /out of range/],
    ["-129", 1, /out of range/],
    ["hex:0102", 4, /2 bytes given/],
    ["hex:012", 2, /pairs of hex digits/],
    ["abc", 4, /not a number/],
    ["1.5", 4, /not a number/],
  ])("%s in %d bytes is refused", (text, size, why) => {
    expect(() => parseBytes(text, size, "key")).toThrow(UsageError);
    expect(() => parseBytes(text, size, "key")).toThrow(why);
  });
});

const bpftool = Bun.which("bpftool") ?? (existsSync("/usr/sbin/bpftool") ? "/usr/sbin/bpftool" : undefined);
const skip = !canUseKernel ? "kernel tests need root" : !bpftool ? "no bpftool" : undefined;
if (skip) console.warn(`[skip] map/prog commands against bpftool: ${skip}`);

const DIR = `/sys/fs/bpf/bpfload-test-${process.pid}`;
const tool = (...args: string[]) => {
  const r = Bun.spawnSync([bpftool!, ...args], { stdout: "pipe", stderr: "pipe" });
  return { code: r.exitCode, out: r.stdout.toString(), err: r.stderr.toString() };
};
const toolJson = (...args: string[]) => JSON.parse(tool("-j", ...args).out);
const bpfload = async (...args: string[]) => runCli(args);
const jsonLines = (s: string) => s.trim().split("\n").filter(Boolean).map((l) => JSON.parse(l));

describe.skipIf(!!skip)("map and prog commands against bpftool", () => {
  beforeAll(() => {
    Bun.spawnSync(["mkdir", "-p", DIR]);
    for (const [name, spec] of [
      ["h", ["type", "hash", "key", "4", "value", "8", "entries", "8", "name", "bl_hash"]],
      ["pc", ["type", "percpu_array", "key", "4", "value", "4", "entries", "2", "name", "bl_percpu"]],
      ["q", ["type", "queue", "key", "0", "value", "4", "entries", "4", "name", "bl_queue"]],
      ["f", ["type", "array", "key", "4", "value", "4", "entries", "1", "name", "bl_frozen"]],
    ] as const) {
      const r = tool("map", "create", `${DIR}/${name}`, ...spec);
      if (r.code !== 0) throw new Error(r.err);
    }
    const p = tool("prog", "load", `${REPO}/test/fixtures/xdp_drop.o`, `${DIR}/prog`);
    if (p.code !== 0) throw new Error(p.err);
  });
  afterAll(() => rmSync(DIR, { recursive: true, force: true }));

  test("update by bpfload, seen by bpftool; update by bpftool, looked up by bpfload", async () => {
    expect((await bpfload("map", "update", `${DIR}/h`, "7", "0x1122")).code).toBe(0);
    const dumped = toolJson("map", "dump", "pinned", `${DIR}/h`) as { key: string[]; value: string[] }[];
    expect(dumped.map((e) => [e.key.join(""), e.value.join("")])).toEqual([["0x070x000x000x00", "0x220x110x000x000x000x000x000x00"]]);
    tool("map", "update", "pinned", `${DIR}/h`, "key", "9", "0", "0", "0", "value", "1", "2", "0", "0", "0", "0", "0", "0");
    const r = await bpfload("map", "lookup", `${DIR}/h`, "9", "--json");
    expect(r.code).toBe(0);
    expect(jsonLines(r.stdout)[0]).toMatchObject({ keyInt: 9, value: "01 02 00 00 00 00 00 00", valueInt: 0x201 });
  });

  test("by name:NAME and by id, as bpftool lists them", async () => {
    const info = toolJson("map", "show", "pinned", `${DIR}/h`) as { id: number; name: string; type: string; bytes_key: number; bytes_value: number; max_entries: number };
    for (const ref of ["name:bl_hash", String(info.id), `id:${info.id}`, `${DIR}/h`]) {
      const r = await bpfload("map", "show", ref, "--json");
      expect([ref, r.code]).toEqual([ref, 0]);
      expect(jsonLines(r.stdout)[0]).toEqual({ id: info.id, mapType: info.type, name: info.name, keySize: info.bytes_key, valueSize: info.bytes_value, maxEntries: info.max_entries, flags: 0, btfId: 0 });
    }
    const list = jsonLines((await bpfload("map", "list", "--json")).stdout).map((m) => m.id);
    expect(list).toContain(info.id);
  });

  test("delete, then lookup and delete of a missing key fail with exit 1", async () => {
    expect((await bpfload("map", "delete", `${DIR}/h`, "7")).code).toBe(0);
    expect(toolJson("map", "dump", "pinned", `${DIR}/h`).length).toBe(1);
    const miss = await bpfload("map", "lookup", `${DIR}/h`, "7");
    expect(miss.code).toBe(1);
    expect(miss.stderr).toContain("no entry for key 7");
    expect((await bpfload("map", "delete", `${DIR}/h`, "7")).code).toBe(1);
  });

  test("per-CPU: one value on every CPU, as bpftool reads them", async () => {
    expect((await bpfload("map", "update", `${DIR}/pc`, "1", "42")).code).toBe(0);
    const e = (toolJson("map", "lookup", "pinned", `${DIR}/pc`, "key", "1", "0", "0", "0") as { values: { cpu: number; value: string[] }[] });
    expect(e.values.length).toBeGreaterThan(0);
    for (const v of e.values) expect(v.value).toEqual(["0x2a", "0x00", "0x00", "0x00"]);
    const r = jsonLines((await bpfload("map", "lookup", `${DIR}/pc`, "1", "--json")).stdout)[0];
    expect(r.sum).toBe(42 * e.values.length);
  });

  test("queue: push by bpfload, popped by bpftool in order; pushed by bpftool, popped by bpfload", async () => {
    for (const v of ["1", "2"]) expect((await bpfload("map", "push", `${DIR}/q`, v)).code).toBe(0);
    expect(toolJson("map", "pop", "pinned", `${DIR}/q`).value).toEqual(["0x01", "0x00", "0x00", "0x00"]);
    tool("map", "push", "pinned", `${DIR}/q`, "value", "5", "0", "0", "0");
    expect(jsonLines((await bpfload("map", "pop", `${DIR}/q`, "--json")).stdout)[0].valueInt).toBe(2);
    expect(jsonLines((await bpfload("map", "pop", `${DIR}/q`, "--json")).stdout)[0].valueInt).toBe(5);
    const empty = await bpfload("map", "pop", `${DIR}/q`);
    expect(empty.code).toBe(1);
    expect(empty.stderr).toContain("empty");
  });

  test("freeze: bpftool's update is refused afterwards", async () => {
    expect(tool("map", "update", "pinned", `${DIR}/f`, "key", "0", "0", "0", "0", "value", "1", "0", "0", "0").code).toBe(0);
    expect((await bpfload("map", "freeze", `${DIR}/f`)).code).toBe(0);
    expect(tool("map", "update", "pinned", `${DIR}/f`, "key", "0", "0", "0", "0", "value", "2", "0", "0", "0").code).not.toBe(0);
    const again = await bpfload("map", "update", `${DIR}/f`, "0", "3");
    expect(again.code).toBe(1);
    expect(again.stderr).toContain("EPERM");
  });

  test("prog show by pin path, id and name:NAME is what bpftool shows", async () => {
    const p = toolJson("prog", "show", "pinned", `${DIR}/prog`) as { id: number; type: string; name: string; tag: string; map_ids: number[]; bytes_xlated: number; bytes_jited: number; uid: number };
    for (const ref of [`${DIR}/prog`, String(p.id), `name:${p.name}`]) {
      const r = await bpfload("prog", "show", ref, "--json");
      expect([ref, r.code]).toEqual([ref, 0]);
      expect(jsonLines(r.stdout)[0]).toMatchObject({ id: p.id, progType: p.type, name: p.name, tag: p.tag, mapIds: p.map_ids, xlatedBytes: p.bytes_xlated, jitedBytes: p.bytes_jited, uid: p.uid });
    }
    expect(jsonLines((await bpfload("prog", "list", "--json")).stdout).map((x) => x.id)).toContain(p.id);
  });

  test("usage errors: exit 2 and one line", async () => {
    for (const args of [["map", "frob"], ["map", "lookup", `${DIR}/h`], ["map", "show", "bogus"], ["prog", "show"], ["map", "update", `${DIR}/h`, "1", "x"]]) {
      const r = await bpfload(...args);
      expect([args.join(" "), r.code]).toEqual([args.join(" "), 2]);
      expect(r.stderr.trim().split("\n").length).toBe(1);
    }
    const none = await bpfload("map", "show", "name:no_such_map_x");
    expect(none.code).toBe(2);
    expect(none.stderr).toContain("no map named");
  });
});

// Maps on the running kernel: per-CPU values (the kernel writes round_up(value_size, 8) × possible
// CPUs), whole-map iteration and printing, max_entries rules, running out of fds. bpftool is the
// oracle for what the kernel holds.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, readFileSync, rmSync } from "node:fs";
import { SyscallError } from "../../src/errors.ts";
import { loadCollection } from "../../src/kernel/collection.ts";
import { createMap, possibleCpus, type BpfMap } from "../../src/kernel/map.ts";
import { MAP_TYPES } from "../../src/uapi.ts";
import { canUseKernel, REPO, runCli } from "../support.ts";

const bpftool = Bun.which("bpftool");
const type = (name: string) => MAP_TYPES.indexOf(name as never);
const u32 = (n: number) => new Uint8Array(new Uint32Array([n]).buffer);
const PIN_DIR = `/sys/fs/bpf/bpfload-maps-test-${process.pid}`;

function mapId(m: BpfMap): string {
  return readFileSync(`/proc/self/fdinfo/${m.fd}`, "utf8").match(/map_id:\s*(\d+)/)![1]!;
}

type Dumped = { key: string[]; value?: string[]; values?: { cpu: number; value: string[] }[] };
function bpftoolDump(m: BpfMap): Dumped[] {
  const r = Bun.spawnSync([bpftool!, "map", "dump", "id", mapId(m), "-j"]);
  expect(r.exitCode).toBe(0);
  return JSON.parse(r.stdout.toString());
}
const bytes = (hex: string[]) => hex.map((h) => parseInt(h, 16));

/** A per-CPU value that differs in every byte position, key and CPU (and round). */
function pattern(size: number, key: number, cpu: number, round: number): Uint8Array {
  return Uint8Array.from({ length: size }, (_, i) => (key * 31 + cpu * 7 + i + round * 13 + 1) & 0xff);
}

afterAll(() => rmSync(PIN_DIR, { recursive: true, force: true }));

describe.skipIf(!canUseKernel)("per-CPU maps", () => {
  const cpus = possibleCpus();
  for (const mapType of ["percpu_array", "percpu_hash"]) {
    for (const valueSize of [4, 8, 12]) {
      test(`${mapType}, ${valueSize}-byte values on ${cpus} CPUs: update, lookup, iterate under forced GC`, () => {
        const KEYS = 16;
        const m = createMap({ name: "pcpu", type: type(mapType), keySize: 4, valueSize, maxEntries: KEYS, flags: 0 });
        try {
          const ROUNDS = 200;
          for (let round = 0; round < ROUNDS; round++) {
            for (let key = 0; key < KEYS; key++) {
              m.update(u32(key), Array.from({ length: cpus }, (_, cpu) => pattern(valueSize, key, cpu, round)));
            }
            if (round % 2 === 0) Bun.gc(true);
            for (let key = 0; key < KEYS; key++) {
              const got = m.lookupValues(u32(key))!;
              expect(got.length).toBe(cpus);
              got.forEach((v, cpu) => expect([...v]).toEqual([...pattern(valueSize, key, cpu, round)]));
            }
            let n = 0;
            for (const e of m.entries()) {
              const key = new DataView(e.key.buffer).getUint32(0, true);
              e.values.forEach((v, cpu) => expect([...v]).toEqual([...pattern(valueSize, key, cpu, round)]));
              n++;
            }
            expect(n).toBe(KEYS);
          }
          if (bpftool) {
            const dumped = bpftoolDump(m);
            expect(dumped.length).toBe(KEYS);
            for (const d of dumped) {
              const key = new DataView(Uint8Array.from(bytes(d.key)).buffer).getUint32(0, true);
              expect(d.values!.length).toBe(cpus);
              for (const { cpu, value } of d.values!) expect(bytes(value)).toEqual([...pattern(valueSize, key, cpu, ROUNDS - 1)]);
            }
          }
        } finally {
          m.close();
        }
      });
    }
  }

  test("a per-CPU map refuses a single value (it takes one per CPU) and lookup() points to lookupValues", () => {
    const m = createMap({ name: "pcpu", type: type("percpu_array"), keySize: 4, valueSize: 4, maxEntries: 1, flags: 0 });
    try {
      expect(() => m.update(u32(0), u32(1))).toThrow(/one per possible CPU/);
      expect(() => m.lookup(u32(0))).toThrow(/lookupValues/);
      expect(() => m.lookupValues(new Uint8Array(2))).toThrow(/key of 2 bytes/);
    } finally {
      m.close();
    }
  });

  test("map dump prints per-CPU values per CPU with their sum (text and JSON)", async () => {
    mkdirSync(PIN_DIR, { recursive: true });
    const m = createMap({ name: "counts", type: type("percpu_array"), keySize: 4, valueSize: 4, maxEntries: 2, flags: 0 });
    try {
      m.update(u32(1), Array.from({ length: cpus }, (_, cpu) => u32(10 + cpu)));
      m.pin(`${PIN_DIR}/counts`);
      const sum = Array.from({ length: cpus }, (_, cpu) => 10 + cpu).reduce((a, b) => a + b, 0);
      const text = await runCli(["map", "dump", `${PIN_DIR}/counts`]);
      expect(text.code).toBe(0);
      expect(text.stderr).toContain(`1 (01 00 00 00) => sum ${sum}: [cpu0 10 (0a 00 00 00)`);
      expect(text.stderr).toContain(`map '${PIN_DIR}/counts' (percpu_array, 2 entries, key 4 B, value 4 B per CPU, ${cpus} CPUs):`);
      expect(text.stderr).toContain("(1 of 2 entries all-zero, not shown)");
      const json = JSON.parse((await runCli(["map", "dump", `${PIN_DIR}/counts`, "--json"])).stdout);
      expect(json.cpus).toBe(cpus);
      expect(json.entries).toEqual([{ key: "01 00 00 00", keyInt: 1, values: Array.from({ length: cpus }, (_, c) => `${(10 + c).toString(16).padStart(2, "0")} 00 00 00`), valueInts: Array.from({ length: cpus }, (_, c) => 10 + c), sum }]);
    } finally {
      m.close();
      rmSync(`${PIN_DIR}/counts`, { force: true });
    }
  });
});

describe.skipIf(!canUseKernel)("whole maps", () => {
  test("map dump prints every entry of a 5,000-entry hash (text and JSON), as bpftool sees them", async () => {
    mkdirSync(PIN_DIR, { recursive: true });
    const N = 5000;
    const m = createMap({ name: "big", type: type("hash"), keySize: 4, valueSize: 8, maxEntries: N, flags: 0 });
    try {
      for (let k = 0; k < N; k++) m.update(u32(k * 3), new Uint8Array(new BigUint64Array([BigInt(k) * 1000n]).buffer));
      m.pin(`${PIN_DIR}/big`);
      const text = await runCli(["map", "dump", `${PIN_DIR}/big`]);
      expect(text.code).toBe(0);
      const lines = text.stderr.split("\n").filter((l) => l.includes(" => "));
      expect(lines.length).toBe(N);
      expect(text.stderr).toContain(`(hash, ${N} entries, key 4 B, value 8 B):`);
      const json = JSON.parse((await runCli(["map", "dump", `${PIN_DIR}/big`, "--json"])).stdout);
      expect(json.count).toBe(N);
      const got = new Map<number, number>(json.entries.map((e: { keyInt: number; valueInts: number[] }) => [e.keyInt, e.valueInts[0]]));
      expect(got.size).toBe(N);
      if (bpftool) {
        const dumped = bpftoolDump(m);
        expect(dumped.length).toBe(N);
        for (const d of dumped) {
          const key = new DataView(Uint8Array.from(bytes(d.key)).buffer).getUint32(0, true);
          const value = Number(new DataView(Uint8Array.from(bytes(d.value!)).buffer).getBigUint64(0, true));
          expect(got.get(key)).toBe(value);
        }
      }
      // The library streams the same entries.
      let n = 0;
      for (const _ of m.entries()) n++;
      expect(n).toBe(N);
    } finally {
      m.close();
      rmSync(`${PIN_DIR}/big`, { force: true });
    }
  }, 30_000);
});

describe.skipIf(!canUseKernel)("max_entries and fds", () => {
  test("a perf_event_array with max_entries 0 gets one slot per possible CPU (libbpf's rule), noted for --verbose", () => {
    const spec = { name: "events", kind: "map", section: "maps", type: type("perf_event_array"), keySize: 4, valueSize: 4, maxEntries: 0, flags: 0 };
    const col = loadCollection({ file: "synthetic.o", maps: [spec], programs: [], functions: [] } as never);
    try {
      const m = col.maps.get("events")!;
      expect(m.def.maxEntries).toBe(possibleCpus());
      if (bpftool) {
        const shown = JSON.parse(Bun.spawnSync([bpftool, "map", "show", "id", mapId(m), "-j"]).stdout.toString());
        expect(shown.max_entries).toBe(possibleCpus());
      }
      expect(col.notes.join("\n")).toContain("max_entries 0 means one per CPU");
    } finally {
      col.close();
    }
  });

  test("max_entries 0 for another map type: the hint says so", () => {
    let err: unknown;
    try {
      createMap({ name: "h", type: type("hash"), keySize: 4, valueSize: 4, maxEntries: 0, flags: 0 }).close();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SyscallError);
    expect((err as SyscallError).errnoName).toBe("EINVAL");
    expect((err as Error).message).toContain("max_entries is 0");
  });

  test("running out of fds while creating maps: EMFILE, exit 1, raise ulimit -n", () => {
    const script = `
      import { createMap } from "${REPO}/src/kernel/map.ts";
      const maps = [];
      try {
        for (let i = 0; i < 1000; i++) maps.push(createMap({ name: "m", type: 2, keySize: 4, valueSize: 4, maxEntries: 1, flags: 0 }));
        console.log(JSON.stringify({ error: null }));
      } catch (e) {
        console.log(JSON.stringify({ errno: e.errnoName, exitCode: e.exitCode, message: e.message }));
      }`;
    const file = `/tmp/bpfload-emfile-${process.pid}.ts`;
    require("node:fs").writeFileSync(file, script);
    try {
      const r = Bun.spawnSync(["/bin/sh", "-c", `ulimit -n 40 && exec "${process.execPath}" "${file}"`]);
      const out = JSON.parse(r.stdout.toString().trim().split("\n").pop()!);
      expect(out.errno).toBe("EMFILE");
      expect(out.exitCode).toBe(1);
      expect(out.message).toContain("ulimit -n");
    } finally {
      rmSync(file, { force: true });
    }
  });
});

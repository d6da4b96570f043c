// Maps through the library: per-CPU values with the kernel's stride under forced GC, batch and
// per-key iteration agreeing with each other and with bpftool, queue/stack, freeze, BTF values.
import { describe, expect, test } from "bun:test";
import { createMap, load, readObject, SyscallError, SystemError, InvalidArgumentError } from "../../src/index.ts";
import { setBatchSupport } from "../../src/lib/map.ts";
import { possibleCpus } from "../../src/sys/cpus.ts";
import { canUseKernel, kernelSkipReason, REPO } from "../support.ts";

const EXAMPLE = `${REPO}/examples/ci/counter.o`;

function bpftoolDump(id: number): { key: number[]; values?: { cpu: number; value: number[] }[]; value?: number[] }[] {
  const r = Bun.spawnSync(["bpftool", "-j", "map", "dump", "id", String(id)]);
  return JSON.parse(r.stdout.toString()).map((e: { key: string[]; value?: string[]; values?: { cpu: number; value: string[] }[] }) => ({
    key: e.key.map(Number),
    value: e.value?.map(Number),
    values: e.values?.map((v) => ({ cpu: v.cpu, value: v.value.map(Number) })),
  }));
}

function mapId(fd: number): number {
  const text = require("node:fs").readFileSync(`/proc/self/fdinfo/${fd}`, "utf8") as string;
  return Number(/^map_id:\s*(\d+)/m.exec(text)![1]);
}

describe.skipIf(!canUseKernel)(`maps on the running kernel${kernelSkipReason ? ` (${kernelSkipReason})` : ""}`, () => {
  for (const valueSize of [4, 8, 12]) {
    test(`percpu_array of ${valueSize}-byte values: set, get, iterate under forced GC, bpftool agrees`, async () => {
      const cpus = possibleCpus();
      using m = createMap({ type: "percpu_array", keySize: 4, valueSize, maxEntries: 8 });
      const valueFor = (key: number, cpu: number) => {
        const v = new Uint8Array(valueSize);
        for (let i = 0; i < valueSize; i++) v[i] = (key * 31 + cpu * 7 + i) & 0xff;
        return v;
      };
      for (let round = 0; round < 12; round++) {
        for (let k = 0; k < 8; k++) m.set(k, Array.from({ length: cpus }, (_, c) => (valueSize === 12 ? valueFor(k, c) : valueFor(k, c))));
        Bun.gc(true);
        for (let k = 0; k < 8; k++) {
          const got = m.get(k) as unknown[];
          expect(got.length).toBe(cpus);
          got.forEach((v, c) => {
            const bytes = valueSize === 12 ? (v as Uint8Array) : (() => {
              const b = new Uint8Array(valueSize);
              let n = BigInt(v as number | bigint);
              for (let i = 0; i < valueSize; i++) (b[i] = Number(n & 0xffn)), (n >>= 8n);
              return b;
            })();
            expect([...bytes]).toEqual([...valueFor(k, c)]);
          });
        }
        const seen: number[] = [];
        for await (const [k, v] of m.entries()) {
          if (k === 3) Bun.gc(true); // mid-iteration: the batch buffers must survive a full collection
          seen.push(k as number);
          expect((v as unknown[]).length).toBe(cpus);
        }
        expect(seen).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
      }
      // the oracle: bpftool's view of the same map, CPU by CPU
      const dump = bpftoolDump(mapId(m.fd));
      expect(dump.length).toBe(8);
      for (const e of dump) {
        const k = e.key[0]!;
        for (const { cpu, value } of e.values!) expect(value).toEqual([...valueFor(k, cpu)]);
      }
    }, 60_000); // a full GC per step is slow when the whole suite's heap is live
  }

  test("one value for a per-CPU map sets every CPU", () => {
    using m = createMap({ type: "percpu_hash", keySize: 4, valueSize: 8, maxEntries: 4 });
    m.set(3, 9n);
    expect(m.get(3)).toEqual(Array.from({ length: possibleCpus() }, () => 9n));
  });

  test("hash: batch iteration (5.6+) and per-key iteration give the same entries, which bpftool sees", async () => {
    using m = createMap({ type: "hash", keySize: 4, valueSize: 8, maxEntries: 4096 });
    for (let i = 0; i < 3000; i++) m.set(i * 3, BigInt(i) << 20n);
    const collect = async (batchSize?: number) => {
      const out = new Map<number, bigint>();
      for await (const [k, v] of m.entries({ batchSize })) {
        expect(out.has(k as number)).toBe(false);
        out.set(k as number, v as bigint);
      }
      return out;
    };
    const batched = await collect(7); // small batches: many calls, and hash buckets bigger than a batch (ENOSPC → grow)
    setBatchSupport(false);
    let perKey: Map<number, bigint>;
    try {
      perKey = await collect();
    } finally {
      setBatchSupport(undefined);
    }
    expect(batched.size).toBe(3000);
    expect([...batched].sort((a, b) => a[0] - b[0])).toEqual([...perKey].sort((a, b) => a[0] - b[0]));
    const dump = bpftoolDump(mapId(m.fd));
    expect(dump.length).toBe(3000);
    for (const e of dump.slice(0, 50)) {
      const key = e.key[0]! | (e.key[1]! << 8) | (e.key[2]! << 16) | (e.key[3]! << 24);
      const value = e.value!.reduce((acc, b, i) => acc | (BigInt(b) << BigInt(8 * i)), 0n);
      expect(batched.get(key)).toBe(value);
    }
  });

  test("get/has/delete/set modes; keys(); empty map iterates to nothing", async () => {
    using m = createMap({ type: "hash", keySize: 8, valueSize: 4, maxEntries: 16 });
    const none: unknown[] = [];
    for await (const e of m.entries()) none.push(e);
    expect(none).toEqual([]);
    m.set(1n, 10);
    expect(m.has(1n)).toBe(true);
    expect(m.get(2n)).toBeUndefined();
    expect(() => m.set(1n, 11, "noexist")).toThrow(SyscallError);
    expect(() => m.set(2n, 11, "exist")).toThrow(/ENOENT/);
    m.set(1n, 12, "exist");
    expect(m.get(1n)).toBe(12);
    const keys: unknown[] = [];
    for await (const k of m.keys()) keys.push(k);
    expect(keys).toEqual([1n]);
    expect(m.delete(1n)).toBe(true);
    expect(m.delete(1n)).toBe(false);
    expect(() => m.set(1n, 2 ** 32)).toThrow(InvalidArgumentError);
    expect(() => m.set(new Uint8Array(3), 1)).toThrow(/3 bytes given, 8 expected/);
  });

  test("queue push/pop/peek, freeze refuses later writes", () => {
    using q = createMap({ type: "queue", keySize: 0, valueSize: 4, maxEntries: 4 });
    q.push(1);
    q.push(2);
    expect(q.peek()).toBe(1);
    expect(q.pop()).toBe(1);
    expect(q.pop()).toBe(2);
    expect(q.pop()).toBeUndefined();
    using a = createMap({ type: "array", keySize: 4, valueSize: 4, maxEntries: 1 });
    a.set(0, 5);
    a.freeze();
    expect(() => a.set(0, 6)).toThrow(/EPERM/);
    expect(a.get(0)).toBe(5);
  });

  test("closed twice is harmless; a closed map says so", () => {
    const m = createMap({ type: "array", keySize: 4, valueSize: 4, maxEntries: 1 });
    m.close();
    m.close();
    expect(m.fd).toBe(-1);
    expect(() => m.get(0)).toThrow(SystemError);
    expect(() => m.get(0)).toThrow("map 'array' is closed");
  });

  test("BTF-typed maps of an object: integers by their BTF type", async () => {
    using coll = load(await readObject(EXAMPLE));
    const execs = coll.maps.get("execs")!;
    execs.set(7, 3n);
    expect(execs.get(7)).toBe(3n);
    expect(() => execs.set(-1, 1n)).toThrow(/out of range for an unsigned 32-bit integer/);
    expect(coll.maps.get("packets")!.get(0)).toEqual(Array.from({ length: possibleCpus() }, () => 0n));
  });
});

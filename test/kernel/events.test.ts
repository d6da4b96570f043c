// Ringbuf and perf_event_array readers on the running kernel: every record the program sent
// arrives (the program's own `stats` counter, read with bpftool map dump, is the oracle), fields
// decode with the object's BTF, a producer faster than the reader makes losses that are counted
// and printed, and the readers work as async iterators.
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { parseAttachSpec } from "../../src/attach-spec.ts";
import { readObject } from "../../src/elf/index.ts";
import { attach } from "../../src/kernel/attach/index.ts";
import { loadCollection, type Collection } from "../../src/kernel/collection.ts";
import { decodeRecord, findEventType, openEventReaders, type EventRecord } from "../../src/kernel/events/index.ts";
import type { BpfMap } from "../../src/kernel/map.ts";
import { objectBtf } from "../../src/cli/records.ts";
import { canUseKernel, kernelSkipReason, REPO } from "../support.ts";

const FIX = `${REPO}/test/fixtures`;
const bpftool = Bun.which("bpftool");
const python = Bun.which("python3");
const skip = kernelSkipReason ?? (!bpftool ? "no bpftool (apt-get install bpftool)" : !python ? "no python3 to trigger getppid" : undefined);
if (skip && canUseKernel) console.warn(`[skip] events tests: ${skip}`);

/** Calls getppid `n` times in a fresh process; returns its pid. */
function trigger(n: number): number {
  const p = Bun.spawnSync([python!, "-c", `import os\nfor _ in range(${n}): os.getppid()\nprint(os.getpid())`]);
  return Number(p.stdout.toString().trim());
}

function mapId(m: BpfMap): string {
  return readFileSync(`/proc/self/fdinfo/${m.fd}`, "utf8").match(/map_id:\s*(\d+)/)![1]!;
}

/** stats[0] as bpftool reads it: the records the program sent. */
function sentByBpftool(m: BpfMap): number {
  const r = Bun.spawnSync([bpftool!, "map", "dump", "id", mapId(m), "-j"]);
  const entries = JSON.parse(r.stdout.toString()) as { key: string[]; value: string[] }[];
  const v = entries.find((e) => e.key.every((b) => parseInt(b, 16) === 0))!.value.map((b) => parseInt(b, 16));
  return v.reduce((sum, b, i) => sum + b * 2 ** (8 * i), 0);
}

async function withObject<T>(name: string, fn: (col: Collection) => Promise<T> | T): Promise<T> {
  const obj = await readObject(readFileSync(`${FIX}/${name}.o`), `${name}.o`);
  const col = loadCollection(obj);
  const link = attach(col.programs[0]!.program, parseAttachSpec("tracepoint:syscalls:sys_enter_getppid"));
  try {
    return await fn(col);
  } finally {
    link.close();
    col.close();
  }
}

describe.skipIf(!!skip)("event readers", () => {
  for (const name of ["ringbuf", "perf_array"]) {
    test(`${name}: every record sent arrives, in order per producer, decoded with BTF`, async () => {
      await withObject(name, async (col) => {
        const readers = openEventReaders(col.maps);
        try {
          expect(readers.map((r) => r.kind)).toEqual([name === "ringbuf" ? "ringbuf" : "perf_event_array"]);
          const got: EventRecord[] = [];
          const pid = trigger(50); // 50 records fit a one-page ring (40 bytes each)
          for (const r of readers) r.poll((rec) => got.push(rec));
          const sent = sentByBpftool(col.maps.get("stats")!);
          expect(got.length).toBe(sent); // nothing lost, nothing made up
          expect(readers[0]!.lost).toBe(0);
          const btf = objectBtf(readFileSync(`${FIX}/${name}.o`), name)!;
          const type = findEventType(btf)!;
          const mine = got.map((r) => Object.fromEntries(decodeRecord(btf, type, r.data).map((f) => [f.name, f.value]))).filter((f) => f.pid === pid && String(f.comm).startsWith("python")); // (before exec the child is still "bun")
          expect(mine.length).toBeGreaterThanOrEqual(50); // python's own start-up calls getppid too
          const seqs = mine.map((f) => Number(f.seq));
          expect(seqs).toEqual([...seqs].sort((a, b) => a - b)); // one producer: its records in order
          if (name === "perf_array") expect(got.every((r, i) => r.cpu === Number(Object.fromEntries(decodeRecord(btf, type, got[i]!.data).map((f) => [f.name, f.value])).cpu))).toBe(true);
        } finally {
          for (const r of readers) r.close();
        }
      });
    });
  }

  test("ringbuf as an async iterator", async () => {
    await withObject("ringbuf", async (col) => {
      const [reader] = openEventReaders(col.maps);
      const seen: EventRecord[] = [];
      const done = (async () => {
        for await (const r of reader!) {
          seen.push(r);
          if (seen.length >= 5) break;
        }
      })();
      trigger(10);
      await done;
      reader!.close();
      expect(seen.length).toBe(5);
      expect(seen[0]!.map).toBe("events");
    });
  });
});

describe.skipIf(!!skip)("losses are counted and printed", () => {
  for (const name of ["ringbuf", "perf_array"]) {
    test(`${name}: a tight getppid loop outruns the reader; the exit line and a 'lost' line say how many`, async () => {
      // The reader keeps up with a plain loop now (it sleeps in ppoll and wakes per record), so
      // it is made slower than the producer for certain: stopped (SIGSTOP) while the loop runs,
      // once bpfload is watching (1.5 s covers start-up under the lock). A few calls after
      // SIGCONT let perf write its LOST record (the kernel does when the ring has room again).
      const p = Bun.spawn([process.execPath, `${REPO}/src/main.ts`, "load", `${FIX}/${name}.o`, "--duration", "4", "--json"], { stdout: "pipe", stderr: "pipe", timeout: 20000 });
      const outText = new Response(p.stdout).text();
      await Bun.sleep(1500);
      process.kill(p.pid, "SIGSTOP");
      trigger(300000);
      process.kill(p.pid, "SIGCONT");
      await Bun.sleep(300);
      trigger(1000);
      const r = { code: await p.exited, stdout: await outText };
      expect(r.code).toBe(0);
      const objs = r.stdout.trim().split("\n").map((l) => JSON.parse(l));
      const lost = objs.filter((o) => o.type === "lost").reduce((s, o) => s + o.count, 0);
      const exit = objs.find((o) => o.type === "exit");
      const records = objs.filter((o) => o.type === "record").length;
      expect(lost).toBeGreaterThan(0);
      expect(exit.lost).toBe(lost);
      expect(exit.records).toBe(records);
      // The program's own count (printed with the maps at exit). Ringbuf: sent + dropped is every
      // call, and the drops are what bpfload reported. Perf: the kernel writes a LOST record only
      // when the ring has room again, so losses after the last record stay untold (≤).
      const count = (map: string) => Number(objs.find((o) => o.type === "map" && o.name === map).entries[0]?.valueInts[0] ?? 0);
      if (name === "ringbuf") {
        expect(records).toBe(count("stats"));
        expect(lost).toBe(count("events_dropped"));
      } else {
        expect(records + lost).toBeLessThanOrEqual(count("stats"));
        expect(records).toBeLessThan(count("stats"));
      }
    }, 30000);
  }
});

// Every public call of the library, driven with bad input, fails with a BpfloadError (never a plain
// Error, RangeError or TypeError): a test report can then show `e.errnoName`, `e.hint` and
// `e.minKernel` through the base class. Pure cases run anywhere; kernel cases need root.
import { describe, expect, test } from "bun:test";
import {
  assemble, BpfloadError, createMap, decode, disassemble, formatAttachSpec, load, loadProgram, openEvents, openPinnedMap, parseAttachSpec,
  parseObject, readObject, type CollectionSpec,
} from "../../src/index.ts";
import { kernelTest } from "../../src/test.ts";
import { canUseKernel, kernelSkipReason, REPO } from "../support.ts";

const OBJECT = `${REPO}/examples/ci/counter.o`;
const bytes = new Uint8Array(await Bun.file(OBJECT).arrayBuffer());

/** What `fn` threw or rejected with; fails when it returned normally. */
async function failure(what: string, fn: () => unknown): Promise<unknown> {
  try {
    await fn();
  } catch (e) {
    return e;
  }
  throw new Error(`${what}: did not throw`);
}

/** `fn` fails, with a BpfloadError whose message is one line. */
async function expectBpfloadError(what: string, fn: () => unknown): Promise<BpfloadError> {
  const e = await failure(what, fn);
  if (!(e instanceof BpfloadError)) throw new Error(`${what}: threw ${(e as Error)?.constructor?.name}: ${(e as Error)?.message ?? e}`);
  expect(e.message).not.toContain("\n");
  return e;
}

/** `fn` either works or fails with a BpfloadError (for inputs some of which are valid). */
async function okOrBpfloadError(what: string, fn: () => unknown): Promise<void> {
  try {
    await fn();
  } catch (e) {
    if (!(e instanceof BpfloadError)) throw new Error(`${what}: threw ${(e as Error)?.constructor?.name}: ${(e as Error)?.message ?? e}`);
  }
}

const fresh = (): Promise<CollectionSpec> => readObject(OBJECT);

test("the base class carries errno, errnoName, hint, minKernel (undefined when absent) and cause", async () => {
  const e = await expectBpfloadError("missing file", () => readObject("/nonexistent/prog.o"));
  const base: BpfloadError = e; // no cast: the fields are the base class's
  expect(base.errno).toBe(2);
  expect(base.errnoName).toBe("ENOENT");
  expect(base.minKernel).toBeUndefined();
  expect(base.name).toBe("FileError");
  const u = await expectBpfloadError("unknown map type", () => createMap({ type: "hashmap", keySize: 4, valueSize: 4, maxEntries: 1 }));
  expect(u.errno).toBeUndefined();
  expect(u.errnoName).toBeUndefined();
});

test("readObject: a missing path, a device, a directory, bytes that are no ELF object", async () => {
  for (const path of ["/nonexistent/prog.o", "/dev/zero", "/tmp", ""]) await expectBpfloadError(path, () => readObject(path));
  for (const b of [new Uint8Array(0), new Uint8Array([0x7f, 0x45, 0x4c, 0x46]), new Uint8Array(64), new TextEncoder().encode("not an object at all")]) {
    await expectBpfloadError(`${b.length} bytes`, () => readObject(b, "bad.o"));
  }
});

test("readObject and parseObject on the example object cut short at every 97th byte", async () => {
  for (let n = 0; n < bytes.length; n += 97) {
    await expectBpfloadError(`cut at ${n}`, () => readObject(bytes.slice(0, n), "cut.o"));
    await okOrBpfloadError(`parseObject cut at ${n}`, () => parseObject(bytes.slice(0, n), "cut.o"));
  }
});

test("readObject on the example object with bytes overwritten (a fixed seed: the same cases every run)", async () => {
  let seed = 12345;
  const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 8) / 0x1000000;
  for (let i = 0; i < 300; i++) {
    const b = bytes.slice();
    const at = Math.floor(rand() * b.length);
    for (let j = 0; j < 8 && at + j < b.length; j++) b[at + j] = rand() < 0.5 ? 0xff : Math.floor(rand() * 256);
    await okOrBpfloadError(`bytes ${at}..${at + 8} overwritten`, async () => {
      const spec = await readObject(b, "flipped.o");
      for (const v of spec.variables.values()) v.get();
    });
  }
});

test("spec edits: sizes, flags and variables out of range or of the wrong kind", async () => {
  const spec = await fresh();
  const map = spec.maps.get("packets")!;
  for (const n of [-1, 1.5, NaN, Infinity, 2 ** 32, 0]) await okOrBpfloadError(`maxEntries = ${n}`, () => (map.maxEntries = n));
  for (const n of [-1, 1.5, NaN, 2 ** 32]) await expectBpfloadError(`maxEntries = ${n}`, () => (map.maxEntries = n));
  for (const n of [-1, 0.5, 2 ** 33]) await expectBpfloadError(`flags = ${n}`, () => (map.flags = n));
  const verdict = spec.variables.get("verdict")!;
  for (const v of [2 ** 40, -1, 1.5, "abc", "", true, 10n ** 30n, [1, 2], { x: 1 }, new Uint8Array(100), new Uint8Array(0)]) {
    await expectBpfloadError(`verdict.set(${String(v)})`, () => verdict.set(v as never));
  }
  await expectBpfloadError("a replacement that is closed", () => {
    map.replaceWith(-1);
    return load(spec);
  });
});

test("load: programs it does not have, a spec loaded with no programs wanted", async () => {
  await expectBpfloadError("unknown program", async () => load(await fresh(), { programs: ["nope"] }));
  await expectBpfloadError("empty name", async () => load(await fresh(), { programs: [""] }));
});

test("pure helpers: attach specs, assembly, instructions", async () => {
  for (const s of ["", "nonsense", "kprobe:", "uprobe:/bin/sh", "tracepoint:a", "xdp:", "tc:lo:sideways", "cgroup:", "perf_event:x", "uprobe:/bin/sh:+", "kprobe:f+-1", "kprobe:f+0x1ffffffffffffffff"]) {
    await expectBpfloadError(`parseAttachSpec(${s})`, () => parseAttachSpec(s));
  }
  await okOrBpfloadError("formatAttachSpec of a bogus kind", () => formatAttachSpec({ kind: "bogus" } as never));
  for (const src of ["r0 = ", "goto nowhere", "r0 = 0x1ffffffffffffffff\nexit", "call 99999999999\nexit", "\u0000"]) {
    await expectBpfloadError(`assemble(${JSON.stringify(src)})`, () => assemble(src));
  }
  for (const b of [new Uint8Array(3), new Uint8Array([0x18, 0, 0, 0, 0, 0, 0, 0]), new Uint8Array(8).fill(0xff)]) {
    await okOrBpfloadError(`decode of ${b.length} bytes`, () => decode(b));
    await okOrBpfloadError(`disassemble of ${b.length} bytes`, () => disassemble(b));
  }
});

describe.skipIf(!canUseKernel)(`kernel calls with bad input${kernelSkipReason ? ` (${kernelSkipReason})` : ""}`, () => {
  test("createMap: sizes the kernel refuses, numbers out of their fields' ranges", async () => {
    const base = { type: "hash", keySize: 4, valueSize: 4, maxEntries: 1 };
    for (const bad of [{ keySize: 0 }, { keySize: -1 }, { keySize: 1.5 }, { valueSize: 2 ** 32 }, { maxEntries: 0 }, { maxEntries: -5 }, { flags: -1 }, { flags: 2 ** 40 }, { name: "x".repeat(100) }, { name: "bad name\n" }]) {
      await okOrBpfloadError(JSON.stringify(bad), () => createMap({ ...base, ...bad }).close());
    }
    for (const bad of [{ keySize: 0 }, { keySize: -1 }, { valueSize: 2 ** 32 }, { maxEntries: -5 }, { flags: 2 ** 40 }]) {
      await expectBpfloadError(JSON.stringify(bad), () => createMap({ ...base, ...bad }));
    }
  });

  test("map operations: keys and values of the wrong size or kind, a bad update mode, a closed map", async () => {
    using m = createMap({ type: "hash", keySize: 4, valueSize: 4, maxEntries: 2 });
    for (const k of [new Uint8Array(3), new Uint8Array(5), 2 ** 32, 1.5, NaN, "key", [1], { a: 1 }]) {
      await expectBpfloadError(`get(${String(k)})`, () => m.get(k as never));
      await expectBpfloadError(`set(${String(k)}, 1)`, () => m.set(k as never, 1));
      await expectBpfloadError(`delete(${String(k)})`, () => m.delete(k as never));
    }
    for (const v of [new Uint8Array(8), 2 ** 32, -(2 ** 31) - 1, "v", 1n << 40n]) await expectBpfloadError(`set(1, ${String(v)})`, () => m.set(1, v as never));
    await expectBpfloadError("update mode", () => m.set(1, 1, "sometimes" as never));
    using pc = createMap({ type: "percpu_array", keySize: 4, valueSize: 4, maxEntries: 1 });
    await expectBpfloadError("per-CPU value array of the wrong length", () => pc.set(0, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 63, 64, 65, 66, 67, 68, 69, 70, 71, 72, 73, 74, 75, 76, 77, 78, 79, 80, 81, 82, 83, 84, 85, 86, 87, 88, 89, 90, 91, 92, 93, 94, 95, 96, 97, 98, 99, 100, 101, 102, 103, 104, 105, 106, 107, 108, 109, 110, 111, 112, 113, 114, 115, 116, 117, 118, 119, 120, 121, 122, 123, 124, 125, 126, 127, 128, 129, 130, 131, 132, 133, 134, 135, 136, 137, 138, 139, 140, 141, 142, 143, 144, 145, 146, 147, 148, 149, 150, 151, 152, 153, 154, 155, 156, 157, 158, 159, 160, 161, 162, 163, 164, 165, 166, 167, 168, 169, 170, 171, 172, 173, 174, 175, 176, 177, 178, 179, 180, 181, 182, 183, 184, 185, 186, 187, 188, 189, 190, 191, 192, 193, 194, 195, 196, 197, 198, 199, 200, 201, 202, 203, 204, 205, 206, 207, 208, 209, 210, 211, 212, 213, 214, 215, 216, 217, 218, 219, 220, 221, 222, 223, 224, 225, 226, 227, 228, 229, 230, 231, 232, 233, 234, 235, 236, 237, 238, 239, 240, 241, 242, 243, 244, 245, 246, 247, 248, 249, 250, 251, 252, 253, 254, 255, 256, 257, 258, 259, 260, 261, 262, 263, 264, 265, 266, 267, 268, 269, 270, 271, 272, 273, 274, 275, 276, 277, 278, 279, 280, 281, 282, 283, 284, 285, 286, 287, 288, 289, 290, 291, 292, 293, 294, 295, 296, 297, 298, 299, 300]));
    await expectBpfloadError("push on a hash map", () => m.push(1));
    await expectBpfloadError("pop on a hash map", () => m.pop());
    m.close();
    await expectBpfloadError("get on a closed map", () => m.get(1));
    await expectBpfloadError("keys() of a closed map", async () => {
      for await (const _ of m.keys());
    });
  });

  test("load of objects with bytes overwritten: loaded and closed, or a BpfloadError (CO-RE and plain)", async () => {
    let seed = 777;
    const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 8) / 0x1000000;
    for (const file of [OBJECT, `${REPO}/test/fixtures/core.o`]) {
      const original = new Uint8Array(await Bun.file(file).arrayBuffer());
      for (let i = 0; i < 80; i++) {
        const b = original.slice();
        const at = Math.floor(rand() * b.length);
        for (let j = 0; j < 4 && at + j < b.length; j++) b[at + j] = Math.floor(rand() * 256);
        await okOrBpfloadError(`${file}: bytes ${at}..${at + 4} overwritten`, async () => load(await readObject(b, "flipped.o")).close());
      }
    }
  }, 60_000);

  test("an object that breaks code under load (a CO-RE relocation's bytes): an ObjectError with the original as cause", async () => {
    const b = new Uint8Array(await Bun.file(`${REPO}/test/fixtures/core.o`).arrayBuffer());
    b.set([163, 180, 93, 54], 1116); // found by the test above: a RangeError in the CO-RE engine before the fix
    const e = await expectBpfloadError("core.o with 4 bytes overwritten", async () => load(await readObject(b, "broken.o")));
    expect(e.message).toStartWith("broken.o: cannot be processed (RangeError");
    expect(e.cause).toBeInstanceOf(RangeError);
    expect(e.exitCode).toBe(2);
  });

  test("openPinnedMap / openEvents / loadProgram with what they cannot use", async () => {
    for (const p of ["/nonexistent/map", "relative/map", "", "/sys/fs/bpf", "/proc/self/status"]) await expectBpfloadError(`openPinnedMap(${p})`, () => openPinnedMap(p));
    using a = createMap({ type: "array", keySize: 4, valueSize: 4, maxEntries: 1 });
    await expectBpfloadError("openEvents of an array", () => openEvents(a));
    const insns = assemble("r0 = 0\nexit");
    await expectBpfloadError("unknown program type", () => loadProgram({ name: "p", type: "sockfilter" as never, insns }));
    await expectBpfloadError("no exit", () => loadProgram({ name: "p", type: "socket_filter", insns: assemble("r0 = 0") }));
    await expectBpfloadError("half an instruction", () => loadProgram({ name: "p", type: "socket_filter", insns: insns.subarray(0, 12) }));
  });

  test("Program: attach to nothing or nonsense, testRun with what the program cannot take", async () => {
    using coll = load(await fresh());
    const prog = coll.programs.get("count_packets")!;
    for (const t of ["", "nonsense", "tracepoint:nope:nope", "kprobe:definitely_no_such_function_xyz", "uprobe:/nonexistent:main", "xdp:no_such_if0"]) {
      await expectBpfloadError(`attach(${t})`, () => prog.attach(t).close());
    }
    await expectBpfloadError("testRun repeat -1", () => prog.testRun({ data: new Uint8Array(64), repeat: -1 }));
    await expectBpfloadError("testRun of a tracepoint program", () => coll.programs.get("on_execve")!.testRun({ data: new Uint8Array(64) }));
    await expectBpfloadError("pin where no BPF filesystem is", () => prog.pin("/tmp/bpfload-not-bpffs"));
  });
});

// kernelTest itself, given options it cannot use, fails where the test is declared (as root or not).
const declared = [
  ["minKernel 'abc'", () => kernelTest("never registered", { minKernel: "abc" }, () => {})],
  ["minKernel ''", () => kernelTest("never registered", { minKernel: "" }, () => {})],
  ["feature 'bogus'", () => kernelTest("never registered", { feature: "bogus" as never }, () => {})],
] as const;
const declaredErrors = await Promise.all(declared.map(([what, fn]) => failure(what, fn).catch((e) => e)));
test("kernelTest: a minKernel that is no version, a feature that does not exist", () => {
  declared.forEach(([what], i) => {
    const e = declaredErrors[i];
    if (!(e instanceof BpfloadError)) throw new Error(`${what}: threw ${(e as Error)?.constructor?.name}: ${(e as Error)?.message ?? e}`);
  });
});

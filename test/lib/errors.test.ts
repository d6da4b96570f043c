// Errors a test report can show: every failure through the library is a BpfloadError subclass,
// with errno/errnoName/hint where a syscall failed and minKernel where a feature is missing.
import { describe, expect, test } from "bun:test";
import { BpfloadError, createMap, FileError, load, NotSupportedError, openEvents, readObject, SyscallError, InvalidArgumentError } from "../../src/index.ts";
import { setFeatureAnswer } from "../../src/test.ts";
import { canUseKernel, kernelSkipReason, REPO } from "../support.ts";
import { thrown } from "../thrown.ts";

test("bad input before any syscall: InvalidArgumentError / FileError (pure)", async () => {
  const e = thrown(() => createMap({ type: "hashmap", keySize: 4, valueSize: 4, maxEntries: 1 }));
  expect(e).toBeInstanceOf(InvalidArgumentError);
  expect((e as Error).message).toMatch(/^unknown map type 'hashmap' \(.*hash/);
  const missing = await readObject("/nonexistent/prog.o").catch((x) => x);
  expect(missing).toBeInstanceOf(FileError);
  expect(missing).toBeInstanceOf(BpfloadError);
  expect((missing as FileError).errnoName).toBe("ENOENT");
  const spec = await readObject(`${REPO}/examples/ci/counter.o`);
  expect(thrown(() => load(spec, { programs: ["nope"] }))).toBeInstanceOf(InvalidArgumentError);
});

describe.skipIf(!canUseKernel)(`errors from the kernel${kernelSkipReason ? ` (${kernelSkipReason})` : ""}`, () => {
  test("a refused map update: SyscallError with errno, errnoName and the call", () => {
    using m = createMap({ type: "hash", keySize: 4, valueSize: 4, maxEntries: 2 });
    m.set(1, 1);
    const e = thrown(() => m.set(1, 2, "noexist")) as SyscallError;
    expect(e).toBeInstanceOf(SyscallError);
    expect(e.errno).toBe(17);
    expect(e.errnoName).toBe("EEXIST");
    expect(e.call).toBe("BPF_MAP_UPDATE_ELEM");
  });

  test("events from a map that carries none: InvalidArgumentError, not a RangeError", () => {
    using m = createMap({ type: "array", keySize: 4, valueSize: 4, maxEntries: 1 });
    expect(thrown(() => openEvents(m))).toBeInstanceOf(InvalidArgumentError);
  });

  test("a feature the kernel lacks: NotSupportedError with minKernel", async () => {
    setFeatureAnswer("globalData", false); // play a 4.19 kernel
    try {
      const spec = await readObject(`${REPO}/test/fixtures/globals.o`);
      const e = thrown(() => load(spec)) as NotSupportedError;
      expect(e).toBeInstanceOf(NotSupportedError);
      expect(e.minKernel).toBe("5.2");
      expect(e.message).toContain("requires Linux >= 5.2");
    } finally {
      setFeatureAnswer("globalData", undefined);
    }
  });
});

import { expect, test } from "bun:test";
import { NotSupportedError } from "../src/errors.ts";
import { FEATURE_SINCE, MAP_TYPE_SINCE, PROG_TYPE_SINCE, newerThan, since } from "../src/since.ts";
import { MAP_TYPES, PROG_TYPES, kernelVersionCode } from "../src/uapi.ts";

test("every program and map type has the version that brought it", () => {
  for (const t of PROG_TYPES.slice(1)) expect([t, PROG_TYPE_SINCE[t]]).toEqual([t, expect.any(Array)]);
  for (const t of MAP_TYPES.slice(1)) expect([t, MAP_TYPE_SINCE[t]]).toEqual([t, expect.any(Array)]);
});

test("the table agrees with KERNEL-FACTS' loader rows", () => {
  expect(since(FEATURE_SINCE["BPF-to-BPF calls"])).toBe("4.16");
  expect(since(FEATURE_SINCE["raw tracepoints"])).toBe("4.17");
  expect(since(FEATURE_SINCE["global data (.data/.rodata/.bss)"])).toBe("5.2");
  expect(since(FEATURE_SINCE["BPF on syscalls:* tracepoints"])).toBe("4.14");
});

test("the feature probes' rows (libbpf's and the kernel's history)", () => {
  expect(since(FEATURE_SINCE.expected_attach_type)).toBe("4.17");
  expect(since(FEATURE_SINCE["BTF functions (FUNC, FUNC_PROTO)"])).toBe("5.0");
  expect(since(FEATURE_SINCE["BTF variables (VAR, DATASEC)"])).toBe("5.2");
  expect(since(FEATURE_SINCE["BTF global functions"])).toBe("5.6");
  expect(since(FEATURE_SINCE.BTF_KIND_FLOAT)).toBe("5.13");
  expect(since(FEATURE_SINCE.BTF_KIND_DECL_TAG)).toBe("5.16");
  expect(since(FEATURE_SINCE.BTF_KIND_TYPE_TAG)).toBe("5.17");
  expect(since(FEATURE_SINCE.BTF_KIND_ENUM64)).toBe("6.0");
  expect(since(FEATURE_SINCE["verifier log_true_size"])).toBe("6.4");
  expect(since(FEATURE_SINCE["verifier log of up to 1 GiB"])).toBe("5.2");
});

test("newerThan compares against LINUX_VERSION_CODE", () => {
  expect(newerThan([4, 14], kernelVersionCode(4, 9, 228))).toBe(true);
  expect(newerThan([4, 14], kernelVersionCode(4, 14, 0))).toBe(false);
  expect(newerThan([5, 2], kernelVersionCode(6, 1, 0))).toBe(false);
});

test("a NotSupportedError names the feature and the version", () => {
  const e = new NotSupportedError("raw tracepoints", "4.17");
  expect(e.message).toBe("raw tracepoints is not supported by this kernel (requires Linux >= 4.17)");
  expect(e.exitCode).toBe(1);
});

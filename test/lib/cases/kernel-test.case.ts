// Run by test/lib/kernel-test.test.ts in a subprocess: kernelTest's verdicts as bun test reports them.
import { expect } from "bun:test";
import { createMap } from "../../../src/index.ts";
import { kernelTest, setFeatureAnswer } from "../../../src/test.ts";

if (process.env.BPFLOAD_CASE_LIE) setFeatureAnswer("bpfLink", false); // a probe that lies: says 5.7's bpf_link is missing

kernelTest("makes a map", {}, () => {
  using m = createMap({ type: "array", keySize: 4, valueSize: 4, maxEntries: 1 });
  expect(m.fd).toBeGreaterThan(0);
});
kernelTest("uses bpf_link", { feature: "bpfLink" }, () => {});
kernelTest("needs a future kernel", { minKernel: "99.0" }, () => {});

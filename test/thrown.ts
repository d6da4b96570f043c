// What a call threw, for tests that look at the error's fields (a call that returns fails the test).
import { expect } from "bun:test";
import { BpfloadError } from "../src/errors.ts";

/** The error `fn` threw; fails the test when it returned, or, with `bpfload` (the default), when the error is no BpfloadError. */
export function thrown(fn: () => unknown, kind: "bpfload" | "any" = "bpfload"): BpfloadError {
  try {
    fn();
  } catch (e) {
    if (kind === "bpfload") expect(e).toBeInstanceOf(BpfloadError);
    return e as BpfloadError;
  }
  throw new Error("no error was thrown");
}

// Attach-spec and trace-line parsers under random and mutated text (see text-props.ts).
import { describe, test } from "bun:test";
import { assertProperty, propertyRuns } from "./lib.ts";
import { TEXT_PROPERTIES, traceLineNoThrow } from "./text-props.ts";

describe("text parsers", () => {
  // Huge digit runs are rare in mutated lines (the first came at case 1993 of the fixed seed) and a
  // case costs microseconds: twenty times the count for that property.
  for (const p of TEXT_PROPERTIES) {
    const runs = p === traceLineNoThrow ? 20 * propertyRuns() : propertyRuns();
    test(p.name, async () => void (await assertProperty(p as never, runs)), 60_000);
  }
});

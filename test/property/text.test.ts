// Attach-spec and trace-line parsers under random and mutated text (see text-props.ts).
import { describe, test } from "bun:test";
import { assertProperty } from "./lib.ts";
import { TEXT_PROPERTIES } from "./text-props.ts";

describe("text parsers", () => {
  for (const p of TEXT_PROPERTIES) test(p.name, async () => void (await assertProperty(p as never)), 60_000);
});

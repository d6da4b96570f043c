// ELF and BTF readers under mutated and random input (see elf-props.ts; seed and count: lib.ts).
import { describe, expect, test } from "bun:test";
import { BTF_PROPERTIES, ELF_PROPERTIES } from "./elf-props.ts";
import { assertProperty } from "./lib.ts";

const T = 60_000; // a whole property, generous for a loaded 2-core machine; each case has its own hang check

describe("ELF reader", () => {
  for (const p of ELF_PROPERTIES) test(p.name, async () => void (await assertProperty(p as never)), T);

  test("memory stays bounded over a run of hostile objects", async () => {
    Bun.gc(true);
    const before = process.memoryUsage().rss;
    for (const p of ELF_PROPERTIES) await assertProperty(p as never, 100);
    Bun.gc(true);
    // a leak or a huge allocation per case would show as hundreds of MB here
    expect(process.memoryUsage().rss - before).toBeLessThan(512 * 1024 * 1024);
  }, T);
});

describe("BTF reader", () => {
  for (const p of BTF_PROPERTIES) test(p.name, async () => void (await assertProperty(p as never)), T);
});

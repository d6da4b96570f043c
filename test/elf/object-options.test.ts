// --set and --map on the btf_load fixture: values typed by the BTF, with range checks and clear errors.
import { describe, expect, test } from "bun:test";
import { Btf, readObject } from "../../src/elf/index.ts";
import { resizeMap, setVariable } from "../../src/elf/object-options.ts";
import { InvalidArgumentError } from "../../src/errors.ts";
import { fixture, shdr } from "./helpers.ts";

async function object() {
  const bytes = fixture("btf_load");
  const obj = await readObject(bytes, "btf_load.o");
  const s = shdr(bytes, ".BTF");
  return { obj, btf: new Btf(bytes.slice(s.offset, s.offset + s.size)) };
}
const rodata = (obj: Awaited<ReturnType<typeof object>>["obj"]) => [...obj.maps.find((m) => m.name === ".rodata")!.initialData!];

describe("--set", () => {
  test("each type at its symbol's offset; untouched bytes keep the compiled value", async () => {
    const { obj, btf } = await object();
    const before = rodata(obj);
    setVariable(obj, btf, "delta=-2");
    const after = rodata(obj);
    expect(after.slice(0, 4)).toEqual(before.slice(0, 4)); // answer = 7 stays
    expect(after.slice(4, 8)).toEqual([0xfe, 0xff, 0xff, 0xff]);
    setVariable(obj, btf, "answer=0xffffffff");
    setVariable(obj, btf, "tag=abcdefg");
    setVariable(obj, btf, "how=5");
    expect(rodata(obj)).toEqual([255, 255, 255, 255, 0xfe, 255, 255, 255, 97, 98, 99, 100, 101, 102, 103, 0, 0, 0, 0, 0, 5, 0, 0, 0]);
  });
  test("out of range, not a number, too long, unknown enum or variable: InvalidArgumentError naming it", async () => {
    const { obj, btf } = await object();
    const err = (a: string) => {
      try {
        setVariable(obj, btf, a);
      } catch (e) {
        expect(e).toBeInstanceOf(InvalidArgumentError);
        return (e as Error).message;
      }
      return "no error";
    };
    expect(err("answer=4294967296")).toContain("out of range for an unsigned 32-bit integer");
    expect(err("delta=-2147483649")).toContain("out of range for a signed 32-bit integer");
    expect(err("answer=-1")).toContain("out of range");
    expect(err("answer=12abc")).toContain("is not an integer");
    expect(err("tag=abcdefgh")).toContain("does not fit in char[8]");
    expect(err("how=MODE_MAYBE")).toContain("not a value of enum mode (MODE_OFF, MODE_ON)");
    expect(err("loud=yes")).toContain("a bool takes true, false, 1 or 0");
    expect(err("nosuch=1")).toMatch(/no global variable 'nosuch'.*\(it has answer, delta, tag, loud, how\)/);
    expect(err("answer")).toContain("give NAME=VALUE");
  });
});

describe("--map", () => {
  test("max_entries and value_size change; unknown map or key is a usage error", async () => {
    const { obj } = await object();
    resizeMap(obj, "locks:max_entries=8");
    expect(obj.maps.find((m) => m.name === "locks")!.maxEntries).toBe(8);
    expect(() => resizeMap(obj, "nosuch:max_entries=1")).toThrow(/has no map 'nosuch'/);
    expect(() => resizeMap(obj, "locks:entries=1")).toThrow(/unknown 'entries'/);
    expect(() => resizeMap(obj, "locks:max_entries=x")).toThrow(/needs a number/);
  });
});

describe("initial values from .rel.maps", () => {
  test("map_values.o: jumps[1] = target, outer[2] = inner_a", async () => {
    const obj = await readObject(fixture("map_values"), "map_values.o");
    expect(obj.maps.find((m) => m.name === "jumps")!.initialValues).toEqual([{ index: 1, symbol: "target" }]);
    expect(obj.maps.find((m) => m.name === "outer")!.initialValues).toEqual([{ index: 2, symbol: "inner_a" }]);
  });
});

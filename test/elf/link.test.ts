// linkProgram(): map fds, global-data references and BPF-to-BPF callees land at the right places.
import { expect, test } from "bun:test";
import { BPF_PSEUDO_FUNC, linkProgram, linkProgramPieces, readObject, type ObjectSpec } from "../../src/elf/index.ts";
import { ObjectError } from "../../src/errors.ts";
import { fixture, readObjdump } from "./helpers.ts";

const load = (name: string) => readObject(fixture(name), `${name}.o`);
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const dv = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);
const imm = (b: Uint8Array, i: number) => dv(b).getInt32(i * 8 + 4, true);
const src = (b: Uint8Array, i: number) => b[i * 8 + 1]! >> 4;
const dst = (b: Uint8Array, i: number) => b[i * 8 + 1]! & 0xf;

function fds(o: ObjectSpec, base = 40): { mapFd(name: string): number; asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    mapFd(name: string) {
      asked.push(name);
      const i = o.maps.findIndex((m) => m.name === name);
      if (i < 0) throw new Error(`no map ${name}`);
      return base + i;
    },
  };
}

/** Everything except the patched ld_imm64 fields is unchanged. */
function expectOnlyPatched(before: Uint8Array, after: Uint8Array, patchedInsns: number[]) {
  expect(after.length).toBe(before.length);
  for (let i = 0; i < before.length / 8; i++) {
    if (patchedInsns.includes(i) || patchedInsns.includes(i - 1)) continue;
    expect(hex(after.subarray(i * 8, i * 8 + 8))).toBe(hex(before.subarray(i * 8, i * 8 + 8)));
  }
}

test("legacy maps: ld_imm64 gets BPF_PSEUDO_MAP_FD and the fd", async () => {
  const o = await load("legacy_maps");
  const p = o.programs[0]!;
  const original = p.insns.slice();
  const r = fds(o);
  const out = linkProgram(o, p, r);
  expect(r.asked).toEqual(["counts", "counts", "stats"]);
  for (const [i, fd] of [[9, 40], [19, 40], [25, 41]] as const) {
    expect(out[i * 8]).toBe(0x18);
    expect(src(out, i)).toBe(1);
    expect(dst(out, i)).toBe(dst(original, i)); // r1 stays r1
    expect(imm(out, i)).toBe(fd);
    expect(imm(out, i + 1)).toBe(0);
  }
  expectOnlyPatched(original, out, [9, 19, 25]);
  expect(hex(p.insns)).toBe(hex(original)); // the spec is not modified
});

test("BTF maps: same patching, fds by map name", async () => {
  const o = await load("btf_maps");
  const p = o.programs[0]!;
  const out = linkProgram(o, p, fds(o, 7));
  const want = Object.fromEntries(o.maps.map((m, i) => [m.name, 7 + i]));
  for (const rel of p.relocations) {
    expect(src(out, rel.insnIndex)).toBe(1);
    expect(imm(out, rel.insnIndex)).toBe(want[rel.map!]!);
  }
  expectOnlyPatched(p.insns, out, p.relocations.map((r) => r.insnIndex));
});

test("global data: BPF_PSEUDO_MAP_VALUE with fd and the offset in the second imm", async () => {
  const o = await load("globals");
  const p = o.programs[0]!;
  const out = linkProgram(o, p, fds(o, 100));
  const fd = (n: string) => 100 + o.maps.findIndex((m) => m.name === n);
  const cases: [number, string, number][] = [
    [3, ".rodata", 0], [9, ".bss", 0], [16, ".data", 8], [19, ".data", 0], [24, ".data", 24], [29, ".bss", 8],
    [43, ".rodata", 8], [47, ".rodata.str1.1", 0],
  ];
  for (const [i, map, off] of cases) {
    expect(out[i * 8]).toBe(0x18);
    expect(src(out, i)).toBe(2);
    expect(imm(out, i)).toBe(fd(map));
    expect(imm(out, i + 1)).toBe(off);
  }
  expectOnlyPatched(p.insns, out, p.relocations.map((r) => r.insnIndex));
});

test("BPF-to-BPF calls: callees appended once, call imms point at them", async () => {
  const o = await load("calls");
  const text = readObjdump("calls").get(".text")!;
  const fnBytes = (name: string, len: number) => {
    const off = text.labels.get(name)!;
    return hex(text.bytes.subarray(off, off + len * 8));
  };
  const [a, b, c] = o.programs;
  const { insns: out, pieces } = linkProgramPieces(o, a!, fds(o));
  expect(pieces.map((x) => [x.fn.name, x.start])).toEqual([["prog_a", 0], ["twice", 10], ["global_square", 14], ["add3", 17]]);
  expect(out.length / 8).toBe(21);
  // follow every pseudo call in the linked program: it must land on the callee's first instruction
  const landed: string[] = [];
  for (let i = 0; i < out.length / 8; i++) {
    if (out[i * 8] !== 0x85 || src(out, i) !== 1) continue;
    const t = i + imm(out, i) + 1;
    const piece = pieces.find((x) => x.start === t);
    expect(piece).toBeDefined();
    landed.push(`${i}->${piece!.fn.name}`);
  }
  expect(landed).toEqual(["3->twice", "7->global_square", "12->add3"]);
  expect(hex(out.subarray(17 * 8))).toBe(fnBytes("add3", 4));
  expect(hex(out.subarray(14 * 8, 17 * 8))).toBe(fnBytes("global_square", 3));
  // twice: only its call imm changed (pc-relative 1 inside .text -> 4 in the linked program)
  expect(imm(out, 12)).toBe(4);

  const outB = linkProgram(o, b!, fds(o));
  expect(outB.length / 8).toBe(6 + 4);
  expect(4 + imm(outB, 4) + 1).toBe(6);
  expect(hex(outB.subarray(6 * 8))).toBe(fnBytes("add3", 4));

  expect(hex(linkProgram(o, c!, fds(o)))).toBe(hex(c!.insns));
});

test("callback reference: ld_imm64 of a function becomes BPF_PSEUDO_FUNC with a relative imm", async () => {
  const o = await load("calls");
  const d = o.programs[3]!;
  const { insns: out, pieces } = linkProgramPieces(o, d, fds(o));
  expect(pieces.map((x) => x.fn.name)).toEqual(["prog_d", "loop_cb"]);
  expect(src(out, 5)).toBe(BPF_PSEUDO_FUNC);
  expect(5 + imm(out, 5) + 1).toBe(14);
  expect(imm(out, 6)).toBe(0);
});

test("4.9 samples: every program links; tail-call map reference resolved", async () => {
  const o = await load("samples49");
  for (const p of o.programs) {
    const out = linkProgram(o, p, fds(o, 3));
    expect(out.length).toBe(p.insns.length);
  }
  const out = linkProgram(o, o.programs[5]!, fds(o, 3));
  expect(src(out, 9)).toBe(1);
  expect(imm(out, 9)).toBe(3); // progs is the first map
});

test("mapFd failures propagate; a call into nothing is an ObjectError", async () => {
  const o = await load("legacy_maps");
  expect(() => linkProgram(o, o.programs[0]!, { mapFd: () => { throw new Error("boom"); } })).toThrow("boom");
  const c = await load("calls");
  const a = c.programs[0]!;
  const broken: ObjectSpec = { ...c, functions: c.functions.filter((f) => f.name !== "twice") };
  expect(() => linkProgram(broken, a, fds(c))).toThrow(ObjectError);
  expect(() => linkProgram(broken, a, fds(c))).toThrow(/link program 'prog_a': call to '\.text': instruction 3 .* not inside any function/);
});

// The kernel's verdict on the BTF sanitizer (BPF_BTF_LOAD): the btf_kinds fixture's .BTF as clang
// left it is refused (DATASEC sizes 0), the sanitized one loads, for this kernel's features and
// with every feature taken away (the downgraded kinds are valid BTF everywhere).
import { describe, expect, test } from "bun:test";
import { ALL_BTF_FEATURES, dataLayoutOf, sanitizeBtf } from "../../src/btf/sanitize.ts";
import { Btf } from "../../src/elf/btf.ts";
import { readObject } from "../../src/elf/index.ts";
import { bpfBtfLoad } from "../../src/sys/bpf.ts";
import { close } from "../../src/sys/fd.ts";
import { fixture, shdr } from "../elf/helpers.ts";
import { canUseKernel } from "../support.ts";

function load(blob: Uint8Array): { ok: boolean; log: string } {
  const r = bpfBtfLoad(blob, 1 << 16);
  if (r.ret >= 0) close(r.ret);
  return { ok: r.ret >= 0, log: r.log };
}

describe.skipIf(!canUseKernel)("BPF_BTF_LOAD of sanitized BTF", async () => {
  const bytes = fixture("btf_kinds");
  const s = shdr(bytes, ".BTF");
  const raw = bytes.slice(s.offset, s.offset + s.size);
  const btf = new Btf(raw);
  const layout = dataLayoutOf(await readObject(bytes, "btf_kinds.o"));

  test("clang's BTF as it is: refused", () => {
    const r = load(raw);
    expect(r.ok).toBe(false);
    expect(r.log).toMatch(/size|offset/i);
  });
  test("sanitized with every feature: loads", () => {
    const r = load(sanitizeBtf(btf, ALL_BTF_FEATURES, layout));
    expect(r.log.trim().split("\n").pop() ?? "").not.toMatch(/Invalid/);
    expect(r.ok).toBe(true);
  });
  test("sanitized as for a 4.18 kernel (no FUNC, VAR, FLOAT, tags, ENUM64): loads", () => {
    const none = { func: false, funcGlobal: false, datasec: false, float: false, declTag: false, typeTag: false, enum64: false };
    const r = load(sanitizeBtf(btf, none, layout));
    expect(r.ok ? "" : r.log).toBe("");
  });
  test("every fixture with BTF loads sanitized, but globals.o: clang 14's own VAR size mismatch", async () => {
    // clang kept 1 byte of `static char greeting[] = "hi"` (symbol greeting.0, size 1) but typed the
    // VAR char[3]: the kernel refuses that entry ("Invalid size"), libbpf has no rule for it either
    // (it loads such objects without their BTF)
    const g = fixture("globals");
    const gs = shdr(g, ".BTF");
    const gr = load(sanitizeBtf(new Btf(g.slice(gs.offset, gs.offset + gs.size)), ALL_BTF_FEATURES, dataLayoutOf(await readObject(g, "globals.o"))));
    expect(gr.ok).toBe(false);
    expect(gr.log).toMatch(/type_id=22 offset=24 size=1 Invalid size/);
    for (const name of ["hello", "legacy_maps", "iproute2_maps", "btf_maps", "multi", "calls", "core", "loop3", "perf_events", "fentry"]) {
      const o = fixture(name);
      const sec = shdr(o, ".BTF");
      const b = new Btf(o.slice(sec.offset, sec.offset + sec.size));
      const r = load(sanitizeBtf(b, ALL_BTF_FEATURES, dataLayoutOf(await readObject(o, `${name}.o`))));
      expect(`${name}: ${r.ok ? "loaded" : r.log}`).toBe(`${name}: loaded`);
    }
  });
});

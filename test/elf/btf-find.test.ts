// Btf.find compares names as bytes in the string section (decoding only a match). Oracle: a full
// scan of decoded types, the first of that kind and name. On the fixtures' BTF and, where the
// kernel has it, on vmlinux BTF, with names that are prefixes of others.
import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { Btf, readObject } from "../../src/elf/index.ts";
import { BTF_KIND_FUNC, BTF_KIND_STRUCT, BTF_KIND_TYPEDEF } from "../../src/elf/btf.ts";

const FIX = new URL("../fixtures", import.meta.url).pathname;

/** The first id of `kind` named `name` by decoding every type: what find must return. */
function scan(btf: Btf, kind: number, name: string): number | undefined {
  for (let id = 1; id < btf.typeCount; id++) if (btf.kindOf(id) === kind && btf.type(id).name === name) return id;
  return undefined;
}

async function objectBtf(file: string): Promise<Btf> {
  const bytes = new Uint8Array(readFileSync(`${FIX}/${file}`));
  const obj = await readObject(bytes, file);
  const s = obj.sections.find((x) => x.name === ".BTF")!;
  return new Btf(bytes.subarray(s.offset, s.offset + s.size));
}

describe("Btf.find", () => {
  test("every named type of btf_kinds.o and btf_load.o is found as the full scan finds it; absent names and kinds are not", async () => {
    for (const file of ["btf_kinds.o", "btf_load.o"]) {
      const btf = await objectBtf(file);
      for (let id = 1; id < btf.typeCount; id++) {
        const t = btf.type(id);
        if (!t.name) continue;
        expect([file, t.name, btf.find(t.kind, t.name)?.id]).toEqual([file, t.name, scan(btf, t.kind, t.name)]);
        expect(btf.find(t.kind, `${t.name}_`)).toBeUndefined();
        expect(btf.find(t.kind, t.name.slice(0, -1))?.name ?? t.name.slice(0, -1)).toBe(t.name.slice(0, -1));
      }
      expect(btf.find(BTF_KIND_FUNC, "no_such_function")).toBeUndefined();
    }
  });

  test.skipIf(!existsSync("/sys/kernel/btf/vmlinux"))("vmlinux: prefixes of other names (do_sys_open / do_sys_openat2), typedefs, structs", () => {
    const btf = new Btf(new Uint8Array(readFileSync("/sys/kernel/btf/vmlinux")));
    for (const [kind, name] of [[BTF_KIND_FUNC, "do_sys_open"], [BTF_KIND_FUNC, "do_sys_openat2"], [BTF_KIND_FUNC, "do_nanosleep"], [BTF_KIND_TYPEDEF, "btf_trace_sched_switch"], [BTF_KIND_STRUCT, "task_struct"], [BTF_KIND_FUNC, "bpf_iter_task"], [BTF_KIND_FUNC, "do_sys_ope"]] as const) {
      const want = scan(btf, kind, name);
      expect([name, btf.find(kind, name)?.id]).toEqual([name, want]);
    }
  });
});

describe("Btf.idsWithNameOffset", () => {
  // Oracle: every own id whose decoded record names that string offset, in id order.
  const byScan = (btf: Btf, off: number) => {
    const ids: number[] = [];
    for (let id = btf.firstId; id < btf.typeCount; id++) if (btf.nameOffsetOf(id) === off) ids.push(id);
    return ids;
  };
  test("the ids named at each offset of the fixtures' BTF (anonymous ones at 0 too) are those a full scan finds", async () => {
    for (const file of ["btf_kinds.o", "btf_load.o", "core_task.o"]) {
      const btf = await objectBtf(file);
      const offsets = new Set<number>([0, 1, 0xffffff]);
      for (let id = 1; id < btf.typeCount; id++) offsets.add(btf.nameOffsetOf(id));
      for (const off of offsets) expect(btf.idsWithNameOffset(off)).toEqual(byScan(btf, off));
    }
  });
  test.skipIf(!existsSync("/sys/kernel/btf/vmlinux"))("on vmlinux BTF and a module's split BTF (own ids only)", () => {
    const vmlinux = new Btf(new Uint8Array(readFileSync("/sys/kernel/btf/vmlinux")));
    for (const id of [1, 100, 1000, Math.floor(vmlinux.typeCount / 2), vmlinux.typeCount - 1]) {
      const off = vmlinux.nameOffsetOf(id);
      expect(vmlinux.idsWithNameOffset(off)).toEqual(byScan(vmlinux, off));
    }
    const mod = ["bpf_testmod", "nf_tables", "ext4", "overlay"].find((m) => existsSync(`/sys/kernel/btf/${m}`));
    if (!mod) return;
    const split = new Btf(new Uint8Array(readFileSync(`/sys/kernel/btf/${mod}`)), { base: vmlinux });
    for (let id = split.firstId; id < Math.min(split.typeCount, split.firstId + 200); id++) {
      const off = split.nameOffsetOf(id);
      expect(split.idsWithNameOffset(off)).toEqual(byScan(split, off));
    }
  });
});

describe("Btf index pass", () => {
  test("a blob at an odd byte offset (read as copied words) gives the same types as an aligned one", async () => {
    for (const file of ["btf_kinds.o", "core_task.o"]) {
      const aligned = await objectBtf(file);
      const shifted = new Uint8Array(aligned.bytes.length + 1);
      shifted.set(aligned.bytes, 1);
      const odd = new Btf(shifted.subarray(1));
      expect(odd.typeCount).toBe(aligned.typeCount);
      for (let id = 1; id < aligned.typeCount; id++) expect(odd.type(id)).toEqual(aligned.type(id));
    }
  });
});

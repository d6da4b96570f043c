// The prototype and type checks of kfuncs and typed ksyms against this kernel's BTF (readable
// without root), and the kallsyms reader on a planted file.
import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { Btf, BTF_KIND_FUNC, BTF_KIND_STRUCT, BTF_KIND_VAR } from "../../src/elf/btf.ts";
import { ExternError, type ExternSpec } from "../../src/elf/externs.ts";
import { readObject } from "../../src/elf/index.ts";
import { vmlinuxBtf } from "../../src/kernel/btf/attach-target.ts";
import { checkKfuncProto, checkKsymType, kallsyms, kallsymsSource } from "../../src/kernel/externs/ksyms.ts";
import { fixture, shdr } from "../elf/helpers.ts";
import { existsSync } from "node:fs";

const objBtf = (name: string) => {
  const b = fixture(name);
  const s = shdr(b, ".BTF");
  return new Btf(b.subarray(s.offset, s.offset + s.size));
};
const noBtf = !existsSync("/sys/kernel/btf/vmlinux") ? "no /sys/kernel/btf/vmlinux" : undefined;

describe.skipIf(!!noBtf)("against this kernel's BTF", async () => {
  const vmlinux = noBtf ? undefined! : vmlinuxBtf();
  const kfuncs = await readObject(fixture("kfuncs"), "kfuncs.o");
  const bad = await readObject(fixture("kfunc_bad"), "kfunc_bad.o");
  const ext = (o: typeof kfuncs, name: string) => o.externs!.find((e) => e.name === name)!;

  test("kfunc prototypes: the fixture's match; two arguments for bpf_task_release's one is refused naming both counts", () => {
    for (const name of ["bpf_task_from_pid", "bpf_task_release"]) {
      expect(() => checkKfuncProto(objBtf("kfuncs"), ext(kfuncs, name), vmlinux, vmlinux.find(BTF_KIND_FUNC, name)!.id)).not.toThrow();
    }
    const e = ext(bad, "bpf_task_release");
    expect(() => checkKfuncProto(objBtf("kfunc_bad"), e, vmlinux, vmlinux.find(BTF_KIND_FUNC, "bpf_task_release")!.id))
      .toThrow(/declared with 2 arguments, the kernel's takes 1 \(p\)/);
  });

  test("typed ksym: an int for bpf_prog_active is right, a struct is refused", () => {
    const typed = objBtf("ksym_typed");
    const obj = { name: "bpf_prog_active", kind: "ksym", weak: false, btfId: 0 } as const;
    const intId = typed.type(typed.find(BTF_KIND_VAR, "bpf_prog_active")!.sizeOrType).sizeOrType; // const int -> int
    const kernelVar = vmlinux.find(BTF_KIND_VAR, "bpf_prog_active")!.id;
    expect(() => checkKsymType(typed, { ...obj, typeId: intId } as ExternSpec, vmlinux, kernelVar)).not.toThrow();
    const k = objBtf("kfuncs");
    const structId = k.find(BTF_KIND_STRUCT, "task_struct")!.id;
    let err: unknown;
    try {
      checkKsymType(k, { ...obj, typeId: structId } as ExternSpec, vmlinux, kernelVar);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ExternError);
    expect((err as ExternError).badInput).toBe(true);
    expect((err as Error).message).toContain("declared as struct, the kernel's variable is int");
  });
});

describe("kallsyms", () => {
  const dir = mkdtempSync(`${tmpdir()}/bpfload-kallsyms-`);
  const saved = kallsymsSource.path;
  afterEach(() => {
    kallsymsSource.path = saved;
  });
  test("name to address; module suffixes cut; a name at two addresses is ambiguous, at one address twice is not", () => {
    writeFileSync(`${dir}/k`, "ffffffff81000000 T _stext\nffffffff814e63f0 T bpf_prog_put\nffffffffc0001000 t helper\t[mod_a]\nffffffffc0002000 t helper\t[mod_b]\nffffffff81000010 T twice\nffffffff81000010 T twice\n");
    kallsymsSource.path = `${dir}/k`;
    const m = kallsyms();
    expect(m.get("bpf_prog_put")).toBe(0xffffffff814e63f0n);
    expect(m.get("helper")).toBe("ambiguous");
    expect(m.get("twice")).toBe(0xffffffff81000010n);
    expect(m.get("nothing")).toBeUndefined();
    rmSync(dir, { recursive: true, force: true });
  });
});

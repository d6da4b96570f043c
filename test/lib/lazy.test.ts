// "bpfload" loads its heavy parts on first use (lib/lazy.ts): importing it must not load the
// loader, the attach kinds, the assembler or bun:ffi, and what it exports lazily must behave as
// the real thing (classes: new, instanceof, extends, statics). Pure: no kernel.
import { expect, test } from "bun:test";
import { lazyClass, lazyFunction } from "../../src/lib/lazy.ts";
import { REPO } from "../support.ts";

/** The src/ modules an import of `entry` evaluates, in a fresh process. */
function modulesLoadedBy(entry: string): string[] {
  const script = `await import(${JSON.stringify(`${REPO}/${entry}`)}); console.log(JSON.stringify(Object.keys(require.cache)));`;
  const r = Bun.spawnSync([process.execPath, "-e", script], { stdout: "pipe", stderr: "pipe" });
  expect(r.stderr.toString()).toBe("");
  return (JSON.parse(r.stdout.toString()) as string[]).filter((k) => k.startsWith(`${REPO}/src/`)).map((k) => k.slice(REPO.length + 5));
}

const HEAVY = ["sys/libc.ts", "kernel/attach/index.ts", "kernel/collection.ts", "kernel/program.ts", "asm/asm.ts", "asm/disasm.ts", "elf/reader.ts", "kernel/features/probes.ts", "kernel/events/ringbuf.ts", "kernel/tracefs/trace-pipe.ts"];

test('import "bpfload" evaluates no syscall, loader, attach, ELF reader or assembler module', () => {
  const loaded = modulesLoadedBy("src/index.ts");
  expect(loaded).toContain("index.ts");
  expect(loaded.filter((m) => HEAVY.includes(m) || m.startsWith("sys/"))).toEqual([]);
  expect(loaded.length).toBeLessThan(25); // the object model, errors and small pure tables (120 modules before)
});

test('import "bpfload/test" adds only the privilege check\'s syscalls, not the loader or the feature probes', () => {
  const loaded = modulesLoadedBy("src/test.ts");
  expect(loaded.filter((m) => HEAVY.includes(m) && m !== "sys/libc.ts" && m !== "kernel/tracefs/trace-pipe.ts")).toEqual([]);
});

test("a lazy function loads on its first call and is the real one after", () => {
  let loads = 0;
  const real = (a: number, b: number) => a + b;
  const f = lazyFunction(() => (loads++, real));
  expect(loads).toBe(0);
  expect(f(2, 3)).toBe(5);
  expect(f(4, 5)).toBe(9);
  expect(loads).toBe(1);
});

test("a lazy class constructs, checks instanceof, is extended and has its statics as the real one", () => {
  let loads = 0;
  class Real {
    static kind = "real";
    #secret: number;
    constructor(readonly n: number) {
      this.#secret = n * 2;
    }
    secret(): number {
      return this.#secret;
    }
    static make(n: number): Real {
      return new Real(n);
    }
  }
  const Lazy = lazyClass(() => (loads++, Real));
  expect(loads).toBe(0);
  const a = new Lazy(21);
  expect(a).toBeInstanceOf(Real);
  expect(a.secret()).toBe(42); // private fields: the real constructor ran
  expect(Real.make(1) instanceof Lazy).toBe(true);
  expect({} instanceof Lazy).toBe(false);
  expect(Lazy.kind).toBe("real");
  expect(Lazy.make(3).n).toBe(3);
  class Sub extends Lazy {
    twice(): number {
      return this.n * 2;
    }
  }
  const s = new Sub(5);
  expect(s.twice()).toBe(10);
  expect(s.secret()).toBe(10);
  expect(s instanceof Real && s instanceof Lazy && s instanceof Sub).toBe(true);
  expect(loads).toBe(1);
});

test("errors thrown by the lazily loaded parts are the exported classes", async () => {
  const lib = await import("../../src/index.ts");
  let caught: unknown;
  try {
    lib.assemble("r0 = nonsense\nexit", "bad.s");
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(lib.AsmError);
  expect(caught).toBeInstanceOf(lib.BpfloadError);
  const { FileError } = await import("../../src/sys/files.ts");
  expect(new FileError("/x", 2, "read")).toBeInstanceOf(lib.FileError);
  expect(new lib.FileError("/x", 2, "read")).toBeInstanceOf(FileError); // constructed through the lazy class: the real one
  expect(new lib.FileError("/x", 2, "read").message).toBe(new FileError("/x", 2, "read").message);
});

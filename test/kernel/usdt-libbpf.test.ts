// libbpf as the oracle for the USDT spec table: a small C loader (libbpf-dev's
// bpf_program__attach_usdt on usdt/usdt_lib.o, built here with gcc) prints the __bpf_usdt_specs
// entries libbpf wrote for a probe; bpfload's, printed at exit, must be the same bytes, for every
// committed target (registers, stack slots, constants, a semaphore, PIE and not).
import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { canUseKernel, REPO, runCli } from "../support.ts";

setDefaultTimeout(20000);
const FIX = `${REPO}/test/fixtures`;
const gcc = Bun.which("gcc");
const skip = !canUseKernel ? "no kernel" : process.arch !== "x64" ? "the targets are x86_64 binaries" : !gcc || !existsSync("/usr/include/bpf/libbpf.h") ? "no gcc or libbpf-dev" : undefined;
if (skip) console.warn(`[skip] usdt against libbpf: ${skip}`);

const LOADER = `#include <stdio.h>
#include <bpf/libbpf.h>
#include <bpf/bpf.h>
/* loader OBJ PROG PATH PROVIDER NAME: attach with libbpf, print the non-zero __bpf_usdt_specs entries as hex */
int main(int argc, char **argv) {
  if (argc != 6) return 2;
  libbpf_set_print(NULL);
  struct bpf_object *obj = bpf_object__open_file(argv[1], NULL);
  if (!obj || bpf_object__load(obj)) { fprintf(stderr, "load failed\\n"); return 1; }
  struct bpf_link *link = bpf_program__attach_usdt(bpf_object__find_program_by_name(obj, argv[2]), -1, argv[3], argv[4], argv[5], NULL);
  if (!link) { fprintf(stderr, "attach failed\\n"); return 1; }
  struct bpf_map *specs = bpf_object__find_map_by_name(obj, "__bpf_usdt_specs");
  unsigned char v[208];
  for (int key = 0; key < 256; key++) {
    if (bpf_map__lookup_elem(specs, &key, sizeof key, v, sizeof v, 0)) break;
    int zero = 1;
    for (int i = 0; i < 208; i++) if (v[i]) zero = 0;
    if (zero) break;
    for (int i = 0; i < 208; i++) printf("%02x", v[i]);
    printf("\\n");
  }
  bpf_link__destroy(link);
  bpf_object__close(obj);
  return 0;
}
`;

const dir = mkdtempSync(`${tmpdir()}/bpfload-usdt-libbpf-`);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.skipIf(skip !== undefined)("USDT spec table: bpfload writes what libbpf writes", () => {
  let loader = "";
  test("the libbpf loader builds", () => {
    writeFileSync(`${dir}/loader.c`, LOADER);
    const cc = Bun.spawnSync([gcc!, "-O1", "-o", `${dir}/loader`, `${dir}/loader.c`, "-lbpf"]);
    expect(cc.stderr.toString()).toBe("");
    loader = `${dir}/loader`;
  });

  for (const [target, probe] of [["usdt_target", "args"], ["usdt_target_O0", "args"], ["usdt_target_nopie", "args"], ["usdt_target", "guarded"], ["usdt_target_O0", "guarded"]]) {
    test(`${target} bpfload:${probe}`, async () => {
      const path = `${FIX}/usdt/${target}`;
      const lib = Bun.spawnSync([loader, `${FIX}/usdt/usdt_lib.o`, "on_args", path, "bpfload", probe!]);
      expect(lib.stderr.toString()).toBe("");
      const theirs = lib.stdout.toString().trim().split("\n").filter(Boolean);
      const ours = await runCli(["load", `${FIX}/usdt_probe.o`, "--attach", `usdt:${path}:bpfload:${probe}`, "--duration", "0", "--json"]);
      expect(ours.code).toBe(0);
      const specs = ours.stdout.split("\n").filter((l) => l.includes('"__bpf_usdt_specs"')).map((l) => JSON.parse(l))[0];
      const written = (specs.entries as { values: string[] }[]).map((e) => e.values[0]!.replaceAll(" ", "")).filter((h) => /[^0]/.test(h));
      expect(theirs.length).toBe(1);
      expect(written).toEqual(theirs);
    });
  }
});

// The probe links' attr (sys/link-multi.ts) against the real uapi header: gcc's offsetof of
// link_create.perf_event / kprobe_multi / uprobe_multi members (those the installed header has;
// uprobe_multi is 6.6, newer than Debian 12's headers: its layout is proven by the kernel test).
import { expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { BPF_LINK_CREATE_PROBE_ATTR } from "../../src/sys/link-multi.ts";

const HEADER = "/usr/include/linux/bpf.h";
const gcc = Bun.which("gcc");

test.skipIf(!gcc || !existsSync(HEADER))("BPF_LINK_CREATE probe attr: every field where bpf.h puts it", () => {
  const header = readFileSync(HEADER, "utf8");
  const fields = BPF_LINK_CREATE_PROBE_ATTR.fields.filter((f) => !f.name.startsWith("uprobe_multi.") || header.includes("uprobe_multi"));
  expect(fields.some((f) => f.name === "kprobe_multi.cookies")).toBe(true);
  const dir = mkdtempSync(`${tmpdir()}/bpfload-link-layout-`);
  try {
    const lines = fields.map((f) => `printf("${f.name} %zu %zu\\n", offsetof(union bpf_attr, link_create.${f.name}), sizeof(((union bpf_attr *)0)->link_create.${f.name}));`);
    writeFileSync(`${dir}/l.c`, `#include <stdio.h>\n#include <stddef.h>\n#include <linux/bpf.h>\nint main(void) {\n${lines.join("\n")}\nreturn 0;\n}\n`);
    const cc = Bun.spawnSync([gcc!, "-o", `${dir}/l`, `${dir}/l.c`]);
    expect(cc.stderr.toString()).toBe("");
    const measured = Bun.spawnSync([`${dir}/l`]).stdout.toString().trim().split("\n");
    expect(measured).toEqual(fields.map((f) => `${f.name} ${f.offset} ${f.size}`));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

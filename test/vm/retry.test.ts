// guest/lib.sh's check(): under an emulated foreign CPU a run that crashed inside Bun's runtime (or hung)
// is tried again, up to twice per check and within a per-boot budget; any other failure fails at once.
// The guest's shell code runs here under the host's sh (POSIX), with VM_TMP in a temporary directory.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const LIB = join(import.meta.dir, "guest/lib.sh");
const dir = mkdtempSync(join(tmpdir(), "bpfload-retry-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// A command that prints Bun's crash report and exits 139 for its first `crashes` runs, then succeeds.
function flaky(name: string, crashes: number): string {
  return `sh -c 'n=$(cat ${dir}/${name}.n 2>/dev/null || echo 0); echo $((n+1)) > ${dir}/${name}.n; ` +
    `if [ $n -lt ${crashes} ]; then echo "oh no: Bun has crashed"; exit 139; fi; echo fine'`;
}

function run(script: string, retry = "1"): { out: string; runs: (name: string) => number } {
  const p = Bun.spawnSync(["sh", "-c", `. ${LIB}; ${script}`], {
    env: { ...process.env, VM_TMP: join(dir, "vmtmp"), VM_RETRY_RUNTIME_CRASH: retry, VM_SHOW_OUTPUT: "0" },
  });
  const runs = (name: string) => Number(Bun.spawnSync(["cat", join(dir, `${name}.n`)]).stdout.toString() || 0);
  return { out: p.stdout.toString(), runs };
}

describe("check() retries a crash of Bun's runtime", () => {
  test("two crashes, then a pass on the third try", () => {
    const r = run(`check two -- ${flaky("two", 2)}`);
    expect(r.out).toContain("VMCHECK PASS two (");
    expect(r.out).toContain("passed on try 3");
    expect(r.runs("two")).toBe(3);
  });

  test("three crashes in a row fail", () => {
    const r = run(`check three -- ${flaky("three", 3)}`);
    expect(r.out).toContain("VMCHECK FAIL three: exit 139");
    expect(r.runs("three")).toBe(3);
  });

  test("a failure that is not a crash is not retried", () => {
    const r = run(`check plain -- sh -c 'n=$(cat ${dir}/plain.n 2>/dev/null || echo 0); echo $((n+1)) > ${dir}/plain.n; exit 1'`);
    expect(r.out).toContain("VMCHECK FAIL plain: exit 1");
    expect(r.runs("plain")).toBe(1);
  });

  test("no retries on a native CPU", () => {
    const r = run(`check native -- ${flaky("native", 1)}`, "0");
    expect(r.out).toContain("VMCHECK FAIL native");
    expect(r.runs("native")).toBe(1);
  });

  test("the per-boot budget ends the retries", () => {
    const checks = Array.from({ length: 6 }, (_, i) => `check b${i} -- ${flaky(`b${i}`, 2)}`).join("; ");
    const r = run(`${checks}`);
    // 10 retries: the first five checks take two each and pass; the sixth gets none and fails
    expect(r.out.match(/VMCHECK PASS b\d/g)?.length).toBe(5);
    expect(r.out).toContain("VMCHECK FAIL b5");
    expect(r.runs("b5")).toBe(1);
  });
});

// On the real kernel: nothing a user gives can be written into tracefs as a command of its own,
// cleanup leaves a live bpfload of another PID namespace alone, a busy trace_pipe and a FIFO as
// uprobe target are refused before anything is loaded. Run under /tmp/bpfload-kernel.lock.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { canUseKernel, REPO, runCli, tracefsDir } from "../support.ts";

const LIBC = ["/lib/x86_64-linux-gnu/libc.so.6", "/lib/aarch64-linux-gnu/libc.so.6"].find(existsSync);
const SEED = `${REPO}/test/vm/seed.bin`;
const TRUE = ["/usr/bin/true", "/bin/true"].find(existsSync)!;

const controlText = () => {
  const t = tracefsDir()!;
  return ["kprobe_events", "uprobe_events"].map((f) => (existsSync(`${t}/${f}`) ? readFileSync(`${t}/${f}`, "utf8") : "")).join("\n--\n");
};

/** Removes an event this test itself made (and only if it is there). */
function removeOwnEvent(group: string, event: string): void {
  const t = tracefsDir()!;
  if (readFileSync(`${t}/uprobe_events`, "utf8").includes(`${group}/${event} `)) writeFileSync(`${t}/uprobe_events`, `-:${group}/${event}\n`, { flag: "a" });
}

describe.skipIf(!canUseKernel)("tracefs safety on the running kernel", () => {
  let dir = "";
  beforeAll(() => {
    dir = mkdtempSync("/tmp/bpfload-sec-");
  });
  afterAll(() => {
    removeOwnEvent("evil", "pwned");
    removeOwnEvent("sectest_victim", "keep");
    rmSync(dir, { recursive: true, force: true });
  });

  /** Makes `path` an executable copy of true (creating its directories, newlines and all). */
  const plant = (path: string) => {
    mkdirSync(path.slice(0, path.lastIndexOf("/")), { recursive: true });
    copyFileSync(TRUE, path);
    chmodSync(path, 0o755);
  };

  test("a newline in a uprobe path cannot add someone else's event (--probe-api tracefs)", async () => {
    // the path exists; the attach-spec parser refuses its newline (control characters in uprobe
    // paths), and behind it the tracefs writer would
    const path = `${dir}/t:0x100\np:evil/pwned ${dir}/t`;
    plant(path);
    plant(`${dir}/t`);
    const before = controlText();
    const r = await runCli(["load", SEED, "--attach", `uprobe:${path}:0x200`, "--probe-api", "tracefs", "--duration", "0"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/the path '.*\\np:evil\/p.*' holds a control character|uprobe path '.*\\np:evil\/pwned .*' cannot be used through tracefs: it contains/);
    expect(r.stderr.trim().split("\n").length).toBe(1);
    expect(r.stderr).not.toContain("loaded '");
    expect(controlText()).toBe(before);
  });

  test("a newline in a uprobe path cannot delete another tool's event", async () => {
    plant(`${dir}/x`);
    plant(`${dir}/t`);
    const t = tracefsDir()!;
    writeFileSync(`${t}/uprobe_events`, `p:sectest_victim/keep ${dir}/x:0x0\n`, { flag: "a" });
    try {
      const path = `${dir}/t:0x100\n-:sectest_victim/keep ${dir}/x`;
      plant(path);
      const before = controlText();
      expect(before).toContain("sectest_victim/keep");
      const r = await runCli(["load", SEED, "--attach", `uprobe:${path}:0x0`, "--probe-api", "tracefs", "--duration", "0"]);
      expect(r.code).toBe(2);
      expect(controlText()).toBe(before);
    } finally {
      removeOwnEvent("sectest_victim", "keep");
    }
  });

  test("a path with a space says tracefs cannot take it and suggests the PMU, which can", async () => {
    const path = `${dir}/with space/true`;
    plant(path);
    const r = await runCli(["load", SEED, "--attach", `uprobe:${path}:0x0`, "--probe-api", "tracefs", "--duration", "0"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/contains a space.*--probe-api pmu/);
    expect(r.stderr).not.toMatch(/offset/);
    if (existsSync("/sys/bus/event_source/devices/uprobe")) {
      const pmu = await runCli(["load", SEED, "--attach", `uprobe:${path}:0x0`, "--probe-api", "pmu", "--duration", "0"]);
      expect(pmu.stderr).toContain("attached");
      expect(pmu.code).toBe(0);
    }
  });

  test("a FIFO as uprobe target is refused at once, before loading", async () => {
    const fifo = `${dir}/fifo`;
    Bun.spawnSync(["mkfifo", fifo]);
    const t0 = performance.now();
    const r = await runCli(["load", SEED, "--attach", `uprobe:${fifo}:main`, "--duration", "0"], { timeoutMs: 5000 });
    expect(performance.now() - t0).toBeLessThan(4000);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("not a regular file");
    expect(r.stderr).not.toContain("loaded '");
  });

  test("a run that cannot have trace_pipe says who holds it, before loading or attaching anything", async () => {
    const t = tracefsDir()!;
    const holder = Bun.spawn(["/bin/sh", "-c", `exec 3<${t}/trace_pipe; exec sleep 30`], { stdout: "ignore", stderr: "ignore" });
    try {
      for (let i = 0; i < 100 && !(Bun.spawnSync(["readlink", `/proc/${holder.pid}/fd/3`]).stdout.toString().includes("trace_pipe") && readFileSync(`/proc/${holder.pid}/comm`, "utf8").trim() === "sleep"); i++) await Bun.sleep(20);
      const before = controlText();
      for (const args of [["load", SEED, "--attach", `uprobe:${LIBC ?? TRUE}:0x0`, "--probe-api", "tracefs", "--duration", "1"], ["hello", "--duration", "1"]]) {
        const r = await runCli(args);
        expect(r.code).toBe(1);
        expect(r.stderr).toContain("EBUSY");
        expect(r.stderr).toContain(`pid ${holder.pid} (sleep)`);
        expect(r.stderr).not.toContain("loaded '");
        expect(r.stderr).not.toContain("internal error");
        expect(controlText()).toBe(before);
      }
      // what is wrong with the object itself or the options comes first: the pipe would not help
      const truncated = join(mkdtempSync(join(tmpdir(), "bpfload-trunc-")), "t.o");
      writeFileSync(truncated, readFileSync(`${REPO}/test/fixtures/ringbuf.o`).subarray(0, 300));
      const bad = await runCli(["load", truncated, "--duration", "1"]);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toContain("extends past the end of the file");
      expect(bad.stderr).not.toContain("EBUSY");
      const section = await runCli(["load", `${REPO}/test/fixtures/ringbuf.o`, "--section", "nope", "--duration", "1"]);
      expect(section.code).toBe(2);
      expect(section.stderr).toContain("has no section 'nope'");
      rmSync(dirname(truncated), { recursive: true, force: true });
    } finally {
      holder.kill();
      await holder.exited;
    }
  });

  test.skipIf(!LIBC || !Bun.which("unshare"))("cleanup leaves alone the live event of a bpfload in another PID namespace", async () => {
    const proc = Bun.spawn(["unshare", "--pid", "--fork", "--mount-proc", process.execPath, `${REPO}/src/main.ts`, "load", SEED, "--attach", `uprobe:${LIBC}:__libc_start_main`, "--probe-api", "tracefs"], { stdout: "ignore", stderr: "pipe" });
    const ours = readlinkSync("/proc/self/ns/pid").match(/\[(\d+)\]/)![1]!;
    let event = "";
    try {
      for (let i = 0; i < 200 && !event; i++) {
        await Bun.sleep(50);
        // the inner run is pid 1 of its namespace: its name has pid "1" and another namespace
        event = controlText().match(/bpfload\/(bpfload2_1_[0-9a-z]+_([0-9a-z]+)_\S+)/)?.[1] ?? "";
      }
      expect(event).not.toBe("");
      const ns = parseInt(event.split("_")[3]!, 36);
      expect(ns).not.toBe(Number(ours));
      const r = await runCli(["cleanup", "--verbose"]);
      expect(r.code).toBe(0);
      expect(r.stderr).toContain(`left alone bpfload/${event}: created by a bpfload in another PID namespace`);
      expect(controlText()).toContain(event);
    } finally {
      // SIGTERM to the inner bpfload (pid 1 inside, a child of unshare here) lets it remove its event
      let inner = "";
      try {
        inner = readFileSync(`/proc/${proc.pid}/task/${proc.pid}/children`, "utf8").trim().split(" ")[0] ?? "";
      } catch {
        // unshare already ended
      }
      if (inner) process.kill(Number(inner), "SIGTERM");
      for (let i = 0; i < 100 && event && controlText().includes(event); i++) await Bun.sleep(50);
      proc.kill("SIGKILL");
      await proc.exited;
      if (event) removeOwnEvent("bpfload", event);
    }
    expect(controlText()).not.toContain(event);
  });

  test.skipIf(!Bun.which("setpriv"))("probe as an unprivileged user: tracefs mounted but unreadable is not 'not mounted'", async () => {
    const t = tracefsDir()!;
    const p = Bun.spawnSync(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", process.execPath, `${REPO}/src/main.ts`, "probe"]);
    const text = p.stdout.toString() + p.stderr.toString();
    const readableByAll = (Bun.spawnSync(["stat", "-c", "%a", t]).stdout.toString().trim().endsWith("5"));
    if (!readableByAll) expect(text).toContain(`tracefs   mounted at ${t} but not readable by this user`);
  });
});

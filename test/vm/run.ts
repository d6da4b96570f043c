// VM test rig: boots a kernel under qemu (Debian's own 6.1 or 5.10 package, or a bare bzImage such as
// shared/vm-kernels' 4.9/4.19/5.4) with a busybox initramfs holding the bpfload executable, runs
// test/vm/checks.sh inside and reports one PASS/FAIL/SKIP per check.
//
//   npx bun test/vm/run.ts [--arch x64|arm64|all] [--suite bookworm|bullseye] [--kernel NAME|FILE] [--matrix [--jobs N]]
//                          [--binary PATH] [--checks FILE [--file PATH]...] [--standin]
//                          [--accel auto|kvm|tcg] [--smp N] [--timeout SECS] [--gzip] [--keep]
//                          [--show-output] [--verbose]
//   --suite bullseye: boot Debian 11's 5.10 kernel instead of 6.1 (fetched through private apt lists);
//   --kernel: boot a bare kernel image instead of a Debian package: a file, or a version (`4.9`, `4.9.229`)
//     looked up as bzImage-VERSION*-x86_64 (arm64: Image-VERSION*-arm64) in $BPFLOAD_VM_KERNELS, else
//     <repo>/../shared/vm-kernels (CI runs a fresh clone with a copy of shared/ beside it). A missing image SKIPs.
//   --matrix: every kernel users run (MATRIX below), --jobs N of them at once (default 1), one summary;
//   --standin: test a tiny compiled Bun program (standin.ts) instead of bpfload; --keep: keep the initramfs;
//   --show-output: the last lines of every check's output, not only of failed ones;
//   BPFLOAD_VM_CPU=MODEL: another qemu -cpu than the arch's default (crash-rate.sh compares them);
//   --verbose: echo the serial console live. The serial log of the last run is test/vm/work/ARCH/serial.log.
//
// Why it is built this way:
// - The development host's kernel has no kprobes, so the seed's kprobe path can only be tested in a VM.
//   Debian 6.1 has kprobes, the kprobe PMU, uprobes, syscall tracepoints and 8250/PL011 serial consoles
//   built in: no kernel modules are needed in the initramfs.
// - Everything comes from Debian with the ordinary clients (`apt-get download`, `dpkg-deb`): the kernel image
//   (linux-image-6.1.0-N-ARCH, the one the linux-image-ARCH metapackage points at), busybox-static and libc6 of
//   the guest's architecture (so arm64 works from an x86_64 host: `dpkg --add-architecture arm64`).
//   Packages are cached in test/vm/cache/ and the newest cached ones are used when apt is unreachable.
// - The glibc files the executable needs are found by reading its PT_INTERP/DT_NEEDED (lib/elf.ts), not
//   with ldd, which cannot inspect a foreign-architecture binary.
// - The initramfs is written by lib/cpio.ts (newc): root-owned entries and /dev/console without mknod.
//   It is left uncompressed by default: with the 110 MB Bun executable, gzip -1 costs ~1 s on the host and
//   ~2 s more of TCG boot than copying the raw archive does (measured; --gzip to compress anyway).
// - `-cpu max` always: a Bun executable needs x86-64-v2 (SSE4.2, POPCNT) and dies with SIGILL on qemu64/kvm64.
//   On arm64 `neoverse-n1`: with `max`, Bun's JIT crashes under TCG (see ARCHES.arm64.cpu).
// - KVM only when a short probe boot shows it works (on the dev machines /dev/kvm exists but qemu aborts
//   setting MSRs), TCG otherwise.
// - Output protocol (guest/lib.sh): `VMCHECK PASS|FAIL|SKIP name...` lines on the serial console, VMBOOT
//   and VMDONE around them. A VM that dies or hangs before VMDONE is a failure, never a silent pass.
// - Checks of features the CLI does not document yet (`bpfload --help`) SKIP with that reason (checks.sh).
// - The guest knows which kernel it should be running: the expected version (from the bzImage header or the
//   Debian package version) and release go on the kernel command line (bpfload.kver=, bpfload.krel=), so the
//   checks assert what that version must do ("refused on 4.9, loaded on 4.19+") instead of probing it.
// - Exit codes: 0 all checks passed, 1 a check failed, 77 skipped (no qemu, no kernel package, no
//   executable), 2 usage error. The last line is always `VM: N passed, N failed, N skipped`.
// - Host set-up (qemu for both arches, the arm64 dpkg architecture): test/vm/setup.sh, as root.

import { accessSync, constants, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { parseArgs } from "node:util";
import { type Deb, SkipError, candidateVersions, extractDeb, fetchDeb, removeCached, resolveKernelPackage, suiteAptOptions } from "./lib/apt.ts";
import { Cpio } from "./lib/cpio.ts";
import { EM_AARCH64, EM_X86_64, readElfDeps } from "./lib/elf.ts";
import { type KernelImage, debianKernelVersion, describeKernelImage, findKernelImage, kernelsDir } from "./lib/kernels.ts";

const HERE = import.meta.dir;
const ROOT = resolve(HERE, "../..");
const EXIT_SKIP = 77;

interface ArchSpec {
  debArch: string;
  qemu: string;
  qemuArgs: string[];
  cpu: string;
  console: string;
  elfMachine: number;
  triplet: string;
  bunTarget: string;
  defaultBinary: string;
  timeoutSecs: number;
}

const ARCHES: Record<"x64" | "arm64", ArchSpec> = {
  x64: {
    debArch: "amd64",
    qemu: "qemu-system-x86_64",
    qemuArgs: [],
    cpu: "max",
    console: "ttyS0",
    elfMachine: EM_X86_64,
    triplet: "x86_64-linux-gnu",
    bunTarget: "bun-linux-x64",
    defaultBinary: "dist/bpfload-linux-x64",
    timeoutSecs: 300, // ~45 checks, ~80 s alone under TCG, ~110 s beside another guest: room for a slow shared host
  },
  arm64: {
    debArch: "arm64",
    qemu: "qemu-system-aarch64",
    qemuArgs: ["-M", "virt"],
    // A real server core (Graviton2, Ampere Altra), not "max": under TCG, Bun's JIT crashed in 6 of 8 runs
    // of the kprobe doctor (and ~1 in 25 runs overall in CI) with -cpu max,pauth-impdef=on, 2 of 8 with
    // pauth=off, 0 of 8 with neoverse-n1 or cortex-a57, and a whole neoverse-n1 boot had none (2026-12-02).
    cpu: "neoverse-n1",
    console: "ttyAMA0",
    elfMachine: EM_AARCH64,
    triplet: "aarch64-linux-gnu",
    bunTarget: "bun-linux-arm64",
    defaultBinary: "dist/bpfload-linux-arm64",
    timeoutSecs: 480,
  },
};

interface CheckResult {
  name: string;
  status: "PASS" | "FAIL" | "SKIP";
  detail: string;
  log: string[];
}

const log = (s: string): void => console.log(s);
const secs = (ms: number): string => `${(ms / 1000).toFixed(1)}s`;

function summary(pass: number, fail: number, skip: number): string {
  return `VM: ${pass} passed, ${fail} failed, ${skip} skipped`;
}

function skip(reason: string): never {
  log(`SKIP: ${reason}`);
  log(summary(0, 0, 1));
  process.exit(EXIT_SKIP);
}

function usage(msg: string): never {
  console.error(`run.ts: ${msg}`);
  console.error("usage: bun test/vm/run.ts [--arch x64|arm64|all] [--suite bookworm|bullseye] [--kernel NAME|FILE] [--matrix [--jobs N]] " +
    "[--binary PATH] [--checks FILE [--file PATH]...] [--standin] " +
    "[--accel auto|kvm|tcg] [--smp N] [--timeout SECS] [--gzip] [--keep] [--show-output] [--verbose]");
  process.exit(2);
}

/** The kernels users run, each with the edge it is there for (the longest first: it bounds a parallel run). */
const MATRIX: { label: string; args: string[] }[] = [
  { label: "arm64 6.1", args: ["--arch", "arm64"] }, // Debian 12 on arm64: __arm64_sys_ names, PL011 console
  { label: "x64 4.9", args: ["--arch", "x64", "--kernel", "4.9"] }, // Debian 9: kern_version, debugfs tracefs, SyS_, no PMU
  { label: "x64 4.19", args: ["--arch", "x64", "--kernel", "4.19"] }, // Debian 10: PMU, raw tp, calls; no global data
  { label: "x64 5.4", args: ["--arch", "x64", "--kernel", "5.4"] }, // Ubuntu 20.04: kernel BTF, global data; no bpf_link
  { label: "x64 5.10", args: ["--arch", "x64", "--suite", "bullseye"] }, // Debian 11: bpf_link; memlock still charged
  { label: "x64 6.1", args: ["--arch", "x64"] }, // Debian 12: memcg accounting, IBT
];

/**
 * Runs several run.ts at once (`--arch all`, `--matrix`), `jobs` at a time, and prints one summary. Each child's
 * output is printed as one block when it ends (streamed when jobs is 1). Children start one after another
 * once the previous one printed its first line (its packages are ready): two fetching or extracting the same
 * cached .deb at once would race.
 */
async function runMany(entries: { label: string; args: string[] }[], jobs: number): Promise<never> {
  const rest: string[] = [];
  const argv = Bun.argv.slice(2);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] ?? "";
    if (["--arch", "--jobs", "--suite", "--kernel"].includes(a)) i++;
    else if (a !== "--matrix" && !/^--(arch|jobs|suite|kernel)=/.test(a)) rest.push(a);
  }
  let pass = 0, fail = 0, skipped = 0, worst = 0;
  const times: string[] = [];
  const table = new Map<string, Map<string, string>>();
  const started = performance.now();
  let gate: Promise<void> = Promise.resolve();
  const runOne = async (e: { label: string; args: string[] }): Promise<void> => {
    const prev = gate;
    let opened!: () => void;
    gate = new Promise((r) => (opened = r));
    await prev;
    const t = performance.now();
    const p = Bun.spawn([process.execPath, import.meta.path, ...e.args, ...rest], { stdout: "pipe", stderr: "pipe" });
    let out = "";
    const dec = new TextDecoder();
    const errText = new Response(p.stderr).text();
    // Only the combined line says "VM:": a child's own summary is relabelled when printed (cosmetic when
    // streaming, where a chunk may split it) and parsed from the whole output.
    const relabel = (text: string) => text.replace(/^VM: (.*)$/gm, `VM ${e.label}: $1`);
    for await (const chunk of p.stdout) {
      const text = dec.decode(chunk, { stream: true });
      out += text;
      if (jobs === 1) process.stdout.write(relabel(text));
      if (out.includes("\n")) opened();
    }
    const code = await p.exited;
    opened();
    const err = await errText;
    if (jobs > 1) process.stdout.write(relabel(`${out}${err}${`${out}${err}`.endsWith("\n") ? "" : "\n"}`));
    else process.stdout.write(err);
    const m = [...out.matchAll(/^VM: (\d+) passed, (\d+) failed, (\d+) skipped$/gm)].pop()?.slice(1);
    if (m === undefined) {
      fail++;
      log(`VM ${e.label}: run.ts exited ${code} without a summary line`);
    } else {
      pass += Number(m[0]);
      fail += Number(m[1]);
      skipped += Number(m[2]);
    }
    if (code !== 0 && code !== EXIT_SKIP) worst = 1;
    times.push(`${e.label} ${secs(performance.now() - t)}${m === undefined ? "" : ` (${m.join("/")})`}`);
    const got = new Map<string, string>();
    // A check that passed because bpfload refused with the version (check_since on an older kernel) says so.
    for (const r of out.matchAll(/^ {2}(PASS|FAIL|SKIP) {2}(\S+) +(.*)$/gm)) {
      got.set(r[2] ?? "", r[1] === "PASS" && /requires Linux >=/.test(r[3] ?? "") ? "refused" : (r[1] ?? ""));
    }
    if (/^SKIP: /m.test(out)) got.set("(all)", "SKIP");
    table.set(e.label, got);
  };
  const queue = [...entries];
  await Promise.all(Array.from({ length: Math.min(jobs, queue.length) }, async () => {
    for (let e = queue.shift(); e !== undefined; e = queue.shift()) await runOne(e);
  }));
  if (entries.length > 1) printTable(entries.map((e) => e.label), table);
  log(`time per kernel (pass/fail/skip): ${times.join(", ")}; all ${secs(performance.now() - started)} with --jobs ${jobs}`);
  log(summary(pass, fail, skipped));
  process.exit(worst !== 0 || fail > 0 ? 1 : pass > 0 ? 0 : EXIT_SKIP);
}

/** One row per check, one column per kernel: PASS/FAIL/SKIP ("refused": passed by naming the version it needs). */
function printTable(labels: string[], table: Map<string, Map<string, string>>): void {
  const names: string[] = [];
  for (const l of labels) for (const n of table.get(l)?.keys() ?? []) if (!names.includes(n)) names.push(n);
  const w = Math.max(5, ...names.map((n) => n.length));
  const cw = Math.max(4, ...labels.map((l) => l.length));
  log(`\n${"check".padEnd(w)}  ${labels.map((l) => l.padEnd(cw)).join("  ")}`);
  for (const n of names) log(`${n.padEnd(w)}  ${labels.map((l) => (table.get(l)?.get(n) ?? "-").padEnd(cw)).join("  ")}`);
}

// ---------------------------------------------------------------------------------------------- options

let parsed;
try {
  parsed = parseArgs({
    args: Bun.argv.slice(2),
    options: {
      arch: { type: "string", default: process.arch === "arm64" ? "arm64" : "x64" },
      suite: { type: "string", default: "bookworm" },
      kernel: { type: "string" },
      matrix: { type: "boolean", default: false },
      jobs: { type: "string", default: "1" },
      binary: { type: "string" },
      checks: { type: "string", default: join(HERE, "checks.sh") },
      file: { type: "string", multiple: true, default: [] },
      standin: { type: "boolean", default: false },
      accel: { type: "string", default: "auto" },
      smp: { type: "string", default: "2" },
      timeout: { type: "string" },
      gzip: { type: "boolean", default: false },
      keep: { type: "boolean", default: false },
      "show-output": { type: "boolean", default: false },
      verbose: { type: "boolean", short: "v", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
} catch (e) {
  usage((e as Error).message);
}
const opts = parsed.values;
if (opts.help) usage("help");
const jobs = Number(opts.jobs);
if (!Number.isInteger(jobs) || jobs < 1 || jobs > 8) usage("--jobs must be 1..8");
if (opts.matrix || opts.arch === "all") {
  if (opts.binary !== undefined) usage("--binary names one architecture's executable: use it with --arch x64 or arm64");
  if (opts.matrix && opts.kernel !== undefined) usage("--matrix boots every kernel: drop --kernel");
  if (opts.matrix) await runMany(MATRIX, jobs);
  await runMany([{ label: "x64", args: ["--arch", "x64"] }, { label: "arm64", args: ["--arch", "arm64"] }]
    .map((e) => ({ ...e, args: [...e.args, ...(opts.suite !== "bookworm" ? ["--suite", opts.suite] : []), ...(opts.kernel ? ["--kernel", opts.kernel] : [])] })), jobs);
}
const archName = opts.arch;
if (archName !== "x64" && archName !== "arm64") usage(`--arch must be x64, arm64 or all, not ${archName}`);
const A = ARCHES[archName];
if (!["auto", "kvm", "tcg"].includes(opts.accel)) usage(`--accel must be auto, kvm or tcg`);
const smp = Number(opts.smp);
if (!Number.isInteger(smp) || smp < 1 || smp > 8) usage("--smp must be 1..8");
const timeoutSecs = opts.timeout === undefined ? A.timeoutSecs : Number(opts.timeout);
if (!(timeoutSecs > 0)) usage("--timeout must be a positive number of seconds");
const checksPath = resolve(opts.checks);
if (!existsSync(checksPath)) usage(`no checks file ${checksPath}`);

// The guest kernel: Debian 12's 6.1 through the host's apt, or another suite's through private apt lists
// (bullseye: 5.10, which still charges BPF memory to RLIMIT_MEMLOCK). busybox and libc stay bookworm's.
const KERNELS: Record<string, string> = { bookworm: "6.1", bullseye: "5.10" };
const KVER = KERNELS[opts.suite] ?? usage(`--suite must be one of ${Object.keys(KERNELS).join(", ")}`);
const CACHE = join(HERE, "cache", A.debArch);
const KCACHE = opts.suite === "bookworm" ? CACHE : join(HERE, "cache", `${opts.suite}-${A.debArch}`);
// --kernel: a bare image (shared/vm-kernels, or a file) instead of a Debian kernel package.
const IMAGE_NAMES = { x64: ["bzImage-", "-x86_64"], arm64: ["Image-", "-arm64"] } as const;
function bareKernel(name: string): KernelImage {
  const dir = kernelsDir(ROOT);
  const [prefix, suffix] = IMAGE_NAMES[archName as "x64" | "arm64"];
  const path = name.includes("/") || existsSync(name) ? resolve(name) : findKernelImage(dir, name, prefix, suffix);
  if (path === undefined || !existsSync(path)) {
    skip(path === undefined
      ? `no kernel image ${prefix}${name}*${suffix} in ${dir} (set BPFLOAD_VM_KERNELS to the directory that has it)`
      : `no kernel image ${path}`);
  }
  return describeKernelImage(path) ?? usage(`${path}: no version in its bzImage header or file name`);
}
const bare = opts.kernel === undefined ? undefined : bareKernel(opts.kernel);
const LABEL = bare !== undefined ? bare.version : opts.suite;
const WORK = join(HERE, "work", `${archName}-${LABEL}`);
mkdirSync(WORK, { recursive: true });

// ------------------------------------------------------------------------------------------- host tools

const t0 = performance.now();
if (Bun.which(A.qemu) === null) {
  skip(`${A.qemu} not found (apt-get install ${archName === "x64" ? "qemu-system-x86" : "qemu-system-arm"})`);
}

// ------------------------------------------------------------------------------------------- executable

async function buildStandin(): Promise<string> {
  const src = join(HERE, "standin.ts");
  const out = join(WORK, "standin");
  if (existsSync(out) && statSync(out).mtimeMs > statSync(src).mtimeMs) return out;
  const p = Bun.spawnSync(
    [process.execPath, "build", "--compile", `--target=${A.bunTarget}`, src, "--outfile", out],
    { cwd: ROOT, stdout: "pipe", stderr: "pipe" },
  );
  if (p.exitCode !== 0) throw new Error(`building the stand-in failed:\n${p.stderr.toString()}`);
  return out;
}

const binaryPath = opts.standin ? await buildStandin() : resolve(ROOT, opts.binary ?? A.defaultBinary);
if (!existsSync(binaryPath)) {
  skip(`no executable ${relative(ROOT, binaryPath)} (build it with \`npx bun build.ts\`, or run with --standin)`);
}
const deps = await readElfDeps(binaryPath);
if (deps.machine !== A.elfMachine) {
  usage(`${relative(ROOT, binaryPath)} is ELF machine ${deps.machine}, not ${archName} (${A.elfMachine})`);
}

// ------------------------------------------------------------------------------------------- packages

function kernelPackage(apt: string[]): string {
  const pkg = resolveKernelPackage(A.debArch, KVER, apt);
  if (pkg !== null) return pkg;
  // apt knows no such kernel (offline, no `apt-get update`, arch not added): newest cached one.
  const re = new RegExp(`^(linux-image-${KVER.replace(".", "\\.")}\\.0-\\d+-${A.debArch}(?:-unsigned)?)_`);
  const have = existsSync(KCACHE)
    ? [...new Bun.Glob(`linux-image-${KVER}.0-*_${A.debArch}.deb`).scanSync(KCACHE)].filter((f) => re.test(f)).sort()
    : [];
  const last = have.pop();
  const name = last === undefined ? undefined : re.exec(last)?.[1];
  if (name === undefined) {
    throw new SkipError(
      `no linux-image-${KVER}.0-*-${A.debArch} package known to apt or cached in ${relative(ROOT, KCACHE)}` +
        (A.debArch === "amd64" ? " (run apt-get update)" : ` (dpkg --add-architecture ${A.debArch} && apt-get update)`),
    );
  }
  return name;
}

let libc: Deb, busybox: Deb;
let guestKernel: KernelImage & { name: string };
try {
  if (bare === undefined) {
    const kapt = opts.suite === "bookworm" ? [] : suiteAptOptions(opts.suite, join(KCACHE, "apt"), [A.debArch]);
    const kpkg = kernelPackage(kapt);
    const kernel = fetchDeb(kpkg, A.debArch, KCACHE, candidateVersions([`${kpkg}:${A.debArch}`], kapt).get(`${kpkg}:${A.debArch}`) ?? null, kapt);
    // A newer kernel ABI (linux-image-6.1.0-N+1-...) is another package name: drop the older ones' 70 MB.
    for (const f of new Bun.Glob(`linux-image-${KVER}.0-*_${A.debArch}.deb`).scanSync(KCACHE)) {
      if (join(KCACHE, f) !== kernel.path) removeCached(join(KCACHE, f));
    }
    const kernelDir = extractDeb(kernel, KCACHE, ["./boot"]);
    const vmlinuz = [...new Bun.Glob("boot/vmlinuz-*").scanSync(kernelDir)][0];
    if (vmlinuz === undefined) throw new Error(`no boot/vmlinuz-* in ${kernel.path}`);
    guestKernel = {
      name: `${kernel.pkg} ${kernel.version}`,
      path: join(kernelDir, vmlinuz),
      version: debianKernelVersion(kernel.version) ?? KVER,
      release: vmlinuz.replace(/^boot\/vmlinuz-/, ""),
    };
  } else {
    guestKernel = { ...bare, name: `${relative(ROOT, bare.path)} (${bare.release})` };
  }
  const names = ["libc6", "busybox-static"] as const;
  const versions = candidateVersions(names.map((n) => `${n}:${A.debArch}`));
  const deb = (n: string): Deb => fetchDeb(n, A.debArch, CACHE, versions.get(`${n}:${A.debArch}`) ?? null);
  libc = deb(names[0]);
  busybox = deb(names[1]);
} catch (e) {
  if (e instanceof SkipError) skip(e.message);
  throw e;
}
const kernelPath = guestKernel.path;
const libcDir = extractDeb(libc, CACHE);
const busyboxDir = extractDeb(busybox, CACHE, ["./bin/busybox"]);
const tPackages = performance.now();

// ------------------------------------------------------------------------------------------- initramfs

async function buildInitramfs(): Promise<string> {
  const c = new Cpio();
  for (const d of ["bin", "sbin", "usr/bin", "usr/sbin", "proc", "sys", "dev", "tmp", "root", "etc", "vm"]) c.dir(d);
  c.chardev("dev/console", 5, 1);
  c.chardev("dev/null", 1, 3, 0o666);
  c.file("bin/busybox", readFileSync(join(busyboxDir, "bin/busybox")), 0o755);
  c.symlink("bin/sh", "busybox");
  c.file("init", readFileSync(join(HERE, "guest/init.sh")), 0o755);
  c.file("vm/lib.sh", readFileSync(join(HERE, "guest/lib.sh")));
  c.file("vm/checks.sh", readFileSync(checksPath));
  c.file("vm/seed.bin", readFileSync(join(HERE, "seed.bin")));
  // --file PATH: more executables for a --checks script (e.g. bench.sh's static C loader), as /vm/extra/NAME.
  for (const f of opts.file) c.file(`vm/extra/${f.split("/").pop()}`, readFileSync(f), 0o755);
  // Fixture objects (test/fixtures/*.o, e.g. legacy_maps.o) under /vm/fixtures when present.
  const fixtures = join(ROOT, "test/fixtures");
  if (existsSync(fixtures)) {
    for (const f of new Bun.Glob("*.o").scanSync(fixtures)) c.file(`vm/fixtures/${f}`, readFileSync(join(fixtures, f)));
    // USDT targets (x86_64 sys/sdt.h programs) and objects of test/fixtures/usdt/ under /vm/fixtures/usdt
    for (const f of new Bun.Glob("usdt/*").scanSync(fixtures)) if (!f.endsWith(".c")) c.file(`vm/fixtures/${f}`, readFileSync(join(fixtures, f)), 0o755);
  }
  // The bare kernels' raw BTF (btf-VERSION, made by pahole -J as BTFHub's are) under /vm/btf: CO-RE with --btf.
  const kdir = kernelsDir(ROOT);
  if (existsSync(kdir)) for (const f of new Bun.Glob("btf-*").scanSync(kdir)) c.file(`vm/btf/${f}`, readFileSync(join(kdir, f)));
  // Facts the checks cannot easily compute with busybox alone.
  const bbEntry = (await readElfDeps(join(busyboxDir, "bin/busybox"))).entryOffset;
  const env = {
    VM_ARCH: archName,
    VM_BINARY_KIND: opts.standin ? "standin" : "bpfload",
    VM_TRIPLET: A.triplet,
    VM_BUSYBOX_ENTRY_OFF: bbEntry === null ? "" : `0x${bbEntry.toString(16)}`,
    VM_SHOW_OUTPUT: opts["show-output"] ? "1" : "0",
    // An emulated foreign CPU (arm64 under x86_64 TCG): a check whose bpfload crashed inside Bun's runtime
    // (its "Bun has crashed" report) or hung is run once more, said in the result (guest/lib.sh check()).
    VM_RETRY_RUNTIME_CRASH: process.arch === archName ? "0" : "1",
  };
  c.file("vm/env", Object.entries(env).map(([k, v]) => `${k}=${v}\n`).join(""));
  c.file("bin/bpfload", readFileSync(binaryPath), 0o755);

  // glibc: the interpreter and every DT_NEEDED, recursively, from the guest-arch libc6 package.
  const libDir = `lib/${A.triplet}`;
  const queue = [...deps.needed];
  if (deps.interp !== null) {
    const base = deps.interp.split("/").pop() ?? "";
    queue.push(base);
    const interpRel = deps.interp.replace(/^\/+/, "");
    if (interpRel !== `${libDir}/${base}`) c.symlink(interpRel, `/${libDir}/${base}`);
  }
  const missing: string[] = [];
  while (queue.length > 0) {
    const lib = queue.shift() ?? "";
    if (c.has(`${libDir}/${lib}`)) continue;
    const src = join(libcDir, libDir, lib);
    if (!existsSync(src)) {
      missing.push(lib);
      continue;
    }
    c.file(`${libDir}/${lib}`, readFileSync(src), 0o755);
    queue.push(...(await readElfDeps(src)).needed);
  }
  if (missing.length > 0) throw new Error(`libraries not in ${libc.pkg} ${libc.version}: ${missing.join(", ")}`);

  const parts = c.finish();
  // Per process, so two runs at once do not overwrite each other's; removed after the run unless --keep.
  const out = join(WORK, `initramfs-${process.pid}.cpio${opts.gzip ? ".gz" : ""}`);
  if (opts.gzip) {
    const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let off = 0;
    for (const p of parts) {
      all.set(p, off);
      off += p.length;
    }
    await Bun.write(out, Bun.gzipSync(all, { level: 1 }));
  } else {
    await Bun.write(out, new Blob(parts));
  }
  return out;
}

const initrd = await buildInitramfs();
let running: Bun.Subprocess | null = null;
for (const sig of ["SIGINT", "SIGTERM"] as const) {
  process.on(sig, () => {
    running?.kill("SIGKILL");
    if (!opts.keep) rmSync(initrd, { force: true });
    process.exit(130);
  });
}
const tInitrd = performance.now();

// ------------------------------------------------------------------------------------------- qemu

function qemuArgv(accel: "kvm" | "tcg", append: string, withInitrd: boolean): string[] {
  return [
    A.qemu, ...A.qemuArgs,
    "-accel", accel === "tcg" && smp > 1 ? "tcg,thread=multi" : accel,
    "-cpu", process.env.BPFLOAD_VM_CPU || A.cpu, "-smp", String(smp), "-m", "1G",
    "-nographic", "-no-reboot", "-nic", "none",
    "-kernel", kernelPath,
    ...(withInitrd ? ["-initrd", initrd] : []),
    "-append", append,
  ];
}

interface QemuRun {
  output: string;
  exitCode: number | null;
  timedOut: boolean;
  msToBoot: number | null;
  msToDone: number | null;
  msTotal: number;
}

/** Runs qemu, collecting the serial console; `until` ends the run early (2 s grace for poweroff). */
async function runQemu(argv: string[], limitSecs: number, until: RegExp | null, echo: boolean,
  logFile: string | null): Promise<QemuRun> {
  const start = performance.now();
  const proc = Bun.spawn(argv, { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  running = proc;
  let timedOut = false;
  let msToBoot: number | null = null;
  let msToDone: number | null = null;
  const killer = setTimeout(() => {
    timedOut = true;
    proc.kill("SIGKILL");
  }, limitSecs * 1000);
  let graceTimer: ReturnType<typeof setTimeout> | undefined;
  let output = "";
  const dec = new TextDecoder();
  const errText = new Response(proc.stderr).text();
  for await (const chunk of proc.stdout) {
    const text = dec.decode(chunk, { stream: true });
    output += text;
    if (echo) process.stdout.write(text);
    if (msToBoot === null && output.includes("VMBOOT ")) msToBoot = performance.now() - start;
    if (until !== null && graceTimer === undefined && until.test(output)) {
      msToDone = performance.now() - start;
      graceTimer = setTimeout(() => proc.kill("SIGKILL"), 2000);
    }
  }
  const exitCode = await proc.exited;
  clearTimeout(killer);
  if (graceTimer !== undefined) clearTimeout(graceTimer);
  output += await errText;
  if (logFile !== null) writeFileSync(logFile, output);
  return { output, exitCode, timedOut, msToBoot, msToDone, msTotal: performance.now() - start };
}

function kvmUsable(): boolean {
  if (process.arch !== archName) return false;
  try {
    accessSync("/dev/kvm", constants.R_OK | constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

async function chooseAccel(): Promise<{ accel: "kvm" | "tcg"; why: string }> {
  if (opts.accel === "tcg") return { accel: "tcg", why: "--accel tcg" };
  if (!kvmUsable()) {
    if (opts.accel === "kvm") usage("--accel kvm: /dev/kvm is not usable for this architecture");
    return { accel: "tcg", why: process.arch === archName ? "no usable /dev/kvm" : "foreign architecture" };
  }
  // Probe: boot the kernel without an initramfs; under working KVM it prints its banner within a second.
  const probe = await runQemu(qemuArgv("kvm", `console=${A.console} panic=-1`, false), 10, /Linux version/, false, null);
  if (/Linux version/.test(probe.output)) return { accel: "kvm", why: "KVM probe booted" };
  const outLines = probe.output.trim().split("\n").filter((l) => l.length > 0);
  const why = outLines.find((l) => /error/i.test(l)) ?? outLines.pop() ?? `no banner within 10 s`;
  if (opts.accel === "kvm") usage(`--accel kvm: the KVM probe failed: ${why}`);
  return { accel: "tcg", why: `KVM probe failed: ${why.slice(0, 120)}` };
}

const { accel, why: accelWhy } = await chooseAccel();
const tAccel = performance.now();
const serialLog = join(WORK, "serial.log");
log(`VM ${archName}: ${guestKernel.name}, ${busybox.pkg} ${busybox.version}, ${libc.pkg} ${libc.version}`);
log(`    ${A.qemu} -accel ${accel} (${accelWhy}) -cpu ${process.env.BPFLOAD_VM_CPU || A.cpu} -smp ${smp}; ` +
  `executable ${relative(ROOT, binaryPath)}; checks ${relative(ROOT, checksPath)}`);

// A guest that hangs under TCG (seen once in ~20 runs: an RCU stall and soft lockup in busybox's sh while a
// tracefs kprobe was being enabled, before bpfload had run) is qemu's or the guest kernel's problem, not a
// check's: boot once more, and say so. A second hang is reported as the failure it is.
const HUNG = /soft lockup|rcu_preempt self-detected stall|rcu: INFO: rcu_(preempt|sched) detected stalls/;
// The guest's checks gate on the version it must be running (guest/init.sh reads these, checks.sh asserts uname -r).
const bootArgs = `console=${A.console} quiet panic=-1 bpfload.kver=${guestKernel.version} bpfload.krel=${guestKernel.release}`;
let vm = await runQemu(qemuArgv(accel, bootArgs, true), timeoutSecs, /VMDONE uptime=\S+\s/, opts.verbose, serialLog);
if (!/VMDONE uptime=/.test(vm.output) && HUNG.test(vm.output)) {
  const last = vm.output.match(/VMCHECK \w+ [^\s:]+/g)?.pop() ?? "before the first check";
  log(`note: the guest hung (${HUNG.exec(vm.output)?.[0]}) after '${last}'; booting it once more`);
  vm = await runQemu(qemuArgv(accel, bootArgs, true), timeoutSecs, /VMDONE uptime=\S+\s/, opts.verbose, serialLog);
}

if (!opts.keep) rmSync(initrd, { force: true });

// ------------------------------------------------------------------------------------------- report

const results: CheckResult[] = [];
// Strip \r and the terminal escapes SeaBIOS/the kernel print (ESC c, ESC [ ... m) before parsing lines.
// A bare \r (SeaBIOS ends "Booting from ROM..." with one) counts as a line break; markers are matched
// anywhere in a line in case console noise precedes them.
const clean = vm.output.replace(/\x1b(\[[0-9;?]*[A-Za-z]|[A-Za-z])/g, "").replace(/\r\n?/g, "\n");
const lines = clean.split("\n");
for (const line of lines) {
  let m = /VMCHECK (PASS|FAIL|SKIP) ([^\s:]+):? ?(.*)$/.exec(line);
  if (m !== null) {
    results.push({ name: m[2] ?? "", status: m[1] as CheckResult["status"], detail: m[3] ?? "", log: [] });
    continue;
  }
  m = /VMLOG (\S+)\| ?(.*)$/.exec(line);
  if (m !== null) {
    const r = results.findLast((x) => x.name === m?.[1]);
    r?.log.push(m[2] ?? "");
  }
}
const bootLine = /VMBOOT (.*)$/m.exec(clean)?.[1];
const doneLine = /VMDONE uptime=(\S+)/m.exec(clean)?.[1];
const guestBoot = Number(/uptime=(\S+)/.exec(bootLine ?? "")?.[1] ?? NaN);
const guestDone = Number(doneLine ?? NaN);
const alarming = lines.filter((l) => /Kernel panic|BUG:|WARNING:|Oops|Illegal instruction|segfault|Call Trace/.test(l));

if (doneLine === undefined) {
  const why = vm.timedOut
    ? `no VMDONE within ${timeoutSecs}s (killed)`
    : `qemu exited (${vm.exitCode}) before VMDONE${bootLine === undefined ? " and before VMBOOT" : ""}`;
  const tail = lines.filter((l) => l.trim().length > 0 && !/VM(CHECK|LOG) /.test(l)).slice(-20);
  results.push({ name: "vm-completed", status: "FAIL", detail: why, log: tail });
}

const width = Math.max(12, ...results.map((r) => r.name.length));
for (const r of results) {
  log(`  ${r.status}  ${r.name.padEnd(width)}  ${r.detail}`);
  if (r.status === "FAIL" || opts["show-output"]) for (const l of r.log) log(`        | ${l}`);
}
if (alarming.length > 0) {
  log("  kernel/console messages worth a look:");
  for (const l of alarming.slice(0, 10)) log(`        ! ${l}`);
}
const pass = results.filter((r) => r.status === "PASS").length;
const fail = results.filter((r) => r.status === "FAIL").length;
const skipped = results.filter((r) => r.status === "SKIP").length;

const guest = Number.isFinite(guestBoot)
  ? `guest uptime at /init ${guestBoot.toFixed(1)}s` + (Number.isFinite(guestDone) ? `, at the end ${guestDone.toFixed(1)}s` : "")
  : "guest never reached /init";
log(`time: boot+check ${secs(vm.msToDone ?? vm.msTotal)} (${accel}; to VMBOOT ${vm.msToBoot === null ? "-" : secs(vm.msToBoot)}, ` +
  `${guest}); packages ${secs(tPackages - t0)}, initramfs ${secs(tInitrd - tPackages)}` +
  (accel === "kvm" || opts.accel === "auto" ? `, accel probe ${secs(tAccel - tInitrd)}` : "") +
  `; total ${secs(performance.now() - t0)}`);
log(`serial log: ${relative(ROOT, serialLog)}`);
log(summary(pass, fail, skipped));
process.exit(fail > 0 ? 1 : pass > 0 ? 0 : EXIT_SKIP);

// Fetching Debian packages with the ordinary clients (apt-cache, apt-get download, dpkg-deb) into a cache dir.
// Every function degrades to what is already cached, so a second run works offline.

import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export class SkipError extends Error {}

export interface Cmd {
  code: number;
  out: string;
  err: string;
}

/**
 * apt options for another Debian suite's kernels (e.g. bullseye's 5.10) without touching the host's apt
 * configuration: a private sources.list (the host's own mirror, another suite) and private package lists
 * under `dir`, refreshed at most once a day. Returns the options every apt-get/apt-cache call then takes.
 */
export function suiteAptOptions(suite: string, dir: string, debArches: string[]): string[] {
  const conf = ["/etc/apt/sources.list.d/debian.sources", "/etc/apt/sources.list"].filter(existsSync).map((f) => readFileSync(f, "utf8")).join("\n");
  const mirror = /^URIs:\s*(\S+)/m.exec(conf)?.[1] ?? /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+\S+\s+main/m.exec(conf)?.[1];
  if (mirror === undefined) throw new SkipError("no Debian mirror configured in /etc/apt (needed to fetch another suite's kernel)");
  mkdirSync(join(dir, "lists", "partial"), { recursive: true });
  mkdirSync(join(dir, "cache", "archives", "partial"), { recursive: true });
  const sources = join(dir, "sources.list");
  writeFileSync(sources, `deb [arch=${debArches.join(",")} signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] ${mirror} ${suite} main\n`);
  const options = ["-o", `Dir::Etc::SourceList=${sources}`, "-o", "Dir::Etc::SourceParts=/nonexistent", "-o", `Dir::State::Lists=${join(dir, "lists")}`, "-o", `Dir::Cache=${join(dir, "cache")}`];
  const stamp = join(dir, "lists", ".updated");
  const fresh = existsSync(stamp) && Date.now() - Bun.file(stamp).lastModified < 86_400_000;
  if (!fresh) {
    const r = run(["apt-get", ...options, "update", "-q"]);
    if (r.code === 0) writeFileSync(stamp, new Date().toISOString());
    else console.log(`note: apt-get update for ${suite} failed (${(r.err || r.out).trim().split("\n").pop()}); using what is cached`);
  }
  return options;
}

export function run(argv: string[], opts: { cwd?: string } = {}): Cmd {
  if (Bun.which(argv[0] ?? "") === null) return { code: 127, out: "", err: `${argv[0]}: not found` };
  const p = Bun.spawnSync(argv, { cwd: opts.cwd, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  return { code: p.exitCode ?? -1, out: p.stdout.toString(), err: p.stderr.toString() };
}

/**
 * Candidate versions apt would download, for names like "libc6:arm64", in one apt-cache call (each call costs
 * about a second). Names apt does not know are absent from the map.
 */
export function candidateVersions(pkgs: string[], apt: string[] = []): Map<string, string> {
  const found = new Map<string, string>();
  if (pkgs.length === 0) return found;
  const r = run(["apt-cache", ...apt, "show", "--no-all-versions", ...pkgs]);
  for (const stanza of r.out.split(/\n\n+/)) {
    const name = /^Package: (\S+)$/m.exec(stanza)?.[1];
    const arch = /^Architecture: (\S+)$/m.exec(stanza)?.[1];
    const version = /^Version: (\S+)$/m.exec(stanza)?.[1];
    if (name === undefined || arch === undefined || version === undefined) continue;
    found.set(`${name}:${arch}`, version);
    if (arch === "all") for (const p of pkgs) if (p.startsWith(`${name}:`)) found.set(p, version);
  }
  return found;
}

/**
 * The Debian kernel image package for debArch (`kernel`: "6.1", or "5.10" for bullseye): the one the
 * linux-image-ARCH metapackage depends on when that is this kernel, else the newest
 * linux-image-KERNEL.0-N-ARCH[-unsigned] apt knows.
 */
export function resolveKernelPackage(debArch: string, kernel = "6.1", apt: string[] = []): string | null {
  const k = kernel.replace(".", "\\.");
  const dep = run(["apt-cache", ...apt, "depends", `linux-image-${debArch}:${debArch}`]);
  const re = new RegExp(`^linux-image-${k}\\.0-\\d+-${debArch}(-unsigned)?$`);
  if (dep.code === 0) {
    for (const m of dep.out.matchAll(/Depends: (\S+)/g)) {
      const name = (m[1] ?? "").replace(/:\w+$/, "");
      if (re.test(name)) return name;
    }
  }
  const s = run(["apt-cache", ...apt, "search", "--names-only", `^linux-image-${k}\\.0-[0-9]+-${debArch}(-unsigned)?$`]);
  if (s.code !== 0) return null;
  const names = s.out
    .split("\n")
    .map((l) => l.split(" ")[0] ?? "")
    .filter((n) => re.test(n));
  names.sort((a, b) => abiOf(b) - abiOf(a) || a.length - b.length); // newest ABI, signed before -unsigned
  return names[0] ?? null;
}

function abiOf(name: string): number {
  return Number(/^linux-image-\d+\.\d+\.0-(\d+)-/.exec(name)?.[1] ?? 0);
}

function debVersionInFilename(v: string): string {
  return v.replace(/:/g, "%3a");
}

export interface Deb {
  pkg: string;
  version: string;
  path: string;
}

/**
 * The .deb of pkg for debArch in cacheDir: downloaded with `apt-get download` unless the candidate version is
 * already there (candidate: the version apt offers, when already asked; null: apt does not know it). When apt
 * knows nothing (offline, no apt-get update, arch not added) or the download fails: the newest cached one.
 */
export function fetchDeb(pkg: string, debArch: string, cacheDir: string, candidate?: string | null, apt: string[] = []): Deb {
  mkdirSync(cacheDir, { recursive: true });
  const versionOf = (file: string): string => decodeURIComponent(file.slice(pkg.length + 1, -`_${debArch}.deb`.length));
  const cached = (): string[] =>
    readdirSync(cacheDir).filter((f) => f.startsWith(`${pkg}_`) && f.endsWith(`_${debArch}.deb`)).sort();
  const version = candidate === undefined ? (candidateVersions([`${pkg}:${debArch}`], apt).get(`${pkg}:${debArch}`) ?? null) : candidate;
  if (version !== null) {
    const want = `${pkg}_${debVersionInFilename(version)}_${debArch}.deb`;
    if (!existsSync(join(cacheDir, want))) {
      const r = run(["apt-get", ...apt, "download", "-q", "-o", "APT::Sandbox::User=root", `${pkg}:${debArch}`], { cwd: cacheDir });
      if (r.code !== 0 || !existsSync(join(cacheDir, want))) {
        const why = `apt-get download ${pkg}:${debArch} failed: ${(r.err || r.out).trim().split("\n").pop() ?? ""}`;
        const older = cached().pop();
        if (older === undefined) throw new SkipError(why);
        console.log(`note: ${why}; using the cached ${older}`);
        return { pkg, version: versionOf(older), path: join(cacheDir, older) };
      }
      for (const old of cached()) if (old !== want) removeCached(join(cacheDir, old));
    }
    return { pkg, version, path: join(cacheDir, want) };
  }
  const have = cached().pop();
  if (have === undefined) {
    throw new SkipError(
      `package ${pkg}:${debArch} is not known to apt and not cached in ${cacheDir}` +
        (debArch !== "amd64" ? ` (dpkg --add-architecture ${debArch} && apt-get update)` : " (apt-get update)"),
    );
  }
  return { pkg, version: versionOf(have), path: join(cacheDir, have) };
}

/** Removes a cached .deb and its extracted tree. */
export function removeCached(debPath: string): void {
  rmSync(debPath, { force: true });
  rmSync(debPath.replace(/\.deb$/, ""), { recursive: true, force: true });
}

/**
 * Extracts a .deb (only the given members, e.g. "./boot", when listed) into cacheDir/<deb name>/ once.
 * dpkg-deb --fsys-tarfile | tar instead of dpkg-deb -x so the kernel package's 400 MB of modules stay packed.
 */
export function extractDeb(deb: Deb, cacheDir: string, members: string[] = []): string {
  const name = deb.path.split("/").pop()?.replace(/\.deb$/, "") ?? "deb";
  const dir = join(cacheDir, name);
  if (existsSync(join(dir, ".extracted"))) return dir;
  const tmp = `${dir}.tmp`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  const r = run(["sh", "-c", 'deb=$1; dir=$2; shift 2; dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$dir" "$@"', "sh", deb.path, tmp, ...members]);
  if (r.code !== 0) throw new Error(`extracting ${deb.path} failed: ${r.err.trim()}`);
  writeFileSync(join(tmp, ".extracted"), `${deb.pkg} ${deb.version}\n`);
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
  return dir;
}

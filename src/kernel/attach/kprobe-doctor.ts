// The kprobe doctor: when a kprobe cannot be placed on FUNC, which names this kernel really has for
// it. Compilers rename static functions they clone or split (`FUNC.isra.0`, `FUNC.constprop.0`,
// `FUNC.part.0`, clang's ThinLTO `FUNC.llvm.123`); `.cold` parts are never a function's entry, so
// they are never offered. Syscalls carry an arch prefix (`__x64_sys_`, `__arm64_sys_`; `SyS_` on
// 4.9). The same name can exist several times (static functions of two files, a module's copy):
// those are listed with their module and address, since a kprobe by name takes only the first.
// `__pfx_` symbols (6.x function padding) are not functions either.
// Pure: it ranks recorded /proc/kallsyms and available_filter_functions text (tests feed both).

export interface KallsymsEntry {
  name: string;
  /** The address as kallsyms prints it (zeros without CAP_SYSLOG / kptr_restrict). */
  address: string;
  /** The module in brackets, undefined for vmlinux. */
  module?: string;
}

export interface KprobeCandidate {
  name: string;
  /** Why it is offered: the name itself, its syscall wrapper, a compiler clone, or a close spelling. */
  why: "exact" | "syscall" | "clone" | "similar";
  /** Every place the name is (more than one: a duplicate; a kprobe by name takes the first). */
  places: KallsymsEntry[];
  /** Listed in available_filter_functions (undefined when that file was not read). */
  traceable?: boolean;
}

/** Function symbols (t/T/w/W) of /proc/kallsyms text, in file order (scanned by hand: 120k+ lines on 6.x). */
export function parseKallsyms(text: string): KallsymsEntry[] {
  const out: KallsymsEntry[] = [];
  for (let p = 0; p < text.length; ) {
    let end = text.indexOf("\n", p);
    if (end < 0) end = text.length;
    // "ffffffff81234560 t vfs_read.isra.0\t[ext4]" (the module after a tab)
    const sp = text.indexOf(" ", p);
    const type = sp > p && sp + 3 < end ? text.charCodeAt(sp + 1) : 0;
    if ((type === 0x74 || type === 0x54 || type === 0x77 || type === 0x57) && text.charCodeAt(sp + 2) === 0x20) {
      let nameEnd = sp + 3;
      while (nameEnd < end && text.charCodeAt(nameEnd) > 0x20) nameEnd++;
      const e: KallsymsEntry = { address: text.slice(p, sp), name: text.slice(sp + 3, nameEnd) };
      let open = nameEnd;
      while (open < end && (text.charCodeAt(open) === 0x20 || text.charCodeAt(open) === 0x09)) open++;
      if (text.charCodeAt(open) === 0x5b) {
        const close = text.indexOf("]", open);
        if (close > open && close < end) e.module = text.slice(open + 1, close);
      }
      if (e.name) out.push(e);
    }
    p = end + 1;
  }
  return out;
}

/** Names listed in available_filter_functions ("name" or "name [module]" per line). */
export function parseFilterFunctions(text: string): Set<string> {
  const out = new Set<string>();
  for (const line of text.split("\n")) {
    const name = line.split(/\s/, 1)[0];
    if (name) out.add(name);
  }
  return out;
}

/** The syscall a name stands for (`sys_clone`, `__x64_sys_clone`, `SyS_clone` → clone), if any. */
export function syscallBase(func: string): string | undefined {
  return func.match(/^(?:__(?:x64|ia32|arm64|se|do)_)?(?:sys|SyS)_(\w+)$/)?.[1];
}

/** The names a syscall has on this arch, likeliest first. */
function syscallNames(base: string, arch: string): string[] {
  const wrapper = arch === "arm64" ? `__arm64_sys_${base}` : `__x64_sys_${base}`;
  return [wrapper, `sys_${base}`, `SyS_${base}`];
}

/** `FUNC.isra.0`, `FUNC.constprop.0.isra.0`, `FUNC.part.1`, `FUNC.llvm.12345`: clones with FUNC's entry. */
function isCloneOf(name: string, func: string): boolean {
  if (!name.startsWith(`${func}.`) || name.includes(".cold")) return false;
  return /^(\.(isra|constprop|part|llvm)\.\d+)+$/.test(name.slice(func.length));
}

const rows = [new Uint16Array(256), new Uint16Array(256)];

/** Levenshtein distance, stopping once it exceeds `max` (most names are far); two rows reused. */
function editDistance(a: string, b: string, max: number): number {
  if (Math.abs(a.length - b.length) > max) return max + 1;
  if (b.length >= 255 || a.length >= 255) return max + 1;
  let prev = rows[0]!;
  let cur = rows[1]!;
  for (let j = 0; j <= b.length; j++) prev[j] = j;
  for (let i = 1; i <= a.length; i++) {
    cur[0] = i;
    let best = i;
    const ca = a.charCodeAt(i - 1);
    for (let j = 1; j <= b.length; j++) {
      const v = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (ca === b.charCodeAt(j - 1) ? 0 : 1));
      cur[j] = v;
      if (v < best) best = v;
    }
    if (best > max) return max + 1;
    [prev, cur] = [cur, prev];
  }
  return prev[b.length]!;
}

const MAX_SIMILAR = 5;

/**
 * The names to offer for FUNC, best first: the name itself (when it is there but was refused, its
 * duplicates matter), the syscall's names for this arch, compiler clones, and — only when none of
 * those exist — up to 5 close spellings. Traceable clones and spellings (in
 * available_filter_functions) come before the others.
 */
export function kprobeCandidates(func: string, kallsyms: KallsymsEntry[], filterFunctions: Set<string> | undefined, arch: string): KprobeCandidate[] {
  const byName = new Map<string, KallsymsEntry[]>();
  for (const e of kallsyms) {
    const list = byName.get(e.name);
    if (list) list.push(e);
    else byName.set(e.name, [e]);
  }
  const traceable = (name: string) => (filterFunctions ? filterFunctions.has(name) : undefined);
  const out: KprobeCandidate[] = [];
  const add = (name: string, why: KprobeCandidate["why"]) => {
    if (out.some((c) => c.name === name)) return;
    const places = byName.get(name);
    if (places) out.push({ name, why, places, traceable: traceable(name) });
  };
  add(func, "exact");
  const base = syscallBase(func);
  if (base) for (const n of syscallNames(base, arch)) add(n, "syscall");
  const clones = [...byName.keys()].filter((n) => isCloneOf(n, func)).sort();
  for (const n of clones) add(n, "clone");
  if (base) for (const n of [...byName.keys()].filter((n) => syscallBase(n) === base && !n.startsWith("__se_") && !n.startsWith("__do_")).sort()) add(n, "syscall");
  if (!out.length) {
    const max = func.length <= 4 ? 1 : 2;
    const similar = [...byName.keys()]
      .filter((n) => !n.includes(".cold") && !n.startsWith("__pfx_"))
      .map((n) => ({ n, d: editDistance(func, n, max) }))
      .filter((x) => x.d <= max)
      .sort((a, b) => a.d - b.d || a.n.localeCompare(b.n))
      .slice(0, MAX_SIMILAR);
    for (const { n } of similar) add(n, "similar");
  }
  // stable: among clones and close spellings, traceable names first (a syscall's names keep this
  // arch's order: x86's wrappers are not in available_filter_functions, and kprobes need no ftrace)
  const kindRank = { exact: 0, syscall: 1, clone: 2, similar: 3 };
  const traceRank = (c: KprobeCandidate) => (c.why === "clone" || c.why === "similar") && c.traceable ? 0 : 1;
  return out
    .map((c, i) => ({ c, i }))
    .sort((a, b) => kindRank[a.c.why] - kindRank[b.c.why] || traceRank(a.c) - traceRank(b.c) || a.i - b.i)
    .map((x) => x.c);
}

const where = (e: KallsymsEntry) => `${e.module ? `[${e.module}]` : "vmlinux"} 0x${e.address}`;

/** One phrase for the error line: "candidates: a (clone, traceable), b (2 copies: vmlinux 0x…, [m] 0x…)". */
export function describeCandidates(func: string, candidates: KprobeCandidate[]): string {
  const others = candidates.filter((c) => !(c.name === func && c.places.length === 1));
  if (!candidates.length) return `no function named like '${func}' in /proc/kallsyms`;
  const parts = candidates.map((c) => {
    const notes: string[] = [];
    if (c.why === "clone") notes.push("compiler clone");
    if (c.why === "syscall") notes.push("syscall");
    if (c.why === "similar") notes.push("similar name");
    if (c.traceable === false) notes.push("not in available_filter_functions");
    if (c.places.length > 1) notes.push(`${c.places.length} copies: ${c.places.map(where).join(", ")}: ambiguous by name (the kernel probes the first, or from 6.7 refuses it: EADDRNOTAVAIL)`);
    return notes.length ? `${c.name} (${notes.join("; ")})` : c.name;
  });
  if (!others.length) return `'${func}' is in /proc/kallsyms`;
  return `candidates on this kernel: ${parts.join(", ")}`;
}

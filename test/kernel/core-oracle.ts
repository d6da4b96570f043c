// libbpf as the oracle for CO-RE: `bpftool -d prog loadall OBJ PIN` prints, before any program is
// loaded, each relocation's result ("prog 'p': relo #3: patched insn #7 (LDX/ST/STX) off 8 -> 2456");
// bpfload's engine, run on the same object against the same kernel BTF, must print the same lines.
// The relocation lines come before verification, so a slow verifier walk is cut short by a timeout.
import { readFileSync, rmSync } from "node:fs";
import { CoreRelocator, resolveRecords, type CoreRelocationResult } from "../../src/btf/core/index.ts";
import { Btf, readBtfExt } from "../../src/elf/btf.ts";
import { STT_FUNC, validateElf } from "../../src/elf/raw.ts";
import { lazyCoreTarget } from "../../src/kernel/btf/core-target.ts";

const PATCH = /^libbpf: prog '([^']+)': relo #(\d+): ((?:patched|substituting) insn .*)$/;
const FAILED = /^libbpf: prog '([^']+)': relo #(\d+): failed to relocate/;

export interface RelocationLines {
  /** "prog#relo" → libbpf's patch lines, in order */
  lines: Map<string, string[]>;
  /** relocations libbpf refused ("prog#relo") */
  failed: Set<string>;
}

/** What libbpf did: run bpftool under the kernel lock the caller holds; cleans its pin dir. */
export function libbpfRelocations(obj: string, timeoutSec = 20, lock?: string): RelocationLines {
  const pin = `/sys/fs/bpf/bpfload_core_oracle_${process.pid}`;
  const cmd = ["timeout", String(timeoutSec), "bpftool", "-d", "prog", "loadall", obj, pin];
  // with `lock`: taken for the bpftool run and its cleanup only (other engineers' runs interleave)
  const r = Bun.spawnSync(lock ? ["flock", lock, "sh", "-c", `"$@"; rc=$?; rm -rf '${pin}'; exit $rc`, "sh", ...cmd] : cmd, { stdout: "pipe", stderr: "pipe" });
  rmSync(pin, { recursive: true, force: true });
  const out: RelocationLines = { lines: new Map(), failed: new Set() };
  for (const l of r.stderr.toString().split("\n")) {
    const m = l.match(PATCH);
    if (m) {
      const key = `${m[1]}#${m[2]}`;
      out.lines.set(key, [...(out.lines.get(key) ?? []), m[3]!]);
      continue;
    }
    const f = l.match(FAILED);
    if (f) out.failed.add(`${f[1]}#${f[2]}`);
  }
  return out;
}

/**
 * What bpfload's engine does with the same object against the running kernel's BTF. The functions
 * come from the raw ELF (STT_FUNC symbols), so objects the reader refuses for other reasons
 * (externs, kfuncs) are compared too.
 */
export async function bpfloadRelocations(obj: string): Promise<{ lines: RelocationLines; results: CoreRelocationResult[] }> {
  const bytes = new Uint8Array(readFileSync(obj));
  const elf = validateElf(bytes, obj);
  const sec = (n: string) => {
    const s = elf.sections.find((x) => x.name === n);
    return s ? bytes.subarray(s.offset, s.offset + s.size) : undefined;
  };
  const functions = elf.symbols
    .filter((y) => y.type === STT_FUNC && y.size > 0 && elf.sections[y.shndx])
    .map((y) => {
      const s = elf.sections[y.shndx]!;
      return { name: y.name, section: s.name, sectionOffset: y.value, insns: bytes.slice(s.offset + y.value, s.offset + y.value + y.size) };
    });
  const raw = sec(".BTF");
  const extBytes = sec(".BTF.ext");
  const out: RelocationLines = { lines: new Map(), failed: new Set() };
  if (!raw || !extBytes) return { lines: out, results: [] };
  const btf = new Btf(raw);
  const ext = readBtfExt(extBytes, () => btf);
  const target = lazyCoreTarget(undefined);
  const results = resolveRecords(new CoreRelocator(btf, target.targets, target.modules), ext.coreRelo, functions);
  for (const r of results) {
    const key = `${r.function}#${r.index}`;
    if (r.error) out.failed.add(key);
    else if (r.patch) out.lines.set(key, r.patch);
  }
  return { lines: out, results };
}

/** Relocation by relocation: the keys where the two disagree (only those libbpf got to). */
export function compareRelocations(theirs: RelocationLines, ours: RelocationLines): { agree: number; disagree: string[] } {
  let agree = 0;
  const disagree: string[] = [];
  for (const [key, lines] of theirs.lines) {
    const mine = ours.lines.get(key);
    if (mine && mine.join("\n") === lines.join("\n")) agree++;
    else disagree.push(`${key}: libbpf ${JSON.stringify(lines)} bpfload ${mine ? JSON.stringify(mine) : ours.failed.has(key) ? "failed" : "nothing"}`);
  }
  for (const key of theirs.failed) {
    if (ours.failed.has(key)) agree++;
    else disagree.push(`${key}: libbpf failed, bpfload ${JSON.stringify(ours.lines.get(key) ?? "nothing")}`);
  }
  return { agree, disagree };
}

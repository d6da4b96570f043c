// Drives Debian's LLVM 14 tools (llvm-mc, llvm-objdump) for the fixture generator and the live test.
// Test-side only: src/asm never runs external programs.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const LLVM_MC = process.env.LLVM_MC ?? "llvm-mc";
export const LLVM_OBJDUMP = process.env.LLVM_OBJDUMP ?? "llvm-objdump";

/** Major version of llvm-objdump if it is installed, else undefined. */
export function llvmVersion(): number | undefined {
  try {
    const r = Bun.spawnSync([LLVM_OBJDUMP, "--version"]);
    if (r.exitCode !== 0) return undefined;
    const m = /LLVM version (\d+)/.exec(r.stdout.toString());
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

export function run(cmd: string[], input?: string): string {
  const r = Bun.spawnSync(cmd, { stdin: input === undefined ? "ignore" : new TextEncoder().encode(input) });
  if (r.exitCode !== 0) throw new Error(`${cmd.join(" ")} failed (${r.exitCode}): ${r.stderr.toString().slice(0, 2000)}`);
  return r.stdout.toString();
}

export interface RawSection {
  name: string;
  bytes: Uint8Array;
  /** Labels to define (local NOTYPE symbols) at byte offsets. */
  labels?: { name: string; offset: number }[];
}

/** llvm-mc source that places exactly these bytes (and labels) in these sections. */
export function bytesToAsm(sections: RawSection[]): string {
  const out: string[] = [];
  for (const s of sections) {
    out.push(`\t.section ${JSON.stringify(s.name)},"ax",@progbits`);
    const labels = [...(s.labels ?? [])].sort((a, b) => a.offset - b.offset);
    let li = 0;
    for (let p = 0; p < s.bytes.length || li < labels.length; ) {
      while (li < labels.length && labels[li]!.offset <= p) out.push(`${labels[li++]!.name}:`);
      if (p >= s.bytes.length) break;
      const next = Math.min(s.bytes.length, li < labels.length ? labels[li]!.offset : Infinity, p + 8);
      const n = Math.max(1, next - p);
      out.push(`\t.byte ${Array.from(s.bytes.subarray(p, p + n), (b) => `0x${b.toString(16).padStart(2, "0")}`).join(",")}`);
      p += n;
    }
  }
  return out.join("\n") + "\n";
}

/** Assemble with llvm-mc and disassemble with llvm-objdump; returns objdump's stdout. */
export function objdumpOf(asm: string, objdumpArgs: string[] = ["-d"], mcArgs: string[] = [], name = "a.o"): { text: string; object: Uint8Array } {
  const dir = mkdtempSync(join(tmpdir(), "bpfload-asm-"));
  try {
    const src = join(dir, "a.s");
    const obj = join(dir, name);
    writeFileSync(src, asm);
    run([LLVM_MC, "-triple", "bpfel", "-filetype=obj", ...mcArgs, src, "-o", obj]);
    const text = run([LLVM_OBJDUMP, ...objdumpArgs, obj]).replaceAll(obj, name);
    return { text, object: new Uint8Array(readFileSync(obj)) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The instruction lines of objdump output (drops the file header, section and symbol headings). */
export function insnLines(text: string): string[] {
  return text.split("\n").filter((l) => /^\s+\d+:\t/.test(l) || l === "\t\t..." || /^\t\t[0-9a-f]{16}:  /.test(l));
}

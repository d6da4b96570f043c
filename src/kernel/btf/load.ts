// The object's BTF in the kernel's hands (BPF_BTF_LOAD, 4.18+): sanitized for what this kernel's
// BTF takes (probed kind by kind, kernel/features/probes.ts), with the source-line strings of
// .BTF.ext appended so line_info can name them. A kernel without BTF, or one that refuses this BTF,
// gets none: loadObjectBtf says why and the caller loads without it where the program allows.
import { dataLayoutOf, sanitizeBtf, type BtfKernelFeatures } from "../../btf/sanitize.ts";
import { externBtfLayout } from "../../elf/externs.ts";
import { appendBtfStrings } from "../../elf/btf-ext-link.ts";
import { Btf, BtfError, readBtfExt, type BtfExt } from "../../elf/btf.ts";
import type { ObjectSpec } from "../../elf/types.ts";
import { errnoName } from "../../errors.ts";
import { bpfBtfLoad } from "../../sys/bpf.ts";
import { close } from "../../sys/fd.ts";
import { featureSince, hasFeature } from "../features/probes.ts";
import { ensureMemlockLimit } from "../program.ts";

export interface ObjectBtf {
  fd: number;
  btf: Btf;
  ext?: BtfExt;
  /** Offset of a string in the BTF sent (for line_info). */
  stringOffset(s: string): number;
  /** Does the kernel take func_info/line_info with BPF_PROG_LOAD (4.20/5.0: its bpf_attr has them)? */
  progInfo: boolean;
  close(): void;
}

export type BtfOutcome = { btf: ObjectBtf } | { btf?: undefined; why: string; needsKernel?: string };

function sectionBytes(obj: ObjectSpec, elf: Uint8Array, name: string): Uint8Array | undefined {
  const s = obj.sections.find((x) => x.name === name && x.type === 1 /* SHT_PROGBITS */);
  return s ? elf.subarray(s.offset, s.offset + s.size) : undefined;
}

export function kernelBtfFeatures(): BtfKernelFeatures {
  return {
    func: hasFeature("btfFunc") === true,
    funcGlobal: hasFeature("btfFuncGlobal") === true,
    datasec: hasFeature("btfDatasec") === true,
    float: hasFeature("btfFloat") === true,
    declTag: hasFeature("btfDeclTag") === true,
    typeTag: hasFeature("btfTypeTag") === true,
    enum64: hasFeature("btfEnum64") === true,
  };
}

/** Loads the object's .BTF into the kernel, or says why not. `elf`: the object file's bytes. */
export function loadObjectBtf(obj: ObjectSpec, elf: Uint8Array): BtfOutcome {
  const raw = sectionBytes(obj, elf, ".BTF");
  if (!raw) return { why: `${obj.file} has no .BTF section (build it with clang -g)` };
  if (hasFeature("btf") === false) return { why: `this kernel has no BTF (BPF_BTF_LOAD, ${featureSince("btf")})`, needsKernel: featureSince("btf") };
  let btf: Btf;
  let ext: BtfExt | undefined;
  let blob: Uint8Array;
  let offsetOf: (s: string) => number = () => 0;
  try {
    btf = new Btf(raw).validate();
    const extBytes = sectionBytes(obj, elf, ".BTF.ext");
    ext = extBytes ? readBtfExt(extBytes, () => btf) : undefined;
    blob = sanitizeBtf(btf, kernelBtfFeatures(), dataLayoutOf(obj), externBtfLayout(obj));
    if (ext) {
      const strings = new Set<string>();
      for (const s of ext.lineInfo) for (const r of s.records) strings.add(r.fileName).add(r.line);
      ({ blob, offsetOf } = appendBtfStrings(blob, strings));
    }
  } catch (e) {
    if (e instanceof BtfError) return { why: `its BTF is invalid: ${e.message} (byte ${e.offset})` };
    throw e;
  }
  ensureMemlockLimit();
  let r = bpfBtfLoad(blob);
  if (r.ret < 0) {
    const errno = r.errno;
    r = bpfBtfLoad(blob, 1 << 20); // again with a log, for the reason
    if (r.ret < 0) {
      const last = r.log.trim().split("\n").filter((l) => l.trim()).pop();
      return { why: `the kernel refused its BTF (BPF_BTF_LOAD: ${errnoName(errno)}${last ? `: ${last.trim()}` : ""})` };
    }
  }
  const fd = r.ret;
  return {
    btf: {
      fd, btf, ext, stringOffset: offsetOf,
      progInfo: hasFeature("btfFunc") === true,
      close: () => close(fd),
    },
  };
}

/** The object's .BTF.ext alone (for source lines when its BTF is not in the kernel); undefined when absent or invalid. */
export function readObjectExt(obj: ObjectSpec, elf: Uint8Array): BtfExt | undefined {
  const raw = sectionBytes(obj, elf, ".BTF");
  const ext = sectionBytes(obj, elf, ".BTF.ext");
  if (!raw || !ext) return undefined;
  try {
    const btf = new Btf(raw);
    return readBtfExt(ext, () => btf);
  } catch (e) {
    if (e instanceof BtfError) return undefined;
    throw e;
  }
}

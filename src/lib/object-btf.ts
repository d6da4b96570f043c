// An object file's BTF from its bytes alone: what a record printer decodes with when it has no
// CollectionSpec (raw instructions have none; an ELF object may).
import type { Btf } from "../elf/btf.ts";
import { lazy } from "./lazy.ts";

const elfRaw = lazy(() => require("../elf/raw.ts") as typeof import("../elf/raw.ts"));
const elfBtf = lazy(() => require("../elf/btf.ts") as typeof import("../elf/btf.ts"));

/**
 * The .BTF of an ELF object's bytes; undefined for bytes that are no ELF object, an object without
 * .BTF, or BTF this reader cannot parse (records then print as hex). A malformed ELF is an
 * ObjectError naming `file`. Pure.
 */
export function objectBtf(bytes: Uint8Array | undefined, file: string): Btf | undefined {
  if (!bytes || !elfRaw().isElf(bytes)) return undefined;
  try {
    const s = elfRaw().validateElf(bytes, file).sections.find((x) => x.name === ".BTF");
    return s ? new (elfBtf().Btf)(bytes.subarray(s.offset, s.offset + s.size)) : undefined;
  } catch (e) {
    if (e instanceof elfBtf().BtfError) return undefined;
    throw e;
  }
}

// Reading the file a user names: raw instructions (what the seed cut out with dd), an ELF object,
// or assembler source. Every way a file can be unusable gets its own message.
import { errnoName, InputError } from "../errors.ts";
import { FileError, readFile } from "../sys/files.ts";

export type Input =
  | { kind: "raw"; file: string; insns: Uint8Array }
  | { kind: "elf"; file: string; bytes: Uint8Array }
  | { kind: "asm"; file: string; text: string };

const ELF_MAGIC = [0x7f, 0x45, 0x4c, 0x46];

export function readInput(file: string): Input {
  let bytes: Uint8Array;
  try {
    bytes = readFile(file);
  } catch (e) {
    if (!(e instanceof FileError)) throw e;
    const why: Record<string, string> = { ENOENT: "no such file", EACCES: "permission denied", EISDIR: "is a directory, not a program file" };
    throw new InputError(file, why[errnoName(e.errno)] ?? `cannot read: ${errnoName(e.errno)}`);
  }
  if (bytes.length === 0) throw new InputError(file, "the file is empty: expected raw eBPF instructions (8 bytes each) or an ELF object");
  if (ELF_MAGIC.every((b, i) => bytes[i] === b)) return { kind: "elf", file, bytes };
  if (/\.(s|S|asm)$/.test(file)) return { kind: "asm", file, text: new TextDecoder().decode(bytes) };
  if (bytes.length % 8 !== 0) {
    throw new InputError(file, `${bytes.length} bytes is not a multiple of 8: not raw eBPF instructions (8 bytes each), and not an ELF object`);
  }
  return { kind: "raw", file, insns: bytes };
}

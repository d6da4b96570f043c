// Reading the file a user names: raw instructions (what the seed cut out with dd), an ELF object,
// or assembler source; and writing the one named with -o. Every way a file can be unusable gets its
// own one-line message, with the errno's name and the exit code of the one rule in errors.ts.
import { errnoName, FileError, InputError, readUserFile, SystemError, writeFile } from "../index.ts";
import { errnoText, exitCodeForErrno } from "../errors.ts";

export type Input =
  | { kind: "raw"; file: string; insns: Uint8Array }
  | { kind: "elf"; file: string; bytes: Uint8Array }
  | { kind: "asm"; file: string; text: string };

const ELF_MAGIC = [0x7f, 0x45, 0x4c, 0x46];

export function readInput(file: string): Input {
  let bytes: Uint8Array;
  try {
    bytes = readUserFile(file);
  } catch (e) {
    throw inputFileError(file, e);
  }
  if (bytes.length === 0) throw new InputError(file, "the file is empty: expected raw eBPF instructions (8 bytes each) or an ELF object");
  if (ELF_MAGIC.every((b, i) => bytes[i] === b)) return { kind: "elf", file, bytes };
  if (/\.(s|S|asm)$/.test(file)) return { kind: "asm", file, text: new TextDecoder().decode(bytes) };
  if (bytes.length % 8 !== 0) {
    throw new InputError(file, `${bytes.length} bytes is not a multiple of 8: not raw eBPF instructions (8 bytes each), and not an ELF object`);
  }
  return { kind: "raw", file, insns: bytes };
}

// The user's path is wrong (exit 2): what is wrong with it.
const INPUT_WHY: Record<string, string> = {
  ENOENT: "no such file",
  ENOTDIR: "a part of the path is not a directory",
  EISDIR: "is a directory, not a program file",
  ENAMETOOLONG: "the path is too long",
  ELOOP: "too many levels of symbolic links (a loop?)",
};

// The system refused (exit 1): what to do about it.
const SYSTEM_TODO: Record<string, string> = {
  EACCES: "make the file readable, or run as a user who may read it",
  EPERM: "make the file readable, or run as a user who may read it",
  EMFILE: "this process may open no more files: raise the limit (ulimit -n)",
  ENFILE: "the whole system may open no more files: close some, or raise fs.file-max",
  ENOMEM: "free some memory and try again",
  EIO: "the device failed (a disk error?): check dmesg",
};

/**
 * The user's file could not be read: by the one errno rule a wrong path is bad input (exit 2) and a
 * refusal by the system (EMFILE, EACCES, EIO) is exit 1; either way one line with the errno name.
 */
export function inputFileError(file: string, e: unknown): unknown {
  if (!(e instanceof FileError)) return e; // NotRegularFileError and others are already one clear line
  const name = errnoName(e.errno);
  if (exitCodeForErrno(e.errno) === 2) return new InputError(file, `${e.hint ?? INPUT_WHY[name] ?? `cannot ${e.op}`} (${name})`);
  const todo = e.hint ?? SYSTEM_TODO[name];
  return new SystemError(`${file}: cannot ${e.op}: ${errnoText(e.errno)}${todo ? `: ${todo}` : ""}`);
}

// -o names a wrong path (exit 2): what is wrong with it.
const OUTPUT_WHY: Record<string, string> = {
  ENOENT: "no such directory: create it first, or give another path",
  ENOTDIR: "a part of the path is not a directory",
  EISDIR: "is a directory: give a file name (-o DIR/prog.bin)",
  ENAMETOOLONG: "the path is too long",
  ELOOP: "too many levels of symbolic links (a loop?)",
  ENXIO: "a FIFO that nobody reads (or a device that is not there)",
  EFBIG: "too large for this file system or the file-size limit (ulimit -f)",
};

// The system refused to store it (exit 1): what to do.
const OUTPUT_TODO: Record<string, string> = {
  ENOSPC: "free some space, or write elsewhere",
  EDQUOT: "the disk quota is full: free some space, or write elsewhere",
  EACCES: "write where you may (or fix the permissions)",
  EPERM: "write where you may (or fix the permissions)",
  EROFS: "write elsewhere",
  ETXTBSY: "the file is a running program: write elsewhere",
  EMFILE: "this process may open no more files: raise the limit (ulimit -n)",
  EIO: "the device failed (a disk error?): check dmesg",
};

/** Writes the file named with -o completely, or fails with one line naming the errno. */
export function writeOutput(path: string, bytes: Uint8Array): void {
  try {
    writeFile(path, bytes);
  } catch (e) {
    if (!(e instanceof FileError)) throw e;
    const name = errnoName(e.errno);
    if (exitCodeForErrno(e.errno) === 2) throw new InputError(path, `cannot write: ${OUTPUT_WHY[name] ? `${OUTPUT_WHY[name]} (${name})` : errnoText(e.errno)}`);
    const todo = OUTPUT_TODO[name];
    throw new SystemError(`${path}: cannot write: ${errnoText(e.errno)}${todo ? `: ${todo}` : ""}`);
  }
}

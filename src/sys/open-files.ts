// Whether a failed module load is the open-files limit's doing. Bun reports a module file it could
// not open (EMFILE) as "Cannot find package/module", and by the time the error is caught the
// descriptors it held are free again, so this asks both: does an open fail now, and is the limit
// so low (Bun alone holds about 8) that a start-up can run out of descriptors?
// Our own syscalls, not node:fs: importing node:fs costs start-up and this module loads with the CLI.
import { errnoName } from "../errors.ts";
import { close } from "./fd.ts";
import { FileError, openFile, readText } from "./files.ts";

/** A soft RLIMIT_NOFILE below this leaves Bun and bpfload no room: a module lookup can fail. */
const TIGHT_NOFILE = 64;

export function openFilesErrno(): string | undefined {
  try {
    close(openFile("/dev/null"));
    const soft = readText("/proc/self/limits").match(/^Max open files\s+(\d+)/m)?.[1];
    if (soft !== undefined && Number(soft) < TIGHT_NOFILE) return "EMFILE";
  } catch (e) {
    if (e instanceof FileError) return errnoName(e.errno);
    throw e;
  }
  return undefined;
}

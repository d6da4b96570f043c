// The one reader of /proc/self/mountinfo: where tracefs, debugfs and bpffs are mounted.
// mountinfo's lines are `id parent major:minor root mountpoint options [optional...] - fstype source
// superopts`; the mount point escapes space, tab, newline and backslash as octal (\040...).
import { tryReadText } from "../sys/files.ts";

export interface Mount {
  mountPoint: string;
  fstype: string;
}

/** The mounts of a mountinfo text, in its order (pure). */
export function parseMountinfo(text: string): Mount[] {
  const mounts: Mount[] = [];
  for (const line of text.split("\n")) {
    const sep = line.indexOf(" - ");
    if (sep < 0) continue;
    const mountPoint = line.slice(0, sep).split(" ")[4];
    const fstype = line.slice(sep + 3).split(" ")[0];
    if (mountPoint && fstype) mounts.push({ mountPoint: unescapeOctal(mountPoint), fstype });
  }
  return mounts;
}

function unescapeOctal(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/** This process's mounts (empty when /proc is not mounted). Read anew on each call: mounts change. */
export function mounts(): Mount[] {
  return parseMountinfo(tryReadText("/proc/self/mountinfo") ?? "");
}

/** The mount points of one filesystem type ("tracefs", "debugfs", "bpf"), in mountinfo's order. */
export function mountPointsOf(fstype: string, from: Mount[] = mounts()): string[] {
  return from.filter((m) => m.fstype === fstype).map((m) => m.mountPoint);
}

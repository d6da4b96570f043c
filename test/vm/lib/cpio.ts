// cpio "newc" writer (the format the kernel unpacks as an initramfs).
// Written here instead of calling cpio(1) so every entry is root-owned, /dev/console can be a
// device node without mknod on the host, and no extra host package is needed.

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;
const S_IFCHR = 0o020000;

export class Cpio {
  private parts: Uint8Array[] = [];
  private ino = 1;
  private readonly seen = new Set<string>();
  private readonly enc = new TextEncoder();

  private entry(name: string, mode: number, data: Uint8Array, rdev: [number, number] = [0, 0]): void {
    const clean = name.replace(/^\/+/, "");
    if (this.seen.has(clean)) throw new Error(`initramfs: duplicate entry ${clean}`);
    this.seen.add(clean);
    const nameBytes = this.enc.encode(clean + "\0");
    const fields = [
      this.ino++, mode, 0, 0, (mode & S_IFDIR) === S_IFDIR ? 2 : 1, 0, data.length, 0, 0, rdev[0], rdev[1],
      nameBytes.length, 0,
    ];
    const header = "070701" + fields.map((f) => f.toString(16).padStart(8, "0")).join("");
    this.parts.push(this.enc.encode(header), nameBytes, new Uint8Array(pad4(110 + nameBytes.length)));
    this.parts.push(data, new Uint8Array(pad4(data.length)));
  }

  /** Adds a directory and any missing parents. */
  dir(path: string, mode = 0o755): void {
    const segs = path.replace(/^\/+|\/+$/g, "").split("/").filter((s) => s.length > 0);
    for (let i = 1; i <= segs.length; i++) {
      const p = segs.slice(0, i).join("/");
      if (!this.seen.has(p)) this.entry(p, S_IFDIR | mode, new Uint8Array(0));
    }
  }

  private parent(path: string): void {
    const i = path.lastIndexOf("/");
    if (i > 0) this.dir(path.slice(0, i));
  }

  file(path: string, data: Uint8Array | string, mode = 0o644): void {
    this.parent(path);
    this.entry(path, S_IFREG | mode, typeof data === "string" ? this.enc.encode(data) : data);
  }

  symlink(path: string, target: string): void {
    this.parent(path);
    this.entry(path, S_IFLNK | 0o777, this.enc.encode(target));
  }

  chardev(path: string, major: number, minor: number, mode = 0o600): void {
    this.parent(path);
    this.entry(path, S_IFCHR | mode, new Uint8Array(0), [major, minor]);
  }

  has(path: string): boolean {
    return this.seen.has(path.replace(/^\/+/, ""));
  }

  /** The archive parts, trailer included (concatenate them to get the file). */
  finish(): Uint8Array[] {
    this.entry("TRAILER!!!", 0, new Uint8Array(0));
    return this.parts;
  }
}

function pad4(n: number): number {
  return (4 - (n % 4)) % 4;
}

// `bpfload map dump PIN`: the entries of a map pinned by `load --pin` (or by any other tool).
import { UsageError } from "../errors.ts";
import { openPinnedMap } from "../kernel/pin.ts";
import { printMap } from "./maps.ts";
import type { Output } from "./output.ts";

export function runMap(out: Output, action: string, path: string | undefined): number {
  if (action !== "dump") throw new UsageError(`unknown map action '${action}': bpfload map dump PIN`);
  if (!path) throw new UsageError("give the pinned map's path: bpfload map dump /sys/fs/bpf/DIR/MAP");
  const map = openPinnedMap(path);
  try {
    printMap(out, path, map);
  } finally {
    map.close();
  }
  return 0;
}

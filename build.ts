// Builds the standalone executables: dist/bpfload-linux-x64 and dist/bpfload-linux-arm64.
// Minified, with bytecode (start-up ≈ half of plain), code splitting (each command's modules load
// only when it runs: --version costs no more than Bun itself) and an inline source map so a crash points
// at our source. `bun build.ts x64` builds one target only.
import { $ } from "bun";

const TARGETS = { x64: "bun-linux-x64", arm64: "bun-linux-arm64" } as const;
type Arch = keyof typeof TARGETS;

const wanted = (process.argv.slice(2) as Arch[]).filter((a) => a in TARGETS);
const arches: Arch[] = wanted.length ? wanted : ["x64", "arm64"];

for (const arch of arches) {
  const outfile = `dist/bpfload-linux-${arch}`;
  const started = performance.now();
  await $`${process.execPath} build src/main.ts --compile --splitting --minify --bytecode --format=esm --sourcemap=inline --target=${TARGETS[arch]} --outfile ${outfile}`.quiet();
  const size = (await Bun.file(outfile).size) / 2 ** 20;
  console.log(`${outfile}  ${size.toFixed(0)} MiB  (${((performance.now() - started) / 1000).toFixed(1)} s)`);
}

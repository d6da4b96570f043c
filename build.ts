// Builds the standalone executables: dist/bpfload-linux-x64 and dist/bpfload-linux-arm64.
// - minified, with bytecode (start-up ≈ half of plain), code splitting (each command's modules load
//   only when it runs: --version costs no more than Bun itself) and an inline source map, so a crash
//   points at our source;
// - no autoloading of .env, bunfig.toml, tsconfig.json or package.json from the directory the user runs
//   bpfload in (a stray bunfig.toml must not change what a test VM's bpfload does);
// - elfinfo's `fs` and `path` imports are replaced by a stub: we only ever hand it bytes, and importing
//   node:fs costs about 1.2 ms of start-up (its file-handle reader is the only user).
// `bun build.ts x64` builds one target only.
import type { BunPlugin } from "bun";

const TARGETS = { x64: "bun-linux-x64", arm64: "bun-linux-arm64" } as const;
type Arch = keyof typeof TARGETS;

const elfinfoWithoutFs: BunPlugin = {
  name: "elfinfo-without-fs",
  setup(build) {
    build.onResolve({ filter: /^(fs|path|node:fs|node:path)$/ }, (args) =>
      args.importer.includes("/node_modules/elfinfo/") ? { path: args.path, namespace: "no-fs" } : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: "no-fs" }, (args) => ({
      contents: `const refuse = () => { throw new Error("elfinfo was given a path (${args.path} is not bundled); pass bytes"); };
module.exports = new Proxy({}, { get: () => refuse });`,
      loader: "js",
    }));
  },
};

const wanted = (process.argv.slice(2) as Arch[]).filter((a) => a in TARGETS);
const arches: Arch[] = wanted.length ? wanted : ["x64", "arm64"];

for (const arch of arches) {
  const outfile = `dist/bpfload-linux-${arch}`;
  const started = performance.now();
  const result = await Bun.build({
    // the ring buffer's copier runs in a Worker: its file must be an entrypoint of its own
    entrypoints: ["src/main.ts", "src/kernel/events/ringbuf-worker.ts"],
    compile: {
      target: TARGETS[arch],
      outfile,
      autoloadDotenv: false,
      autoloadBunfig: false,
      autoloadTsconfig: false,
      autoloadPackageJson: false,
    },
    minify: true,
    bytecode: true,
    format: "esm",
    splitting: true,
    sourcemap: "inline",
    plugins: [elfinfoWithoutFs],
  });
  if (!result.success) {
    for (const log of result.logs) console.error(log);
    process.exit(1);
  }
  const size = Bun.file(outfile).size / 2 ** 20;
  console.log(`${outfile}  ${size.toFixed(0)} MiB  (${((performance.now() - started) / 1000).toFixed(1)} s)`);
}

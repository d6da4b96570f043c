// What the benchmark scripts share: where the repo is, `--name VALUE` options, and how bpfload runs
// (`--exe PATH`: a compiled executable, else this Bun on src/main.ts).
export const REPO = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");
export const BENCH = `${REPO}/test/bench`;
export const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const exe = arg("--exe");
export const BPFLOAD = exe ? [exe] : [process.execPath, `${REPO}/src/main.ts`];

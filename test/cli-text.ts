// What the CLI prints for the error a call throws: the library's message with the CLI's flags in
// place of the option mentions (cli/flags.ts). For tests of kernel-level code whose message the
// CLI shows, so they can check both wordings.
import { BpfloadError } from "../src/errors.ts";
import { cliMessage } from "../src/cli/flags.ts";

export function cliText(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof BpfloadError) return cliMessage(e);
    throw e;
  }
  throw new Error("cliText: no error was thrown");
}

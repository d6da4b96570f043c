// The CLI's names for the library's options. Layers below cli/ name an option in an error as the
// library does (OptionMention: "freplaceTarget", "btf"); the CLI prints it with its flag in that
// place ("--target", "--btf"), so a library user never reads a flag they did not type and a CLI user
// reads the flag they did.
import { InvalidArgumentError, type BpfloadError } from "../index.ts";
import { renderError, type OptionMention } from "../errors.ts";

/** Library option → the flag that sets it. */
export const FLAG_FOR_OPTION: Readonly<Record<string, string>> = Object.freeze({
  attach: "--attach",
  type: "--type",
  btf: "--btf",
  freplaceTarget: "--target",
  kernVersion: "--kern-version",
  probeApi: "--probe-api",
  netApi: "--net-api",
  maxactive: "--maxactive",
  pin: "--pin",
  programs: "--program",
  variable: "--set",
  "map.maxEntries": "--map",
  "map.valueSize": "--map",
  "map.keySize": "--map",
  map: "--map",
  ctx: "--ctx",
  data: "--data",
  repeat: "--repeat",
  pcap: "--pcap",
});

/** A mention as the CLI prints it: its flag (and argument), or the library's words for an option without one. */
export function flagMention(m: OptionMention): string {
  const flag = FLAG_FOR_OPTION[m.option];
  if (!flag) return m.toString();
  return `${m.lead ?? ""}${m.arg ? `${flag} ${m.arg}` : flag}`;
}

/**
 * An error's one line as the CLI prints it: its option mentions as flags, where the library's
 * message has the option's name ("use btf FILE" → "use --btf FILE").
 */
export function cliMessage(e: BpfloadError): string {
  return renderError(e, flagMention);
}

/** The --json kind: a bad argument on the command line is a usage error to the CLI's user, as before. */
export function cliKind(e: BpfloadError): string {
  return e instanceof InvalidArgumentError ? "usage" : e.kind;
}

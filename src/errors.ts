// Every failure a user can cause is one of these classes. The CLI prints `message` on one line
// (plus the verifier log for a VerifierError) and exits with `exitCode`: 1 when the kernel or the
// system refused, 2 for bad usage or bad input. Pure: no imports from sys/ or kernel/.

/**
 * errno numbers shared by x86_64 and arm64 (asm-generic), with the text strerror() would give: the
 * one table of errno names. Code compares with `ERRNO.EINTR`, never with a bare number.
 */
const ERRNO_TABLE = [
  [1, "EPERM", "operation not permitted"],
  [2, "ENOENT", "no such file or directory"],
  [3, "ESRCH", "no such process"],
  [4, "EINTR", "interrupted system call"],
  [5, "EIO", "input/output error"],
  [6, "ENXIO", "no such device or address"],
  [7, "E2BIG", "argument list too long"],
  [9, "EBADF", "bad file descriptor"],
  [11, "EAGAIN", "resource temporarily unavailable"],
  [12, "ENOMEM", "cannot allocate memory"],
  [13, "EACCES", "permission denied"],
  [14, "EFAULT", "bad address"],
  [16, "EBUSY", "device or resource busy"],
  [17, "EEXIST", "file exists"],
  [19, "ENODEV", "no such device"],
  [20, "ENOTDIR", "not a directory"],
  [21, "EISDIR", "is a directory"],
  [22, "EINVAL", "invalid argument"],
  [23, "ENFILE", "too many open files in system"],
  [24, "EMFILE", "too many open files"],
  [25, "ENOTTY", "inappropriate ioctl for device"],
  [26, "ETXTBSY", "text file busy"],
  [27, "EFBIG", "file too large"],
  [28, "ENOSPC", "no space left on device"],
  [29, "ESPIPE", "illegal seek"],
  [30, "EROFS", "read-only file system"],
  [32, "EPIPE", "broken pipe"],
  [34, "ERANGE", "numerical result out of range"],
  [36, "ENAMETOOLONG", "file name too long"],
  [38, "ENOSYS", "function not implemented"],
  [40, "ELOOP", "too many levels of symbolic links"],
  [61, "ENODATA", "no data available"],
  [75, "EOVERFLOW", "value too large for defined data type"],
  [95, "EOPNOTSUPP", "operation not supported"],
  [97, "EAFNOSUPPORT", "address family not supported by protocol"],
  [99, "EADDRNOTAVAIL", "cannot assign requested address"],
  [122, "EDQUOT", "disk quota exceeded"],
  [524, "ENOTSUPP", "operation not supported (kernel-internal ENOTSUPP)"],
] as const;

export type ErrnoName = (typeof ERRNO_TABLE)[number][1];

/** errno numbers by name (`r.errno === ERRNO.ENOENT`); a misspelt name fails the type check. */
export const ERRNO = Object.freeze(Object.fromEntries(ERRNO_TABLE.map(([n, name]) => [name, n]))) as { readonly [K in ErrnoName]: number };

const ERRNOS: Record<number, readonly [string, string]> = Object.fromEntries(ERRNO_TABLE.map(([n, name, text]) => [n, [name, text] as const]));

export function errnoName(errno: number): string {
  return ERRNOS[errno]?.[0] ?? `errno ${errno}`;
}

export function errnoText(errno: number): string {
  const e = ERRNOS[errno];
  return e ? `${e[0]} (${e[1]})` : `errno ${errno}`;
}

export function errnoFromName(name: string): number | undefined {
  for (const [n, [sym]] of Object.entries(ERRNOS)) if (sym === name) return Number(n);
  return undefined;
}

/**
 * The one errno → exit-code rule: errnos that say the path or input the user gave is wrong are bad
 * input (2); everything else — resources, permissions, the file system, the device — is the system
 * refusing (1). EFBIG counts as input: bpfload raises it for an input file over its size cap.
 */
const INPUT_ERRNOS = new Set(["ENOENT", "ENOTDIR", "EISDIR", "ENAMETOOLONG", "ELOOP", "EFBIG", "ENXIO", "ENODEV", "ESPIPE"]);

export function exitCodeForErrno(errno: number): 1 | 2 {
  return INPUT_ERRNOS.has(errnoName(errno)) ? 2 : 1;
}

const QUOTE_MAX = 40;

/**
 * User input as an error message quotes it: in single quotes, control characters and NULs escaped
 * (\n, \t, \x00, \u2028), and cut to 40 characters + "…" so a 10 MB token stays one short line.
 */
export function quote(text: string, max = QUOTE_MAX): string {
  const head = text.slice(0, 2 * max + 2); // a code point is at most 2 UTF-16 units: never split a 10 MB string
  const chars = Array.from(head);
  const cut = chars.length > max || head.length < text.length;
  const shown = (cut ? chars.slice(0, max) : chars).map(escapeChar).join("");
  return `'${shown}${cut ? "…" : ""}'`;
}

/**
 * `text` with control, C1, line-separator and bidi characters escaped (nothing cut): what the CLI
 * does to every one-line error message, so a path or name a user gave can never break the line
 * or rewrite the terminal.
 */
export function escapeControls(text: string): string {
  // Fast path: most messages have nothing to escape.
  return /[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]/.test(text) ? Array.from(text, (c) => (c === "'" || c === "\\" ? c : escapeChar(c))).join("") : text;
}

function escapeChar(c: string): string {
  const code = c.codePointAt(0)!;
  if (c === "\n") return "\\n";
  if (c === "\t") return "\\t";
  if (c === "\r") return "\\r";
  if (c === "'") return "\\'";
  if (c === "\\") return "\\\\";
  if (code < 0x20 || code === 0x7f) return `\\x${code.toString(16).padStart(2, "0")}`;
  // C1 controls, line/paragraph separators, bidi overrides: invisible or reordering on a terminal.
  if ((code >= 0x80 && code < 0xa0) || code === 0x2028 || code === 0x2029 || (code >= 0x202a && code <= 0x202e) || (code >= 0x2066 && code <= 0x2069)) {
    return `\\u${code.toString(16).padStart(4, "0")}`;
  }
  return c;
}

/**
 * A mention of an option in an error's text. The library and the CLI call the same option by
 * different names: `message` says `option` (the library's name: LoadOptions.btf is "btf"), the
 * CLI its flag ("--btf"). `arg` follows the name in both ("btf FILE" / "--btf FILE"); `lib`, when
 * given, is the library's whole wording instead ("variable 'x'" for what the CLI calls "--set x"),
 * "" for an option only the CLI has; `lead` goes before the flag in the CLI only (", or ").
 */
export class OptionMention {
  constructor(readonly option: string, readonly arg?: string, readonly lib?: string, readonly lead?: string) {}
  toString(): string {
    return this.lib ?? (this.arg ? `${this.option} ${this.arg}` : this.option);
  }
}

/** `opt("btf", "FILE")`: an option named in an error's text (see OptionMention). */
export function opt(option: string, arg?: string, lib?: string, lead?: string): OptionMention {
  return new OptionMention(option, arg, lib, lead);
}

/**
 * Error text with option mentions in it, built with the `optionText` tag. `toString()` is what a
 * library user reads (options by name); `render` lets the CLI put its flags in their place, so
 * layers below cli/ never name a CLI flag and the CLI's messages still do.
 */
export class OptionText {
  constructor(readonly parts: readonly (string | OptionMention)[]) {}
  render(mention: (m: OptionMention) => string): string {
    return this.parts.map((p) => (typeof p === "string" ? p : mention(p))).join("");
  }
  toString(): string {
    return this.render((m) => m.toString());
  }
  /** The options it mentions, in order. */
  get options(): string[] {
    return this.parts.filter((p): p is OptionMention => typeof p !== "string").map((m) => m.option);
  }
}

/** Error text: plain, or with option mentions. */
export type ErrorText = string | OptionText;

/** Tagged template: `optionText\`use ${opt("btf", "FILE")}\``; OptionText values nest, other values are String()ed. */
export function optionText(strings: TemplateStringsArray, ...values: unknown[]): OptionText {
  const parts: (string | OptionMention)[] = [];
  const push = (p: string | OptionMention) => {
    if (typeof p === "string" && typeof parts[parts.length - 1] === "string") parts[parts.length - 1] += p;
    else if (p !== "") parts.push(p);
  };
  strings.forEach((s, i) => {
    push(s);
    if (i >= values.length) return;
    const v = values[i];
    if (v instanceof OptionText) v.parts.forEach(push);
    else if (v instanceof OptionMention) push(v);
    else push(String(v));
  });
  return new OptionText(parts);
}

/** The text of an error with its option mentions rendered by `mention` (the CLI passes its flags). */
export function renderError(e: BpfloadError, mention: (m: OptionMention) => string): string {
  return e.text ? e.text.render(mention) : e.message;
}

/**
 * The base of every failure bpfload raises. Its fields are readable without knowing the subclass
 * (a test report can show `e.errnoName`): `errno`/`errnoName` when a syscall or file operation
 * failed, `hint` (what to do) when there is one, `minKernel` when a kernel feature is missing, and
 * `cause` (the standard Error field) for the error it wraps. Absent fields are undefined.
 */
export abstract class BpfloadError extends Error {
  abstract readonly exitCode: 1 | 2;
  /** Machine-readable kind for --json output. */
  abstract readonly kind: string;
  /** The errno the kernel or libc answered, when one did. */
  declare readonly errno?: number;
  /** What to do about it, when bpfload knows. */
  declare readonly hint?: string;
  /** The Linux version that brings the missing feature ("5.8"), when that is the reason. */
  declare readonly minKernel?: string;
  /** The message with its option mentions kept apart, when it names options (see OptionText). */
  declare readonly text?: OptionText;

  constructor(message: ErrorText, options?: { cause?: unknown }) {
    super(String(message), options);
    this.name = new.target.name; // "SyscallError: ..." in a test report, not "Error: ..."
    if (message instanceof OptionText && message.options.length) Object.defineProperty(this, "text", { value: message, enumerable: false });
  }

  /** errno by name ("EPERM"), when there is an errno. */
  get errnoName(): string | undefined {
    return this.errno === undefined ? undefined : errnoName(this.errno);
  }
}

/** Bad command line: unknown option, missing argument. Thrown by cli/ only: the layers below throw InvalidArgumentError. */
export class UsageError extends BpfloadError {
  readonly exitCode = 2;
  readonly kind = "usage";
}

/**
 * A library call was given an argument or option it cannot use: a malformed attach point, an
 * freplace target that is not a loaded program, a value that does not fit a variable. `option`
 * names it as the library does ("attach", "btf", "freplaceTarget", "kernVersion", "variable",
 * "map.maxEntries", "key"); the message says what to give instead, in the library's words. The
 * CLI prints it with the option's flag in place ("--target") and exits 2, as for a UsageError.
 */
export class InvalidArgumentError extends BpfloadError {
  readonly exitCode = 2;
  readonly kind = "invalid-argument";
  constructor(readonly option: string, message: ErrorText, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** A file the user gave cannot be used: missing, empty, wrong size, not an ELF object. */
export class InputError extends BpfloadError {
  readonly exitCode = 2;
  readonly kind = "input";
  constructor(readonly file: string, message: ErrorText, options?: { cause?: unknown }) {
    super(optionText`${file}: ${message}`, options);
  }
}

/** A malformed or unsupported object file; says where in the file the problem is. */
export class ObjectError extends BpfloadError {
  readonly exitCode = 2;
  readonly kind = "object";
  constructor(
    readonly file: string,
    readonly problem: string,
    readonly where: { section?: string; offset?: number } = {},
    options?: { cause?: unknown },
  ) {
    const at = [
      where.section !== undefined ? `section ${quote(where.section)}` : undefined, // a name from the file: cut and escaped
      where.offset !== undefined ? `offset 0x${where.offset.toString(16)}` : undefined,
    ].filter(Boolean);
    super(`${file}${at.length ? ` (${at.join(", ")})` : ""}: ${problem}`, options);
  }
}

/** A system call failed. `what` is the intent ("load program 'x'"), `call` the syscall/command. */
export class SyscallError extends BpfloadError {
  readonly exitCode = 1;
  readonly kind: string = "syscall";
  readonly what: string;
  override readonly hint: string | undefined = undefined;
  constructor(
    what: ErrorText,
    readonly call: string,
    override readonly errno: number,
    hint?: ErrorText,
    options?: { cause?: unknown },
  ) {
    super(optionText`${what}: ${call}: ${errnoText(errno)}${hint ? optionText`: ${hint}` : ""}`, options);
    this.what = String(what);
    this.hint = hint === undefined ? undefined : String(hint);
  }
  override get errnoName(): string {
    return errnoName(this.errno);
  }
}

/**
 * The verifier refused a program; `log` holds the whole verifier log. The message ends with the
 * log's last meaningful line and how many lines were left out (the CLI prints the whole log after it).
 */
export class VerifierError extends SyscallError {
  override readonly kind = "verifier";
  constructor(what: ErrorText, errno: number, readonly log: string, hint?: ErrorText) {
    super(what, "BPF_PROG_LOAD", errno, optionText`${hint ?? "the verifier rejected the program"}: ${logSummary(log)}`);
  }
}

// Statistics the verifier prints after its verdict: not the reason.
const LOG_STATS = /^(processed \d+ insns|verification time|stack depth|max_states_per_insn|peak_states|mark_read|total_states|-- END)/;

/** "last meaningful line (N lines omitted)" of a verifier log. */
export function logSummary(log: string): string {
  const lines = log.split("\n").map((l) => l.trimEnd()).filter((l) => l.trim() !== "");
  if (!lines.length) return "(empty log)";
  let i = lines.length - 1;
  while (i > 0 && LOG_STATS.test(lines[i]!.trim())) i--;
  const omitted = lines.length - 1;
  return `${lines[i]!.trim()} (${omitted} line${omitted === 1 ? "" : "s"} omitted)`;
}

/** The running kernel lacks a feature; says which kernel version brings it. */
export class NotSupportedError extends BpfloadError {
  readonly exitCode = 1;
  readonly kind = "not-supported";
  readonly feature: string;
  constructor(feature: ErrorText, override readonly minKernel: string, detail?: ErrorText, options?: { cause?: unknown }) {
    super(optionText`${feature} is not supported by this kernel (requires Linux >= ${minKernel})${detail ? optionText`: ${detail}` : ""}`, options);
    this.feature = String(feature);
  }
}

/** Something about the system is missing or refused that is not a single syscall's errno. */
export class SystemError extends BpfloadError {
  readonly exitCode = 1;
  readonly kind = "system";
}

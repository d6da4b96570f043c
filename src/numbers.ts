// The one number parser for everything a user types: CLI options, attach-point offsets,
// --kern-version. Parsed with BigInt so nothing wraps or rounds, and every range is explicit and
// named in the error. Pure.
import { InvalidArgumentError, quote } from "./errors.ts";

export const U32_MAX = 0xffffffffn;
export const U64_MAX = 0xffffffffffffffffn;

export interface IntRange {
  min: bigint;
  max: bigint;
}

const INTEGER = /^(0x[0-9a-f]+|[0-9]+)$/i;
const DECIMAL = /^([0-9]+(\.[0-9]*)?|\.[0-9]+)$/;

/** "0..4294967295" (hex for the big ones: easier to recognise as u32/u64). */
export function formatRange(r: IntRange): string {
  const f = (n: bigint) => (n > 0xffffn && (n === U32_MAX || n === U64_MAX) ? `0x${n.toString(16)}` : n.toString());
  return `${f(r.min)}..${f(r.max)}`;
}

/**
 * A non-negative integer in decimal or 0x hex, within `range`; undefined when the text is not such a
 * number at all (the caller says what was expected), an InvalidArgumentError naming the range when it does not fit.
 */
export function parseBigInt(text: string, range: IntRange, what: string): bigint | undefined {
  if (!INTEGER.test(text)) return undefined;
  const n = BigInt(text);
  if (n < range.min || n > range.max) throw new InvalidArgumentError(what, `${what} is out of range: ${quote(text)} does not fit in ${formatRange(range)}`);
  return n;
}

/** As parseBigInt, for ranges within Number's exact integers. */
export function parseInteger(text: string, range: IntRange, what: string): number | undefined {
  if (range.max > BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError(`parseInteger: range ${formatRange(range)} is beyond exact numbers`);
  const n = parseBigInt(text, range, what);
  return n === undefined ? undefined : Number(n);
}

/** A non-negative decimal number (e.g. seconds: "2.5") no larger than `max`; undefined when malformed. */
export function parseDecimal(text: string, max: number, what: string): number | undefined {
  if (!DECIMAL.test(text)) return undefined;
  const n = Number(text);
  if (!(n <= max)) throw new InvalidArgumentError(what, `${what} is out of range: ${quote(text)} is more than ${max}`);
  return n;
}

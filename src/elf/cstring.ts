// Bounded reads of NUL-terminated strings from string tables (ELF .strtab, BTF strings).

/** Longest name accepted (symbols, sections, BTF names); keeps hostile tables from costing O(n²) time or memory. */
export const MAX_NAME = 1024;

const decoder = new TextDecoder("utf-8", { fatal: false });

/**
 * The string starting at `start` and ending before the first NUL in [start, end). Returns undefined
 * when there is no NUL before `end`, and null when the string is longer than MAX_NAME bytes. Names
 * are ASCII in practice; other bytes decode as UTF-8 (lossy for invalid sequences), like elfinfo.
 */
export function cstring(bytes: Uint8Array, start: number, end: number): string | undefined | null {
  const limit = Math.min(end, start + MAX_NAME + 1);
  for (let i = start; i < limit; i++) {
    if (bytes[i] === 0) return i === start ? "" : decoder.decode(bytes.subarray(start, i));
  }
  return limit < end ? null : undefined;
}

// The DWARF line table (.debug_line, versions 2–5, as clang -g emits it) of a relocatable eBPF
// object: for each code section, which source file and line each instruction comes from — the
// rows `llvm-objdump -S` interleaves. In a .o every sequence starts with DW_LNE_set_address of 0
// plus an offset, relocated (.rel.debug_line) against the code section's symbol: that relocation
// names the section. Pure; malformed data throws ObjectError with the file offset.

import { ObjectError } from "../errors.ts";
import { validateElf, type RawElf, type RawSection } from "./raw.ts";

export interface LineRow {
  /** byte offset inside the code section */
  offset: number;
  /** file path as the table names it (directory joined, "./calls.c") */
  file: string;
  line: number;
}

/** One DW_LNE_end_sequence-terminated run of rows of one code section. */
export interface LineSequence {
  section: string;
  start: number;
  end: number;
  rows: LineRow[];
}

const DW_FORM_block = 0x09, DW_FORM_data1 = 0x0b, DW_FORM_data2 = 0x05, DW_FORM_data4 = 0x06, DW_FORM_data8 = 0x07;
const DW_FORM_data16 = 0x1e, DW_FORM_string = 0x08, DW_FORM_strp = 0x0e, DW_FORM_udata = 0x0f, DW_FORM_line_strp = 0x1f;
const DW_LNCT_path = 1, DW_LNCT_directory_index = 2;

/** The line sequences of an object's .debug_line; [] when it has none (built without -g). */
export function readLineTable(bytes: Uint8Array, file: string, raw: RawElf = validateElf(bytes, file)): LineSequence[] {
  const sec = raw.sections.find((s) => s.name === ".debug_line");
  if (!sec || sec.size === 0) return [];
  const fail = (problem: string, at: number): never => {
    throw new ObjectError(file, problem, { section: ".debug_line", offset: sec.offset + at });
  };
  const strSection = (name: string) => raw.sections.find((s) => s.name === name);
  const lineStr = strSection(".debug_line_str");
  const str = strSection(".debug_str");
  const rels = raw.rels.find((r) => r.target === sec.index)?.relocations ?? [];
  const relAt = new Map(rels.map((r) => [r.offset, r]));

  const d = bytes.subarray(sec.offset, sec.offset + sec.size);
  const v = new DataView(d.buffer, d.byteOffset, d.byteLength);
  let p = 0;
  let limit = d.length;
  const need = (n: number) => {
    if (p + n > limit) fail("truncated line table", p);
  };
  const u8 = () => (need(1), d[p++]!);
  const u16 = () => (need(2), (p += 2), v.getUint16(p - 2, true));
  const u32 = () => (need(4), (p += 4), v.getUint32(p - 4, true));
  const u64 = () => {
    need(8);
    const lo = v.getUint32(p, true), hi = v.getUint32(p + 4, true);
    p += 8;
    if (hi > 0x1fffff) fail("64-bit value too large", p - 8);
    return hi * 2 ** 32 + lo;
  };
  const uleb = () => {
    let r = 0, mul = 1;
    for (let i = 0; ; i++) {
      const b = u8();
      if (i >= 8 && b > 1) fail("ULEB128 value too large", p - 1);
      r += (b & 0x7f) * mul;
      mul *= 128;
      if ((b & 0x80) === 0) return r;
    }
  };
  const sleb = () => {
    let r = 0, mul = 1, b = 0;
    for (let i = 0; ; i++) {
      b = u8();
      if (i >= 8) fail("SLEB128 value too large", p - 1);
      r += (b & 0x7f) * mul;
      mul *= 128;
      if ((b & 0x80) === 0) break;
    }
    return b & 0x40 ? r - mul : r;
  };
  const cstr = (): string => {
    const start = p;
    while (p < limit && d[p] !== 0) p++;
    if (p >= limit) fail("unterminated string", start);
    return new TextDecoder().decode(d.subarray(start, p++));
  };
  const strAt = (s: RawSection | undefined, off: number, at: number): string => {
    if (!s || off >= s.size) return fail(`string offset ${off} outside ${s?.name ?? "a missing string section"}`, at);
    const end = s.offset + s.size;
    let i = s.offset + off;
    const start = i;
    while (i < end && bytes[i] !== 0) i++;
    if (i >= end) fail("unterminated string", at);
    return new TextDecoder().decode(bytes.subarray(start, i));
  };

  const out: LineSequence[] = [];
  while (p < d.length) {
    limit = d.length;
    const unitStart = p;
    let unitLength = u32();
    let offsetSize = 4;
    if (unitLength === 0xffffffff) {
      unitLength = u64();
      offsetSize = 8;
    }
    if (unitLength > d.length - p) fail(`line table unit length ${unitLength} past the section`, unitStart);
    const unitEnd = p + unitLength;
    limit = unitEnd;
    const version = u16();
    if (version < 2 || version > 5) fail(`unsupported line table version ${version}`, p - 2);
    if (version >= 5) {
      u8(); // address_size
      u8(); // segment_selector_size
    }
    const headerLength = offsetSize === 8 ? u64() : u32();
    const programStart = p + headerLength;
    if (programStart > unitEnd) fail("line table header past its unit", p);
    const minInst = u8();
    if (version >= 4) u8(); // maximum_operations_per_instruction
    u8(); // default_is_stmt
    const lineBase = (u8() << 24) >> 24;
    const lineRange = u8();
    const opcodeBase = u8();
    if (lineRange === 0) fail("line_range 0", p - 2);
    if (opcodeBase === 0) fail("opcode_base 0", p - 1);
    const stdLengths = [0];
    for (let i = 1; i < opcodeBase; i++) stdLengths.push(u8());

    const dirs: string[] = [];
    const files: { name: string; dir: number }[] = [];
    if (version >= 5) {
      const entries = (): { path: string; dir: number }[] => {
        const fmt: [number, number][] = [];
        for (let n = u8(); n > 0; n--) fmt.push([uleb(), uleb()]);
        const list: { path: string; dir: number }[] = [];
        for (let n = uleb(); n > 0; n--) {
          const e = { path: "", dir: 0 };
          for (const [type, form] of fmt) {
            const at = p;
            let s: string | undefined;
            let num = 0;
            switch (form) {
              case DW_FORM_string: s = cstr(); break;
              case DW_FORM_line_strp: s = strAt(lineStr, offsetSize === 8 ? u64() : u32(), at); break;
              case DW_FORM_strp: s = strAt(str, offsetSize === 8 ? u64() : u32(), at); break;
              case DW_FORM_udata: num = uleb(); break;
              case DW_FORM_data1: num = u8(); break;
              case DW_FORM_data2: num = u16(); break;
              case DW_FORM_data4: num = u32(); break;
              case DW_FORM_data8: num = u64(); break;
              case DW_FORM_data16: need(16); p += 16; break;
              case DW_FORM_block: { const n = uleb(); need(n); p += n; break; }
              default: fail(`unsupported form 0x${form.toString(16)} in the line table header`, at);
            }
            if (type === DW_LNCT_path && s !== undefined) e.path = s;
            if (type === DW_LNCT_directory_index) e.dir = num;
          }
          list.push(e);
        }
        return list;
      };
      for (const e of entries()) dirs.push(e.path);
      for (const e of entries()) files.push({ name: e.path, dir: e.dir });
    } else {
      dirs.push(".");
      for (let s = cstr(); s !== ""; s = cstr()) dirs.push(s);
      files.push({ name: "", dir: 0 }); // file numbers start at 1 before DWARF 5
      for (let s = cstr(); s !== ""; s = cstr()) {
        const dir = uleb();
        uleb(); // mtime
        uleb(); // length
        files.push({ name: s, dir });
      }
    }
    const path = (i: number): string => {
      const f = files[i];
      if (!f) return "";
      if (f.name.startsWith("/")) return f.name;
      const dir = dirs[f.dir] ?? "";
      return dir ? `${dir}/${f.name}` : f.name;
    };

    // the line program
    p = programStart;
    let address = 0, fileNo = 1, line = 1;
    let seq: LineSequence | undefined;
    const row = () => {
      if (!seq) return; // rows before any DW_LNE_set_address have no section: ignored
      seq.rows.push({ offset: address, file: path(fileNo), line });
    };
    const reset = () => {
      address = 0;
      fileNo = 1;
      line = 1;
      seq = undefined;
    };
    while (p < unitEnd) {
      const op = u8();
      if (op >= opcodeBase) {
        const adj = op - opcodeBase;
        address += Math.floor(adj / lineRange) * minInst;
        line += lineBase + (adj % lineRange);
        row();
      } else if (op === 0) {
        const len = uleb();
        const end = p + len;
        if (len === 0 || end > unitEnd) fail("bad extended opcode length", p);
        const sub = u8();
        if (sub === 1) {
          if (seq) {
            seq.end = address;
            out.push(seq);
          }
          reset();
        } else if (sub === 2) {
          const at = p;
          if (len - 1 !== 8) fail(`DW_LNE_set_address of ${len - 1} bytes`, at);
          const inPlace = u64();
          const r = relAt.get(at);
          const sym = r ? raw.symbols[r.symbol] : undefined;
          const target = sym ? raw.sections[sym.shndx] : undefined;
          address = inPlace + (sym?.value ?? 0);
          seq = target ? { section: target.name, start: address, end: address, rows: [] } : undefined;
        }
        p = end;
      } else {
        switch (op) {
          case 1: row(); break; // copy
          case 2: address += uleb() * minInst; break;
          case 3: line += sleb(); break;
          case 4: fileNo = uleb(); break;
          case 8: address += Math.floor((255 - opcodeBase) / lineRange) * minInst; break;
          case 9: address += u16(); break;
          default:
            for (let n = stdLengths[op] ?? 0; n > 0; n--) uleb();
        }
      }
    }
    p = unitEnd;
  }
  return out;
}

/**
 * The row llvm's symbolizer gives for `offset` of `section`: in the sequence that covers it, the
 * last row at or before it (of several rows at one address, the last). Undefined outside every sequence.
 */
export function lineAt(sequences: readonly LineSequence[], offset: number): LineRow | undefined {
  for (const s of sequences) {
    if (offset < s.start || offset >= s.end) continue;
    let lo = 0, hi = s.rows.length; // first row with row.offset > offset
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (s.rows[mid]!.offset <= offset) lo = mid + 1;
      else hi = mid;
    }
    if (lo > 0) return s.rows[lo - 1];
  }
  return undefined;
}

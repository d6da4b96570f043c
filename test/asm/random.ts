// Random eBPF instructions for the live test and the benchmark (deterministic per seed).

export function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    // xorshift32
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 0x100000000;
  };
}

/** A random valid (canonical) instruction of any kind in the ISA, including v4 ones. */
export function randomInsn(r: () => number): number[] {
  const pick = <T>(a: readonly T[]): T => a[Math.floor(r() * a.length)]!;
  const reg = () => Math.floor(r() * 11);
  const off = () => pick([0, 1, -1, 8, -8, 0x7fff, -0x8000, Math.floor(r() * 65536) - 32768]);
  const imm = () => pick([0, 1, -1, 16, 0x7fffffff, -0x80000000, Math.floor(r() * 2 ** 32) - 2 ** 31]);
  const slot = (code: number, dst: number, src: number, o: number, i: number) => [
    code, (src << 4) | dst, o & 0xff, (o >> 8) & 0xff, i & 0xff, (i >>> 8) & 0xff, (i >>> 16) & 0xff, (i >>> 24) & 0xff,
  ];
  const cls = pick([4, 7]);
  switch (Math.floor(r() * 12)) {
    case 0: {
      const op = pick([0x00, 0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0x90, 0xa0, 0xb0, 0xc0]);
      const sdiv = (op === 0x30 || op === 0x90) && r() < 0.3 ? 1 : 0;
      return r() < 0.5 ? slot(cls | op, reg(), 0, sdiv, imm()) : slot(cls | op | 8, reg(), reg(), op === 0xb0 && r() < 0.3 ? pick([8, 16, 32]) : sdiv, 0);
    }
    case 1:
      return r() < 0.3 ? slot(cls | 0x80, reg(), 0, 0, 0) : slot(pick([0xd4, 0xdc, 0xd7]), reg(), 0, 0, pick([16, 32, 64]));
    case 2: {
      const op = pick([0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0xa0, 0xb0, 0xc0, 0xd0]);
      const c = pick([5, 6]) | op;
      return r() < 0.5 ? slot(c, reg(), 0, off(), imm()) : slot(c | 8, reg(), reg(), off(), 0);
    }
    case 3:
      return pick([slot(0x05, 0, 0, off(), 0), slot(0x06, 0, 0, 0, imm()), slot(0x95, 0, 0, 0, 0), slot(0xe5, 0, 0, off(), 0)]);
    case 4:
      return slot(0x85, 0, pick([0, 0, 1, 2]), 0, imm());
    case 5: {
      const hi = imm();
      const dst = reg();
      const src = pick([0, 0, 1, 2, 3, 4, 5, 6]);
      let lo = imm();
      // llvm-objdump 14 segfaults on exactly `18 20 00 00 00 00 00 00` (r0, src 2, imm 0): avoid it.
      if (dst === 0 && src === 2 && lo === 0) lo = 1;
      return [...slot(0x18, dst, src, 0, lo), ...slot(0, 0, 0, 0, hi)];
    }
    case 6:
      return slot(pick([0x20, 0x28, 0x30]), 0, 0, 0, imm());
    case 7:
      return slot(pick([0x40, 0x48, 0x50]), 0, reg(), 0, r() < 0.5 ? 0 : imm());
    case 8:
      return slot(pick([0x61, 0x69, 0x71, 0x79, 0x81, 0x89, 0x91]), reg(), reg(), off(), 0);
    case 9:
      return r() < 0.5 ? slot(pick([0x63, 0x6b, 0x73, 0x7b]), reg(), reg(), off(), 0) : slot(pick([0x62, 0x6a, 0x72, 0x7a]), reg(), 0, off(), imm());
    case 10:
      return slot(pick([0xc3, 0xdb]), reg(), reg(), off(), pick([0x00, 0x01, 0x40, 0x41, 0x50, 0x51, 0xa0, 0xa1, 0xe1, 0xf1]));
    default:
      return slot(pick([0xdb, 0xd3, 0xcb, 0xc3]), reg(), reg(), off(), pick([0x100, 0x110]));
  }
}


/**
 * A canonical instruction with one field disturbed: a reserved field set (src on a K-form, off on an
 * ALU op, imm on an X-form, a register above r10), one byte replaced, or an ld_imm64's second slot
 * made non-zero. These sit right at the edges of the validity rules, where pure noise rarely lands.
 */
export function nearValidInsn(r: () => number): number[] {
  const b = randomInsn(r);
  const pick = <T>(a: readonly T[]): T => a[Math.floor(r() * a.length)]!;
  switch (Math.floor(r() * 6)) {
    case 0: b[1] = (b[1]! & 0x0f) | (pick([1, 2, 10, 11, 15]) << 4); break; // src
    case 1: b[1] = (b[1]! & 0xf0) | pick([11, 12, 15]); break; // dst
    case 2: [b[2], b[3]] = pick([[1, 0], [0xff, 0xff], [0, 0x80], [8, 0]]); break; // off
    case 3: [b[4], b[5], b[6], b[7]] = pick([[1, 0, 0, 0], [0xff, 0xff, 0xff, 0xff], [0, 0, 0, 0x80]]); break; // imm
    case 4: b[Math.floor(r() * 8)] = Math.floor(r() * 256); break;
    default:
      if (b.length === 16) b[8 + Math.floor(r() * 4)] = Math.floor(r() * 256);
      else b[0] = b[0]! ^ pick([0x08, 0x80, 0x10, 0x01]);
  }
  // llvm-objdump 14 segfaults on exactly `18 20 00 00 00 00 00 00` (see randomInsn): avoid it.
  if (b[0] === 0x18 && b[1] === 0x20 && b[4] === 0 && b[5] === 0 && b[6] === 0 && b[7] === 0) b[4] = 1;
  // A disturbed opcode may turn a slot into ld_imm64 (or back): keep the stream 16-byte consistent.
  if (b[0] === 0x18 && b.length === 8) b.push(0, 0, 0, 0, 0, 0, 0, 0);
  return b;
}

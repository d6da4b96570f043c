// Helpers a kernel lacks but has an older equivalent for, rewritten in a linked program as libbpf
// does (bpf_object__sanitize_prog, its FEAT_PROBE_READ_KERN probe): before 5.5 there is no
// bpf_probe_read_kernel/_user(_str), and bpf_probe_read(_str) read either address space on the
// architectures those kernels ran. Pure.

const INSN = 8;
const BPF_CALL = 0x85;
const BPF_LD_IMM64 = 0x18;

export const BPF_FUNC_PROBE_READ = 4;
export const BPF_FUNC_PROBE_READ_STR = 45;
export const BPF_FUNC_PROBE_READ_USER = 112;
export const BPF_FUNC_PROBE_READ_KERNEL = 113;
export const BPF_FUNC_PROBE_READ_USER_STR = 114;
export const BPF_FUNC_PROBE_READ_KERNEL_STR = 115;

const OLDER: Record<number, number> = {
  [BPF_FUNC_PROBE_READ_USER]: BPF_FUNC_PROBE_READ,
  [BPF_FUNC_PROBE_READ_KERNEL]: BPF_FUNC_PROBE_READ,
  [BPF_FUNC_PROBE_READ_USER_STR]: BPF_FUNC_PROBE_READ_STR,
  [BPF_FUNC_PROBE_READ_KERNEL_STR]: BPF_FUNC_PROBE_READ_STR,
};

/** How many helper calls of bpf_probe_read_{kernel,user}[_str] the program makes. */
export function probeReadKernelCalls(insns: Uint8Array): number {
  return eachNewProbeRead(insns, () => {});
}

/** Rewrites, in place, helper calls of bpf_probe_read_{kernel,user}[_str] to bpf_probe_read[_str]; returns how many. */
export function rewriteProbeReadHelpers(insns: Uint8Array): number {
  return eachNewProbeRead(insns, (view, pos, to) => view.setInt32(pos + 4, to, true));
}

function eachNewProbeRead(insns: Uint8Array, f: (view: DataView, pos: number, older: number) => void): number {
  const view = new DataView(insns.buffer, insns.byteOffset, insns.byteLength);
  let n = 0;
  for (let pos = 0; pos + INSN <= insns.length; pos += INSN) {
    const code = insns[pos]!;
    if (code === BPF_LD_IMM64) {
      pos += INSN; // the second half's bytes are data
      continue;
    }
    if (code !== BPF_CALL || insns[pos + 1]! >> 4 !== 0) continue; // helper calls only (src_reg 0)
    const to = OLDER[view.getInt32(pos + 4, true)];
    if (to === undefined) continue;
    f(view, pos, to);
    n++;
  }
  return n;
}

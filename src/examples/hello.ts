// The seed article's program (samples/bpf test_bpf.c compiled by clang): builds "Hello World!\n"
// on the stack and calls bpf_trace_printk. 13 instructions (ld_imm64 takes two), 104 bytes,
// shipped inside the executable so `bpfload hello` needs no file.
const HEX = `
b7 01 00 00 0a 00 00 00  6b 1a fc ff 00 00 00 00  b7 01 00 00 72 6c 64 21  63 1a f8 ff 00 00 00 00
18 01 00 00 48 65 6c 6c  00 00 00 00 6f 20 57 6f  7b 1a f0 ff 00 00 00 00  bf a1 00 00 00 00 00 00
07 01 00 00 f0 ff ff ff  b7 02 00 00 0e 00 00 00  85 00 00 00 06 00 00 00  b7 00 00 00 00 00 00 00
95 00 00 00 00 00 00 00`;

export const HELLO_INSNS: Uint8Array = new Uint8Array(HEX.trim().split(/\s+/).map((h) => parseInt(h, 16)));
export const HELLO_MESSAGE = "Hello World!";

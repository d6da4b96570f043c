// One line of trace_pipe, split into its columns. Old kernels print
//   `bash-13708 [003] d... 51890.256702: : Hello World!`
// newer ones name the event (`bpf_trace_printk: Hello World!`), and the tgid column may appear.
// Pure.

export interface TraceLine {
  task: string;
  pid: number;
  cpu: number;
  flags: string;
  timestamp: number;
  event: string;
  message: string;
}

const LINE = /^\s*(.*?)-(\d+)\s+(?:\(\s*[\d-]+\)\s+)?\[(\d+)\]\s+(\S+\s+)?(\d+\.\d+):\s*([\w:]*):\s?(.*)$/;

export function parseTraceLine(line: string): TraceLine | undefined {
  const m = line.match(LINE);
  if (!m) return undefined;
  return {
    task: m[1]!,
    pid: Number(m[2]),
    cpu: Number(m[3]),
    flags: (m[4] ?? "").trim(),
    timestamp: Number(m[5]),
    event: m[6]!,
    message: m[7]!,
  };
}

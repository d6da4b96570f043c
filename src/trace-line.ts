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

// Digit runs are bounded to what a kernel prints (seconds of a u64 nanosecond clock: 11 digits;
// microseconds: 6), so no field is ever past 2^53. The `s` flag: a BPF program may print \r,
// U+2028 or U+2029, which `.` alone does not match; trace_pipe has already split at \n.
const LINE = /^\s*(.*?)-(\d{1,7})\s+(?:\(\s*[\d-]+\)\s+)?\[(\d{1,5})\]\s+(\S+\s+)?(\d{1,11}\.\d{1,6}):\s*([\w:]*):\s?(.*)$/s;

/** PID_MAX_LIMIT (include/linux/threads.h): pids are below it. */
const PID_LIMIT = 4194304;
/** NR_CPUS is at most 8192 (arch Kconfig): cpu numbers are below it. */
const CPU_LIMIT = 8192;

export function parseTraceLine(line: string): TraceLine | undefined {
  const m = line.match(LINE);
  if (!m) return undefined;
  const pid = Number(m[2]);
  const cpu = Number(m[3]);
  if (pid > PID_LIMIT || cpu >= CPU_LIMIT) return undefined;
  return {
    task: m[1]!,
    pid,
    cpu,
    flags: (m[4] ?? "").trim(),
    timestamp: Number(m[5]),
    event: m[6]!,
    message: m[7]!,
  };
}

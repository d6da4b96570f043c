// perf_event_array reader (BPF_MAP_TYPE_PERF_EVENT_ARRAY, 4.3+): one PERF_COUNT_SW_BPF_OUTPUT
// event per CPU, each with its own mmapped ring (one metadata page, then 2^n data pages), put
// into the array at its CPU's index, which is where bpf_perf_event_output(BPF_F_CURRENT_CPU)
// writes. Records are perf records: PERF_RECORD_SAMPLE carries { u32 size; u8 data[size] }
// (PERF_SAMPLE_RAW), PERF_RECORD_LOST { u64 id; u64 lost } when the ring was full.
//
// Memory ordering (the protocol of perf_event_mmap_page): data_head is read with Atomics.load
// (acquire: the records before it are visible), data_tail written with Atomics.store after the
// records were copied out (release: the kernel reuses the space only after that). Records may
// wrap at the end of the data area (it is mapped once): they are copied in two pieces then.
import { SystemError, errnoName } from "../../errors.ts";
import { possibleCpus } from "../../sys/cpus.ts";
import { mmapShared, munmap, pageSize, PROT_READ, PROT_WRITE, type Mapping } from "../../sys/mmap.ts";
import { close } from "../../sys/fd.ts";
import { ioctl, perfEventOpen } from "../../sys/perf.ts";
import { PERF_EVENT_IOC_DISABLE, PERF_EVENT_IOC_ENABLE, PERF_SAMPLE_RAW, PERF_TYPE_SOFTWARE } from "../../uapi.ts";
import type { BpfMap } from "../map.ts";
import { iterateRecords, type EventReader, type EventRecord, type LostRecords } from "./types.ts";

const PERF_COUNT_SW_BPF_OUTPUT = 10;
const PERF_RECORD_LOST = 2;
const PERF_RECORD_SAMPLE = 9;
// struct perf_event_mmap_page: data_head at 1024, data_tail 1032, data_offset 1040, data_size 1048 (4.1+)
const DATA_HEAD = 1024 / 8;
const DATA_TAIL = 1032 / 8;
const DATA_OFFSET = 1040 / 8;
const DATA_SIZE = 1048 / 8;

export interface PerfArrayOptions {
  /** Data pages per CPU, a power of two (default 64: 256 KiB with 4 KiB pages). */
  pages?: number;
}

interface CpuRing {
  cpu: number;
  fd: number;
  mapping: Mapping;
  meta: BigUint64Array;
  data: Uint8Array;
  size: number;
}

export class PerfArrayReader implements EventReader {
  readonly kind = "perf_event_array" as const;
  readonly map: string;
  received = 0;
  lost = 0;
  private readonly rings: CpuRing[] = [];
  private closed = false;
  /** CPUs that could not take an event (offline): said once by the caller if it wants. */
  readonly skippedCpus: number[] = [];

  /** The per-CPU events' fds: readable once the kernel woke them (wakeup_events 1: every record). */
  get pollFds(): number[] {
    return this.rings.map((r) => r.fd);
  }

  constructor(map: BpfMap, opts: PerfArrayOptions = {}) {
    this.map = map.def.name;
    const pages = opts.pages ?? 64;
    if (pages < 1 || (pages & (pages - 1)) !== 0) throw new RangeError(`perf buffer pages must be a power of two (got ${pages})`);
    const page = pageSize();
    const cpus = Math.min(possibleCpus(), map.def.maxEntries);
    try {
      for (let cpu = 0; cpu < cpus; cpu++) {
        const ev = perfEventOpen({ type: PERF_TYPE_SOFTWARE, config: PERF_COUNT_SW_BPF_OUTPUT, samplePeriod: 1, sampleType: PERF_SAMPLE_RAW, wakeupEvents: 1, pid: -1, cpu });
        if (ev.ret < 0) {
          if (ev.errno === 19 /* ENODEV: offline CPU */) {
            this.skippedCpus.push(cpu);
            continue;
          }
          throw new SystemError(`cannot open the BPF output event of CPU ${cpu} for '${this.map}': perf_event_open: ${errnoName(ev.errno)}${ev.errno === 1 || ev.errno === 13 ? ": run as root" : ""}`);
        }
        const fd = ev.ret;
        const m = mmapShared(fd, (1 + pages) * page, PROT_READ | PROT_WRITE);
        if (!m.mapping) {
          close(fd);
          throw new SystemError(`cannot map the perf buffer of CPU ${cpu} for '${this.map}': mmap: ${errnoName(m.errno)}${m.errno === 1 ? " (perf_event_mlock_kb too small? raise it or use fewer pages)" : ""}`);
        }
        const meta = new BigUint64Array(m.mapping.buffer, 0, page / 8);
        const offset = Number(meta[DATA_OFFSET]) || page; // 0 before 4.1: data follows the first page
        const size = Number(meta[DATA_SIZE]) || pages * page;
        this.rings.push({ cpu, fd, mapping: m.mapping, meta, data: new Uint8Array(m.mapping.buffer, offset, size), size });
        const key = new Uint8Array(4);
        new DataView(key.buffer).setUint32(0, cpu, true);
        const value = new Uint8Array(4);
        new DataView(value.buffer).setUint32(0, fd, true);
        map.update(key, value);
        const en = ioctl(fd, PERF_EVENT_IOC_ENABLE);
        if (en.ret < 0) throw new SystemError(`cannot enable the BPF output event of CPU ${cpu}: ${errnoName(en.errno)}`);
      }
    } catch (e) {
      this.close();
      throw e;
    }
  }

  poll(onRecord: (r: EventRecord) => void, onLost?: (l: LostRecords) => void): number {
    if (this.closed) return 0;
    let n = 0;
    for (const ring of this.rings) n += this.pollRing(ring, onRecord, onLost);
    this.received += n;
    return n;
  }

  private pollRing(ring: CpuRing, onRecord: (r: EventRecord) => void, onLost?: (l: LostRecords) => void): number {
    const head = Number(Atomics.load(ring.meta, DATA_HEAD));
    let tail = Number(ring.meta[DATA_TAIL]); // only we write it
    if (tail === head) return 0;
    let n = 0;
    const { data, size } = ring;
    const copy = (from: number, len: number): Uint8Array => {
      const at = from % size;
      if (at + len <= size) return data.slice(at, at + len);
      const out = new Uint8Array(len);
      out.set(data.subarray(at, size));
      out.set(data.subarray(0, len - (size - at)), size - at);
      return out;
    };
    while (tail < head) {
      const hdr = copy(tail, 8);
      const type = hdr[0]! | (hdr[1]! << 8) | (hdr[2]! << 16) | (hdr[3]! << 24);
      const recSize = hdr[6]! | (hdr[7]! << 8);
      if (recSize < 8) break; // cannot happen with a sane kernel; do not spin
      if (type === PERF_RECORD_SAMPLE) {
        const rec = copy(tail, recSize);
        const v = new DataView(rec.buffer);
        const rawSize = v.getUint32(8, true);
        // the raw data is padded to 8 bytes with the u32 size: the program's bytes come first
        onRecord({ map: this.map, cpu: ring.cpu, data: rec.slice(12, 12 + Math.min(rawSize, recSize - 12)) });
        n++;
      } else if (type === PERF_RECORD_LOST) {
        const rec = copy(tail, recSize);
        const count = Number(new DataView(rec.buffer).getBigUint64(16, true));
        this.lost += count;
        onLost?.({ map: this.map, cpu: ring.cpu, count });
      }
      tail += recSize;
    }
    Atomics.store(ring.meta, DATA_TAIL, BigInt(tail));
    return n;
  }

  [Symbol.asyncIterator](): AsyncIterator<EventRecord> {
    return iterateRecords(this, { isClosed: () => this.closed });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const r of this.rings) {
      ioctl(r.fd, PERF_EVENT_IOC_DISABLE);
      munmap(r.mapping);
      close(r.fd);
    }
    this.rings.length = 0;
  }
}

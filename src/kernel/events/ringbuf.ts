// BPF ring buffer (BPF_MAP_TYPE_RINGBUF, 5.8+) consumer, as the kernel's kernel/bpf/ringbuf.c
// lays it out: page 0 is the consumer position (ours to write), page 1 the producer position,
// then the data pages mapped twice in a row, so a record that wraps is contiguous in memory.
// Each record starts with an 8-byte header: u32 length with BUSY (bit 31: being written) and
// DISCARD (bit 30) flags, u32 page offset; records are 8-byte aligned.
//
// Memory ordering: the kernel publishes with smp_store_release (the header's length once the
// record is written, producer_pos once reserved) and reads consumer_pos with smp_load_acquire.
// The producer pages are mapped read-only, and JSC's optimising JIT compiles Atomics.load as a
// locked read-modify-write (measured here: a SIGSEGV on the read-only page once the loop got
// hot), so producer_pos and each header are read with plain aligned loads (one 8- or 4-byte
// load each), each followed by an Atomics operation on the writable consumer page, which JSC
// emits with a full barrier: that orders the later reads of the record after the load (the
// acquire the kernel's protocol asks for; x86_64's TSO gives it anyway, arm64 needs the fence).
// consumer_pos is written with Atomics.store (release: the copy of the record comes first).
import { SystemError, errnoName } from "../../errors.ts";
import { mmapShared, munmap, pageSize, PROT_READ, PROT_WRITE, type Mapping } from "../../sys/mmap.ts";
import type { BpfMap } from "../map.ts";
import { iterateRecords, type EventReader, type EventRecord, type LostRecords } from "./types.ts";

const BUSY = 0x80000000;
const DISCARD = 0x40000000;
const LEN_MASK = 0x3fffffff;
const HEADER = 8;

export interface RingbufOptions {
  /** A counter the program keeps of records it could not reserve (read at each poll), if any. */
  dropped?: () => number | undefined;
}

export class RingbufReader implements EventReader {
  readonly kind = "ringbuf" as const;
  readonly map: string;
  received = 0;
  private droppedSeen = 0;
  private droppedReadAt = -Infinity;
  private readonly consumer: Mapping;
  private readonly producer: Mapping;
  private readonly consumerPos: BigUint64Array;
  private readonly producerPos: BigUint64Array;
  private readonly words: Uint32Array;
  private readonly data: Uint8Array;
  private readonly mask: number;
  private readonly dataStart: number;
  private closed = false;
  /** The map's fd polls readable while the ring holds data (ringbuf_map_poll). */
  readonly pollFds: number[];

  constructor(map: BpfMap, private readonly opts: RingbufOptions = {}) {
    this.map = map.def.name;
    this.pollFds = [map.fd];
    const page = pageSize();
    const size = map.def.maxEntries;
    const mapping = (length: number, prot: number, offset: number, what: string) => {
      const r = mmapShared(map.fd, length, prot, offset);
      if (!r.mapping) throw new SystemError(`cannot map the ring buffer '${this.map}' (${what}): mmap: ${errnoName(r.errno)}${r.errno === 1 || r.errno === 13 ? ": run as root" : ""}`);
      return r.mapping;
    };
    this.consumer = mapping(page, PROT_READ | PROT_WRITE, 0, "consumer page");
    try {
      this.producer = mapping(page + 2 * size, PROT_READ, page, "producer and data pages");
    } catch (e) {
      munmap(this.consumer);
      throw e;
    }
    this.consumerPos = new BigUint64Array(this.consumer.buffer, 0, 1);
    this.producerPos = new BigUint64Array(this.producer.buffer, 0, 1);
    this.words = new Uint32Array(this.producer.buffer);
    this.data = new Uint8Array(this.producer.buffer);
    this.dataStart = page;
    this.mask = size - 1;
  }

  get lost(): number {
    return this.droppedSeen;
  }

  poll(onRecord: (r: EventRecord) => void, onLost?: (l: LostRecords) => void): number {
    if (this.closed) return 0;
    let n = 0;
    let cons = Number(Atomics.load(this.consumerPos, 0));
    let prod = this.loadProducer();
    while (cons < prod) {
      const at = this.dataStart + (cons & this.mask);
      const len = this.words[at / 4]! >>> 0;
      this.fence();
      if (len & BUSY) break; // still being written: the rest comes next poll
      const size = len & LEN_MASK;
      if (!(len & DISCARD)) {
        onRecord({ map: this.map, data: this.data.slice(at + HEADER, at + HEADER + size) });
        n++;
      }
      cons += (size + HEADER + 7) & ~7;
      Atomics.store(this.consumerPos, 0, BigInt(cons)); // frees the space for the producer
      if (cons >= prod) prod = this.loadProducer();
    }
    this.received += n;
    // The program's drop counter is a map lookup (a syscall): while records flow, at most every
    // 10 ms; always once the ring is empty, so the last count is reported before a stop.
    const now = performance.now();
    if (n > 0 && now - this.droppedReadAt < 10) return n;
    this.droppedReadAt = now;
    const dropped = this.opts.dropped?.();
    if (dropped !== undefined && dropped > this.droppedSeen) {
      onLost?.({ map: this.map, count: dropped - this.droppedSeen });
      this.droppedSeen = dropped;
    }
    return n;
  }

  /** producer_pos: a plain load (the page is read-only, see above), then a barrier. */
  private loadProducer(): number {
    const p = Number(this.producerPos[0]);
    this.fence();
    return p;
  }

  /** A full barrier: an Atomics operation on our own writable page (the consumer position). */
  private fence(): void {
    Atomics.load(this.consumerPos, 0);
  }

  [Symbol.asyncIterator](): AsyncIterator<EventRecord> {
    return iterateRecords(this, { isClosed: () => this.closed });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    munmap(this.producer);
    munmap(this.consumer);
  }
}

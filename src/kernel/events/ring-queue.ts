// A single-producer, single-consumer queue of byte records in a SharedArrayBuffer: the ring
// buffer's copier thread (ringbuf-worker.ts) writes what it takes out of the kernel's ring, the
// main thread reads it when its event loop comes round. It is much bigger than the kernel's ring,
// so the main thread may stall (GC, JIT, a slow stdout) without the kernel's ring filling; when
// it is full the copier leaves records in the kernel's ring (the program then counts its drops).
//
// Writers: the copier and the main thread, one at a time (OWNER); the reader: the main thread.
// Layout: a control block of Int32 words (write offset, read offset, flags), then the data:
// records as { u32 length; u8 bytes[length]; } padded to 4 bytes; a length of WRAP says "go on
// at offset 0". write == read means empty, so the writer never fills the last byte; and it keeps
// 4 bytes free before the end so a WRAP word always fits. Offsets are published with Atomics
// (sequentially consistent: the bytes before an offset are visible once it is). Pure: no sys/.

const WRITE = 0;
const READ = 1;
/** Set by the reader to stop the copier; EXITED set by the copier once it left the memory (stopped or not). */
export const STOP = 2;
export const EXITED = 3;
/** The copier signalled the reader's wake-up fd and the reader has not looked since. */
export const WAKE_PENDING = 4;
/** Who copies out of the kernel's ring now: 0 nobody, else OWNER_MAIN or OWNER_COPIER (a lock, taken by compareExchange). */
export const OWNER = 5;
export const OWNER_MAIN = 1;
export const OWNER_COPIER = 2;
/** 0 at first; the copier sets 1 as it takes the kernel's ring, or the reader 2 when it gave up waiting. */
export const STATE = 6;
/** Counted up by the main thread at each poll: the copier takes over while it stands still. */
export const HEARTBEAT = 7;
/** Records the copier moved (the rest the main thread did): for tests and a look at a run. */
export const COPIED = 8;
const CONTROL_WORDS = 12;
const WRAP = 0xffffffff;

export interface RingQueueBuffers {
  control: SharedArrayBuffer;
  data: SharedArrayBuffer;
}

export function createQueueBuffers(capacity: number): RingQueueBuffers {
  if (capacity % 4 !== 0 || capacity < 64) throw new RangeError(`queue capacity must be a multiple of 4, at least 64 (got ${capacity})`);
  return { control: new SharedArrayBuffer(4 * CONTROL_WORDS), data: new SharedArrayBuffer(capacity) };
}

const pad4 = (n: number) => (n + 3) & ~3;

export class RingQueue {
  readonly control: Int32Array;
  private readonly words: Uint32Array;
  private readonly bytes: Uint8Array;
  readonly capacity: number;

  constructor(buffers: RingQueueBuffers) {
    this.control = new Int32Array(buffers.control);
    this.words = new Uint32Array(buffers.data);
    this.bytes = new Uint8Array(buffers.data);
    this.capacity = buffers.data.byteLength;
  }

  /** The largest record the queue can ever take. */
  get maxRecord(): number {
    return this.capacity / 2 - 8;
  }

  /**
   * Writer: room for a record of `length` bytes? Returns the offset of its bytes (the length
   * word is 4 before), or -1 when the queue is full now. Call commit() after filling them.
   */
  reserve(length: number): number {
    const need = 4 + pad4(length);
    let w = this.control[WRITE]!; // only the writer stores it
    const r = Atomics.load(this.control, READ);
    if (w >= r) {
      if (w + need + 4 <= this.capacity) return w + 4;
      if (need >= r) return -1; // does not fit at the start either (yet)
      this.words[w / 4] = WRAP;
      w = 0;
      Atomics.store(this.control, WRITE, 0);
      return 4;
    }
    return w + need < r ? w + 4 : -1;
  }

  /** The bytes of the queue (the writer fills [offset, offset + length) after reserve). */
  get data(): Uint8Array {
    return this.bytes;
  }

  get dataWords(): Uint32Array {
    return this.words;
  }

  /** Writer: publishes the record reserved at `offset`. */
  commit(offset: number, length: number): void {
    this.words[(offset - 4) / 4] = length;
    Atomics.store(this.control, WRITE, offset + pad4(length));
  }

  /** Writer: copies `record` in if there is room; false when the queue is full. */
  push(record: Uint8Array): boolean {
    const at = this.reserve(record.length);
    if (at < 0) return false;
    this.bytes.set(record, at);
    this.commit(at, record.length);
    return true;
  }

  /** Reader: hands over every record there now (copies); returns how many. */
  drain(onRecord: (data: Uint8Array) => void): number {
    let r = this.control[READ]!; // only the reader stores it
    let w = Atomics.load(this.control, WRITE);
    let n = 0;
    while (r !== w) {
      const len = this.words[r / 4]!;
      if (len === WRAP) {
        r = 0;
        continue;
      }
      onRecord(this.bytes.slice(r + 4, r + 4 + len));
      r += 4 + pad4(len);
      n++;
      // the space goes back to the writer now and then, not only at the end of a long drain
      if ((n & 255) === 0) {
        Atomics.store(this.control, READ, r);
        w = Atomics.load(this.control, WRITE);
      }
    }
    Atomics.store(this.control, READ, r);
    return n;
  }

  /** Bytes waiting to be read. */
  get used(): number {
    const w = Atomics.load(this.control, WRITE);
    const r = Atomics.load(this.control, READ);
    return w >= r ? w - r : this.capacity - r + w;
  }
}

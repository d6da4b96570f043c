// One map's element calls through one arena made once: the attr with map_fd and the key/value
// pointers filled in, a key of key_size and a value of the kernel's size (mapValueBytes). The
// owner (lib/map.ts BpfMap) keeps it alive as a field, so the buffers the kernel reads and writes
// never move or go away between calls (sys/arena.ts); JavaScript runs one call at a time, so one
// arena per map is enough. A lookup costs the syscall, not an allocation.
import { Arena, syscallWith } from "./arena.ts";
import { NR } from "./arch.ts";
import { mapValueBytes, type MapRef } from "./bpf.ts";
import { BPF_MAP_ELEM_ATTR, encode, field } from "./layout.ts";
import type { SysResult } from "./libc.ts";
import { BPF_MAP_DELETE_ELEM, BPF_MAP_LOOKUP_ELEM, BPF_MAP_UPDATE_ELEM } from "../uapi.ts";

export class MapElemCalls {
  readonly #arena: Arena;
  readonly #size: number;
  readonly #flagsOffset = field(BPF_MAP_ELEM_ATTR, "flags").offset;
  /** Write the key here before a call (key_size bytes). */
  readonly key: Uint8Array;
  readonly keyView: DataView;
  /** The value buffer: read after a lookup, write before an update (mapValueBytes bytes). */
  readonly value: Uint8Array;
  readonly valueView: DataView;

  constructor(m: MapRef) {
    this.#arena = new Arena([BPF_MAP_ELEM_ATTR.size, m.keySize, mapValueBytes(m.type, m.valueSize)]);
    const [k, v] = [this.#arena.region(1), this.#arena.region(2)];
    this.#size = encode(BPF_MAP_ELEM_ATTR, this.#arena.view, 0, { map_fd: m.fd, key: m.keySize ? this.#arena.address(k) : 0n, value: this.#arena.address(v), flags: 0n });
    this.key = this.#arena.slice(k);
    this.value = this.#arena.slice(v);
    this.keyView = new DataView(this.key.buffer, this.key.byteOffset, Math.max(this.key.byteLength, 0));
    this.valueView = new DataView(this.value.buffer, this.value.byteOffset, this.value.byteLength);
  }

  #call(cmd: number, flags: number, size = this.#size): SysResult {
    this.#arena.view.setBigUint64(this.#flagsOffset, BigInt(flags), true);
    return syscallWith(this.#arena, NR.bpf, cmd, this.#arena.base, size);
  }

  lookup(): SysResult {
    return this.#call(BPF_MAP_LOOKUP_ELEM, 0);
  }
  update(flags: number): SysResult {
    return this.#call(BPF_MAP_UPDATE_ELEM, flags);
  }
  /** The attr up to `key` only: the kernel wants the fields after a command's last one zero (CHECK_ATTR). */
  delete(): SysResult {
    return this.#call(BPF_MAP_DELETE_ELEM, 0, field(BPF_MAP_ELEM_ATTR, "key").offset + 8);
  }
}

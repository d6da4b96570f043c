// rtnetlink messages as bytes, both ways: the requests that attach XDP programs to a link
// (RTM_SETLINK with IFLA_XDP) and tc programs to a clsact qdisc (RTM_NEWQDISC, RTM_NEWTFILTER with
// cls_bpf options), and the parsing of the kernel's answers (acks with extack messages, link and
// filter dumps). Pure: no sockets here (sys/netlink.ts sends them). Layouts from the uapi headers
// linux/netlink.h, linux/rtnetlink.h, linux/if_link.h, linux/pkt_sched.h, linux/pkt_cls.h.

export const NLMSG_ERROR = 2;
export const NLMSG_DONE = 3;
export const RTM_NEWLINK = 16;
export const RTM_GETLINK = 18;
export const RTM_SETLINK = 19;
export const RTM_NEWQDISC = 36;
export const RTM_DELQDISC = 37;
export const RTM_GETQDISC = 38;
export const RTM_NEWTFILTER = 44;
export const RTM_DELTFILTER = 45;
export const RTM_GETTFILTER = 46;

export const NLM_F_REQUEST = 0x1;
export const NLM_F_MULTI = 0x2;
export const NLM_F_ACK = 0x4;
export const NLM_F_DUMP = 0x300;
export const NLM_F_EXCL = 0x200;
export const NLM_F_CREATE = 0x400;
/** In an NLMSG_ERROR: the original request was cut to its header / extack attributes follow. */
const NLM_F_CAPPED = 0x100;
const NLM_F_ACK_TLVS = 0x200;
const NLA_F_NESTED = 1 << 15;
const NLMSGERR_ATTR_MSG = 1;

const IFLA_IFNAME = 3;
const IFLA_XDP = 43;
const IFLA_XDP_FD = 1;
const IFLA_XDP_ATTACHED = 2;
const IFLA_XDP_FLAGS = 3;
const IFLA_XDP_PROG_ID = 4;
const IFLA_XDP_EXPECTED_FD = 8;

export const XDP_FLAGS_UPDATE_IF_NOEXIST = 1;
export const XDP_FLAGS_SKB_MODE = 2;
export const XDP_FLAGS_DRV_MODE = 4;
export const XDP_FLAGS_REPLACE = 16;

const TCA_KIND = 1;
const TCA_OPTIONS = 2;
const TCA_BPF_FD = 6;
const TCA_BPF_NAME = 7;
const TCA_BPF_FLAGS = 8;
const TCA_BPF_ID = 11;
const TCA_BPF_FLAG_ACT_DIRECT = 1;

/** clsact's handle (ffff:0) and parent (TC_H_CLSACT), and the filter parents of its two hooks. */
export const TC_H_CLSACT = 0xfffffff1;
export const CLSACT_HANDLE = 0xffff0000;
export const TC_PARENT = { ingress: 0xfffffff2, egress: 0xfffffff3 } as const;
/** htons(ETH_P_ALL): the filter sees every protocol. */
const ETH_P_ALL_BE = 0x0300;

const HDR = 16;
const IFINFOMSG = 16;
const TCMSG = 20;
const align4 = (n: number) => (n + 3) & ~3;

/** A netlink attribute: a payload (bytes) or nested attributes. */
export type Attr = { type: number; data: Uint8Array } | { type: number; nested: Attr[] };

const u32 = (type: number, v: number): Attr => {
  const data = new Uint8Array(4);
  new DataView(data.buffer).setUint32(0, v >>> 0, true);
  return { type, data };
};
const s32 = (type: number, v: number): Attr => {
  const data = new Uint8Array(4);
  new DataView(data.buffer).setInt32(0, v, true);
  return { type, data };
};
const str = (type: number, s: string): Attr => {
  const enc = new TextEncoder().encode(s);
  const data = new Uint8Array(enc.length + 1);
  data.set(enc);
  return { type, data };
};

function attrBytes(a: Attr): Uint8Array {
  const payload = "data" in a ? a.data : concat(a.nested.map(attrBytes));
  const out = new Uint8Array(align4(4 + payload.length));
  const v = new DataView(out.buffer);
  v.setUint16(0, 4 + payload.length, true);
  v.setUint16(2, "nested" in a ? a.type | NLA_F_NESTED : a.type, true);
  out.set(payload, 4);
  return out;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** One request: header, fixed family struct, attributes. */
export function message(type: number, flags: number, seq: number, fixed: Uint8Array, attrs: Attr[] = []): Uint8Array {
  const body = concat([fixed, ...attrs.map(attrBytes)]);
  const out = new Uint8Array(HDR + body.length);
  const v = new DataView(out.buffer);
  v.setUint32(0, out.length, true);
  v.setUint16(4, type, true);
  v.setUint16(6, flags, true);
  v.setUint32(8, seq, true);
  v.setUint32(12, 0, true); // pid 0: to the kernel
  out.set(body, HDR);
  return out;
}

export function ifinfomsg(ifindex: number): Uint8Array {
  const b = new Uint8Array(IFINFOMSG);
  new DataView(b.buffer).setInt32(4, ifindex, true); // family AF_UNSPEC, type, index, flags, change
  return b;
}

export function tcmsg(ifindex: number, handle: number, parent: number, info: number): Uint8Array {
  const b = new Uint8Array(TCMSG);
  const v = new DataView(b.buffer);
  v.setInt32(4, ifindex, true);
  v.setUint32(8, handle >>> 0, true);
  v.setUint32(12, parent >>> 0, true);
  v.setUint32(16, info >>> 0, true);
  return b;
}

/** tcm_info of a filter: priority in the upper half, protocol (network order) in the lower. */
export const filterInfo = (prio: number) => ((prio << 16) | ETH_P_ALL_BE) >>> 0;

/**
 * RTM_SETLINK IFLA_XDP: attach `progFd` (-1 detaches). `expectedFd` (5.7+, with XDP_FLAGS_REPLACE)
 * makes the kernel act only if that program is the one attached: a detach that cannot remove
 * anyone else's program.
 */
export function xdpSetRequest(seq: number, ifindex: number, progFd: number, flags: number, expectedFd?: number): Uint8Array {
  const xdp: Attr[] = [s32(IFLA_XDP_FD, progFd), u32(IFLA_XDP_FLAGS, flags | (expectedFd !== undefined ? XDP_FLAGS_REPLACE : 0))];
  if (expectedFd !== undefined) xdp.push(s32(IFLA_XDP_EXPECTED_FD, expectedFd));
  return message(RTM_SETLINK, NLM_F_REQUEST | NLM_F_ACK, seq, ifinfomsg(ifindex), [{ type: IFLA_XDP, nested: xdp }]);
}

export function getLinkRequest(seq: number, ifindex: number): Uint8Array {
  return message(RTM_GETLINK, NLM_F_REQUEST, seq, ifinfomsg(ifindex));
}

export function clsactRequest(seq: number, ifindex: number, create: boolean): Uint8Array {
  const flags = create ? NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL : NLM_F_REQUEST | NLM_F_ACK;
  return message(create ? RTM_NEWQDISC : RTM_DELQDISC, flags, seq, tcmsg(ifindex, CLSACT_HANDLE, TC_H_CLSACT, 0), [str(TCA_KIND, "clsact")]);
}

/** A direct-action cls_bpf filter (what `tc filter add ... bpf da` sends). */
export function bpfFilterRequest(seq: number, ifindex: number, parent: number, prio: number, handle: number, progFd: number, name: string): Uint8Array {
  return message(RTM_NEWTFILTER, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, seq, tcmsg(ifindex, handle, parent, filterInfo(prio)), [
    str(TCA_KIND, "bpf"),
    { type: TCA_OPTIONS, nested: [u32(TCA_BPF_FD, progFd), str(TCA_BPF_NAME, name), u32(TCA_BPF_FLAGS, TCA_BPF_FLAG_ACT_DIRECT)] },
  ]);
}

export function deleteFilterRequest(seq: number, ifindex: number, parent: number, prio: number, handle: number): Uint8Array {
  return message(RTM_DELTFILTER, NLM_F_REQUEST | NLM_F_ACK, seq, tcmsg(ifindex, handle, parent, filterInfo(prio)), [str(TCA_KIND, "bpf")]);
}

export function dumpFiltersRequest(seq: number, ifindex: number, parent: number): Uint8Array {
  return message(RTM_GETTFILTER, NLM_F_REQUEST | NLM_F_DUMP, seq, tcmsg(ifindex, 0, parent, 0));
}

export function dumpQdiscsRequest(seq: number, ifindex: number): Uint8Array {
  return message(RTM_GETQDISC, NLM_F_REQUEST | NLM_F_DUMP, seq, tcmsg(ifindex, 0, 0, 0));
}

// Answers.

export interface Message {
  type: number;
  flags: number;
  seq: number;
  /** After the header. */
  body: Uint8Array;
}

/** Splits a datagram into messages (several per datagram in dumps). */
export function parseMessages(buf: Uint8Array): Message[] {
  const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const out: Message[] = [];
  let at = 0;
  while (at + HDR <= buf.length) {
    const len = v.getUint32(at, true);
    if (len < HDR || at + len > buf.length) break;
    out.push({ type: v.getUint16(at + 4, true), flags: v.getUint16(at + 6, true), seq: v.getUint32(at + 8, true), body: buf.subarray(at + HDR, at + len) });
    at += align4(len);
  }
  return out;
}

/** Attributes of a buffer, by type (the last one wins); nested payloads parse with this again. */
export function parseAttrs(buf: Uint8Array): Map<number, Uint8Array> {
  const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const out = new Map<number, Uint8Array>();
  let at = 0;
  while (at + 4 <= buf.length) {
    const len = v.getUint16(at, true);
    if (len < 4 || at + len > buf.length) break;
    out.set(v.getUint16(at + 2, true) & ~NLA_F_NESTED & 0x7fff, buf.subarray(at + 4, at + len));
    at += align4(len);
  }
  return out;
}

const readU32 = (b: Uint8Array | undefined) => (b && b.length >= 4 ? new DataView(b.buffer, b.byteOffset, 4).getUint32(0, true) : undefined);
const readStr = (b: Uint8Array | undefined) => {
  if (!b) return undefined;
  const end = b.indexOf(0);
  return new TextDecoder().decode(end < 0 ? b : b.subarray(0, end));
};

export interface NetlinkAck {
  /** 0 for success, else the errno. */
  errno: number;
  /** The kernel's extack message ("Exclusivity flag on, cannot modify"), when it sent one. */
  message?: string;
}

/** An NLMSG_ERROR message: errno (positive) and the extack text after the echoed request. */
export function parseAck(m: Message): NetlinkAck {
  const v = new DataView(m.body.buffer, m.body.byteOffset, m.body.byteLength);
  const errno = Math.abs(v.getInt32(0, true)); // the kernel sends -errno (and 0 for an ack)
  if (!(m.flags & NLM_F_ACK_TLVS)) return { errno };
  const origLen = m.flags & NLM_F_CAPPED ? HDR : v.getUint32(4, true);
  const tlvs = parseAttrs(m.body.subarray(4 + align4(origLen)));
  const message = readStr(tlvs.get(NLMSGERR_ATTR_MSG));
  return message ? { errno, message } : { errno };
}

export interface LinkXdp {
  ifindex: number;
  name?: string;
  /** XDP_ATTACHED_*: 0 none, 1 driver, 2 generic (skb), 3 hardware, 4 several. */
  attached: number;
  progId?: number;
}

/** An RTM_NEWLINK answer: the interface and its XDP program, if any. */
export function parseLink(m: Message): LinkXdp {
  const ifindex = new DataView(m.body.buffer, m.body.byteOffset + 4, 4).getInt32(0, true);
  const attrs = parseAttrs(m.body.subarray(IFINFOMSG));
  const xdp = attrs.get(IFLA_XDP);
  const x = xdp ? parseAttrs(xdp) : new Map<number, Uint8Array>();
  const progId = readU32(x.get(IFLA_XDP_PROG_ID));
  return { ifindex, name: readStr(attrs.get(IFLA_IFNAME)), attached: x.get(IFLA_XDP_ATTACHED)?.[0] ?? 0, ...(progId ? { progId } : {}) };
}

export interface TcObject {
  ifindex: number;
  handle: number;
  parent: number;
  /** Filters: the priority (upper half of tcm_info). */
  prio: number;
  kind?: string;
  /** cls_bpf: the program's id and name. */
  progId?: number;
  progName?: string;
}

/** An RTM_NEWQDISC or RTM_NEWTFILTER answer of a dump. */
export function parseTc(m: Message): TcObject {
  const v = new DataView(m.body.buffer, m.body.byteOffset, m.body.byteLength);
  const attrs = parseAttrs(m.body.subarray(TCMSG));
  const kind = readStr(attrs.get(TCA_KIND));
  const out: TcObject = { ifindex: v.getInt32(4, true), handle: v.getUint32(8, true), parent: v.getUint32(12, true), prio: v.getUint32(16, true) >>> 16, kind };
  const options = attrs.get(TCA_OPTIONS);
  if (kind === "bpf" && options) {
    const o = parseAttrs(options);
    const id = readU32(o.get(TCA_BPF_ID));
    if (id) out.progId = id;
    const name = readStr(o.get(TCA_BPF_NAME));
    if (name) out.progName = name;
  }
  return out;
}

// Pure helpers of `bpfload run`: hex input, classic pcap files, the headers of a frame
// (Ethernet, IPv4, IPv6, UDP, TCP, ICMP) and the names of program return values.
import { InputError, UsageError, type ProgTypeName } from "../index.ts";

/** "aa bb", "aabb", "aa:bb", "0xaabb": bytes; anything else is a usage error naming the option. */
export function parseHex(text: string, option: string): Uint8Array {
  const clean = text.trim().replace(/^0x/i, "").replace(/[\s:,.-]/g, "");
  if (clean.length % 2 !== 0 || /[^0-9a-f]/i.test(clean)) {
    throw new UsageError(`bad ${option} '${text.length > 40 ? `${text.slice(0, 40)}...` : text}': give hex bytes (e.g. "ff ff ff ff ff ff 00 11 ...") or @FILE for a file's raw bytes`);
  }
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.slice(i * 2, i * 2 + 2), 16);
  return out;
}

export const hex = (b: Uint8Array) => [...b].map((x) => x.toString(16).padStart(2, "0")).join(" ");

export interface PcapPacket {
  index: number;
  data: Uint8Array;
  /** Length on the wire (the capture may hold fewer bytes). */
  origLen: number;
}

/** Packets of a classic pcap file (microsecond or nanosecond, either byte order), Ethernet only. */
export function readPcap(bytes: Uint8Array, file: string): PcapPacket[] {
  if (bytes.length < 24) throw new InputError(file, "not a pcap file (shorter than its 24-byte header)");
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = v.getUint32(0, true);
  const le = magic === 0xa1b2c3d4 || magic === 0xa1b23c4d;
  if (!le && magic !== 0xd4c3b2a1 && magic !== 0x4d3cb2a1) {
    const hint = magic === 0x0a0d0d0a ? ": it is pcapng; convert it with `editcap -F pcap IN OUT`" : "";
    throw new InputError(file, `not a pcap file (magic 0x${magic.toString(16)})${hint}`);
  }
  const linkType = v.getUint32(20, le) & 0x0fffffff;
  if (linkType !== 1) throw new InputError(file, `link type ${linkType} is not Ethernet (1): packet programs take Ethernet frames`);
  const out: PcapPacket[] = [];
  let pos = 24;
  while (pos < bytes.length) {
    if (pos + 16 > bytes.length) throw new InputError(file, `packet ${out.length + 1}: truncated record header at offset ${pos}`);
    const incl = v.getUint32(pos + 8, le);
    const orig = v.getUint32(pos + 12, le);
    if (pos + 16 + incl > bytes.length) throw new InputError(file, `packet ${out.length + 1}: ${incl} bytes announced at offset ${pos}, the file ends before`);
    out.push({ index: out.length + 1, data: bytes.slice(pos + 16, pos + 16 + incl), origLen: orig });
    pos += 16 + incl;
  }
  return out;
}

export interface PacketSummary {
  ethernet?: { src: string; dst: string; ethertype: number };
  ipv4?: { src: string; dst: string; protocol: number; ttl: number; length: number };
  ipv6?: { src: string; dst: string; nextHeader: number; hopLimit: number; payloadLength: number };
  udp?: { srcPort: number; dstPort: number; length: number };
  tcp?: { srcPort: number; dstPort: number; flags: string; seq: number };
  icmp?: { type: number; code: number };
}

const mac = (b: Uint8Array) => [...b].map((x) => x.toString(16).padStart(2, "0")).join(":");
function ipv6(b: Uint8Array): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((b[i]! << 8) | b[i + 1]!).toString(16));
  return groups.join(":").replace(/(^|:)0(:0)+(:|$)/, "::").replace(/:::+/, "::");
}

/** The headers of an Ethernet frame, as far as the bytes go. */
export function decodePacket(p: Uint8Array): PacketSummary {
  const s: PacketSummary = {};
  if (p.length < 14) return s;
  const v = new DataView(p.buffer, p.byteOffset, p.byteLength);
  let ethertype = v.getUint16(12);
  let off = 14;
  if (ethertype === 0x8100 && p.length >= 18) {
    ethertype = v.getUint16(16);
    off = 18;
  }
  s.ethernet = { dst: mac(p.subarray(0, 6)), src: mac(p.subarray(6, 12)), ethertype };
  let proto: number | undefined;
  if (ethertype === 0x0800 && p.length >= off + 20) {
    const ihl = (p[off]! & 0x0f) * 4;
    proto = p[off + 9]!;
    s.ipv4 = { src: [...p.subarray(off + 12, off + 16)].join("."), dst: [...p.subarray(off + 16, off + 20)].join("."), protocol: proto, ttl: p[off + 8]!, length: v.getUint16(off + 2) };
    off += ihl;
  } else if (ethertype === 0x86dd && p.length >= off + 40) {
    proto = p[off + 6]!;
    s.ipv6 = { src: ipv6(p.subarray(off + 8, off + 24)), dst: ipv6(p.subarray(off + 24, off + 40)), nextHeader: proto, hopLimit: p[off + 7]!, payloadLength: v.getUint16(off + 4) };
    off += 40;
  }
  if (proto === 17 && p.length >= off + 8) s.udp = { srcPort: v.getUint16(off), dstPort: v.getUint16(off + 2), length: v.getUint16(off + 4) };
  if (proto === 6 && p.length >= off + 20) {
    const f = p[off + 13]!;
    const flags = ["FIN", "SYN", "RST", "PSH", "ACK", "URG"].filter((_, i) => f & (1 << i)).join(",");
    s.tcp = { srcPort: v.getUint16(off), dstPort: v.getUint16(off + 2), flags, seq: v.getUint32(off + 4) };
  }
  if ((proto === 1 || proto === 58) && p.length >= off + 2) s.icmp = { type: p[off]!, code: p[off + 1]! };
  return s;
}

const PROTO: Record<number, string> = { 1: "ICMP", 6: "TCP", 17: "UDP", 58: "ICMPv6" };

export function formatPacket(s: PacketSummary): string {
  const parts: string[] = [];
  if (s.ethernet) parts.push(`eth ${s.ethernet.src} > ${s.ethernet.dst} type 0x${s.ethernet.ethertype.toString(16).padStart(4, "0")}`);
  if (s.ipv4) parts.push(`IPv4 ${s.ipv4.src} > ${s.ipv4.dst} ${PROTO[s.ipv4.protocol] ?? `proto ${s.ipv4.protocol}`} ttl ${s.ipv4.ttl} len ${s.ipv4.length}`);
  if (s.ipv6) parts.push(`IPv6 ${s.ipv6.src} > ${s.ipv6.dst} ${PROTO[s.ipv6.nextHeader] ?? `next ${s.ipv6.nextHeader}`} hlim ${s.ipv6.hopLimit}`);
  if (s.udp) parts.push(`UDP ${s.udp.srcPort} > ${s.udp.dstPort} len ${s.udp.length}`);
  if (s.tcp) parts.push(`TCP ${s.tcp.srcPort} > ${s.tcp.dstPort} [${s.tcp.flags}] seq ${s.tcp.seq}`);
  if (s.icmp) parts.push(`ICMP type ${s.icmp.type} code ${s.icmp.code}`);
  return parts.join(", ");
}

const XDP = ["XDP_ABORTED", "XDP_DROP", "XDP_PASS", "XDP_TX", "XDP_REDIRECT"];
const TC: Record<number, string> = { [-1]: "TC_ACT_UNSPEC", 0: "TC_ACT_OK", 1: "TC_ACT_RECLASSIFY", 2: "TC_ACT_SHOT", 3: "TC_ACT_PIPE", 4: "TC_ACT_STOLEN", 5: "TC_ACT_QUEUED", 6: "TC_ACT_REPEAT", 7: "TC_ACT_REDIRECT" };

/** What a return value means for the program type ("XDP_PASS", "drop", "keep 42 bytes"). */
export function verdictName(type: ProgTypeName, retval: number): string | undefined {
  const signed = retval | 0;
  switch (type) {
    case "xdp":
      return XDP[retval];
    case "sched_cls":
    case "sched_act":
      return TC[signed];
    case "socket_filter":
      return retval === 0 ? "drop" : `keep ${retval >>> 0 >= 0xffffffff ? "all" : retval} bytes`;
    case "cgroup_skb":
      return retval & 1 ? "allow" : "deny";
    case "lwt_in":
    case "lwt_out":
    case "lwt_xmit":
      return { 0: "BPF_OK", 2: "BPF_DROP", 7: "BPF_REDIRECT", 8: "BPF_LWT_REROUTE" }[retval];
    default:
      return undefined;
  }
}

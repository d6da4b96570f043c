// Hand-built Ethernet frames for the test-run tests (10.0.0.1 > 10.0.0.2, checksums left 0).
const h = (s: string) => new Uint8Array(s.replace(/\s/g, "").match(/../g)!.map((x) => parseInt(x, 16)));

const ETH = "ffffffffffff 020000000001 0800";
export const PACKETS: Record<string, Uint8Array> = {
  udp9: h(`${ETH} 4500001c 00000000 4011 0000 0a000001 0a000002 04d2 0009 0008 0000`),
  udp53: h(`${ETH} 4500001c 00000000 4011 0000 0a000001 0a000002 04d2 0035 0008 0000`),
  icmp: h(`${ETH} 4500001c 00000000 4001 0000 0a000001 0a000002 0800 f7ff 0000 0000`),
  tcp: h(`${ETH} 45000028 00000000 4006 0000 0a000001 0a000002 04d2 0050 00000001 00000000 5002 2000 0000 0000`),
  arp: h(`ffffffffffff 020000000001 0806 0001 0800 0604 0001 020000000001 0a000001 000000000000 0a000002`),
};


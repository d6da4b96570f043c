// Run inside a test's network namespace (ip netns exec NS bun udp-peer.ts ...):
//   recv PORT MS       prints how many datagrams arrived on PORT within MS milliseconds
//   send ADDR PORT N [SIZE]   sends N datagrams (SIZE payload bytes, default ~11) to ADDR:PORT, 20 ms apart
import { createSocket } from "node:dgram";

const [mode, a, b, c, d] = process.argv.slice(2);
if (mode === "recv") {
  const sock = createSocket("udp4");
  let n = 0;
  sock.on("message", () => n++);
  sock.bind(Number(a), () => {
    console.log("ready");
    setTimeout(() => {
      console.log(String(n));
      sock.close();
    }, Number(b));
  });
} else if (mode === "send") {
  const sock = createSocket("udp4");
  const count = Number(c);
  let sent = 0;
  const next = () => {
    if (sent === count) return sock.close();
    sent++;
    const payload = d ? Buffer.alloc(Number(d), 0x61) : Buffer.from(`datagram ${sent}`);
    sock.send(payload, Number(b), a!, () => setTimeout(next, 20));
  };
  next();
} else {
  console.error("usage: udp-peer.ts recv PORT MS | send ADDR PORT N");
  process.exit(2);
}

// The network and cgroup attach points as users write them, the attach-type numbers against the
// uapi header's enum (gcc), the hook a section implies, and the owner rule of /run/bpfload records.
import { describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { formatAttachSpec, parseAttachSpec, progTypeFor } from "../../src/attach-spec.ts";
import { InvalidArgumentError } from "../../src/errors.ts";
import { ownerState } from "../../src/kernel/attach/records.ts";
import { statIsZombie } from "../../src/kernel/attach/sweep-net.ts";
import { BPF_ATTACH, CGROUP_ATTACH, cgroupAttachFromSection } from "../../src/net/attach-types.ts";

describe("attach specs", () => {
  test.each([
    ["xdp:eth0", { kind: "xdp", iface: "eth0" }, "xdp"],
    ["xdp:veth-1:generic", { kind: "xdp", iface: "veth-1", mode: "generic" }, "xdp"],
    ["xdp:eth0:native", { kind: "xdp", iface: "eth0", mode: "native" }, "xdp"],
    ["tc:eth0:ingress", { kind: "tc", iface: "eth0", direction: "ingress" }, "sched_cls"],
    ["tc:eth0:egress", { kind: "tc", iface: "eth0", direction: "egress" }, "sched_cls"],
    ["cgroup:/sys/fs/cgroup/test", { kind: "cgroup", path: "/sys/fs/cgroup/test" }, "cgroup_skb"],
    ["cgroup:/sys/fs/cgroup/test:egress", { kind: "cgroup", path: "/sys/fs/cgroup/test", attachType: "egress" }, "cgroup_skb"],
    ["flow_dissector", { kind: "flow_dissector" }, "flow_dissector"],
    ["sk_msg:socks", { kind: "sk_msg", map: "socks" }, "sk_msg"],
    ["sk_skb:socks:stream_parser", { kind: "sk_skb", map: "socks", hook: "stream_parser" }, "sk_skb"],
    ["sk_skb:/sys/fs/bpf/x/socks:verdict", { kind: "sk_skb", map: "/sys/fs/bpf/x/socks", hook: "verdict" }, "sk_skb"],
  ])("%s", (text, spec, type) => {
    expect(parseAttachSpec(text)).toEqual(spec as never);
    expect(formatAttachSpec(parseAttachSpec(text))).toBe(text);
    expect(progTypeFor(parseAttachSpec(text))).toBe(type as never);
  });

  test.each([
    ["xdp", /give the interface/],
    ["xdp:eth0:turbo", /generic or native/],
    ["xdp:a/b", /give the interface/],
    ["xdp:sixteen_chars_xx", /give the interface/],
    ["tc:eth0", /ingress or egress/],
    ["tc:eth0:sideways", /ingress or egress/],
    ["cgroup:relative/path", /absolute path/],
    ["flow_dissector:x", /takes no argument/],
    ["sk_msg:", /give the sockmap/],
    ["sk_skb:socks:sideways", /give the sockmap/],
  ])("%s is a usage error", (text, why) => {
    expect(() => parseAttachSpec(text)).toThrow(InvalidArgumentError);
    expect(() => parseAttachSpec(text)).toThrow(why);
  });
});

describe("the hook a section implies (to fold into sections.ts)", () => {
  test.each([
    ["cgroup_skb/ingress", "ingress"],
    ["cgroup_skb/egress", "egress"],
    ["cgroup/sock", "sock_create"],
    ["cgroup/sock_release", "sock_release"],
    ["cgroup/connect4", "connect4"],
    ["cgroup/getsockopt", "getsockopt"],
    ["sockops", "sockops"],
    ["cgroup/skb", undefined],
    ["xdp", undefined],
    ["cgroup/nonsense", undefined],
  ])("%s → %s", (section, hook) => {
    expect(cgroupAttachFromSection(section)).toBe(hook as never);
  });
});

const gcc = Bun.which("gcc") ?? Bun.which("cc");
const HEADER = "/usr/include/linux/bpf.h";
const skip = !gcc ? "no C compiler" : !existsSync(HEADER) ? "no uapi headers" : undefined;

describe.skipIf(!!skip)("enum bpf_attach_type against the uapi header", () => {
  test("every value the header has", () => {
    const header = require("node:fs").readFileSync(HEADER, "utf8") as string;
    const names = Object.keys(BPF_ATTACH).map((k) => `BPF_${k.toUpperCase()}`);
    const known = names.filter((n) => new RegExp(`\\b${n}\\b`).test(header));
    const dir = mkdtempSync(`${tmpdir()}/bpfload-attach-`);
    try {
      writeFileSync(`${dir}/a.c`, `#include <stdio.h>\n#include <linux/bpf.h>\nint main(void) {\n${known.map((n) => `printf("${n} %d\\n", ${n});`).join("\n")}\nreturn 0; }\n`);
      const cc = Bun.spawnSync([gcc!, "-o", `${dir}/a`, `${dir}/a.c`]);
      if (cc.exitCode !== 0) throw new Error(cc.stderr.toString());
      const real = Object.fromEntries(Bun.spawnSync([`${dir}/a`]).stdout.toString().trim().split("\n").map((l) => [l.split(" ")[0], Number(l.split(" ")[1])]));
      for (const [k, v] of Object.entries(BPF_ATTACH)) {
        const n = `BPF_${k.toUpperCase()}`;
        if (n in real) expect([n, v]).toEqual([n, real[n]]);
      }
      expect(known.length).toBeGreaterThanOrEqual(Object.keys(BPF_ATTACH).length - 3); // netfilter, tcx: newer than 6.1's header
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("every cgroup hook name maps to a cgroup attach type", () => {
    for (const [name, v] of Object.entries(CGROUP_ATTACH)) {
      const key = Object.entries(BPF_ATTACH).find(([, x]) => x === v)?.[0];
      expect([name, key?.startsWith("cgroup_")]).toEqual([name, true]);
    }
  });
});

describe("record owners (the tracefs sweep's rule)", () => {
  const me = { pid: 100, start: 5000, pidns: 7 };
  const running = new Map([[100, 5000], [200, 9000]]);
  const startOf = (pid: number) => running.get(pid);
  test.each([
    [{ pid: 100, start: 5000, pidns: 7 }, "alive"], // this process
    [{ pid: 200, start: 9000, pidns: 7 }, "alive"], // another live bpfload
    [{ pid: 200, start: 1234, pidns: 7 }, "stale"], // pid reused by a younger process
    [{ pid: 300, start: 1, pidns: 7 }, "stale"], // gone
    [{ pid: 300, start: 1, pidns: 8 }, "foreign"], // another PID namespace: cannot tell
  ])("%o is %s", (owner, state) => {
    expect(ownerState(owner, me, startOf)).toBe(state as never);
  });
});

describe("a killed bpfload not reaped yet is dead to the sweep", () => {
  test.each([
    ["4242 (bun) Z 1 4242 4242 0 -1", true],
    ["4242 (bun) S 1 4242 4242 0 -1", false],
    ["4242 (a) Z (b) R 1 4242", false], // comm "a) Z (b": the state is the field after the last ')'
    ["4242 (x) Z (y) Z 1", true],
  ])("%s", (stat, zombie) => expect(statIsZombie(stat)).toBe(zombie));
});

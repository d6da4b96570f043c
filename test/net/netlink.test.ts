// The rtnetlink requests against the same messages built in C with the uapi headers' own macros
// (NLMSG_*, RTA_*, struct ifinfomsg/tcmsg, IFLA_XDP_*, TCA_BPF_*): gcc is the oracle for layout,
// attribute numbers, alignment and nesting. The answers' parsing is covered against the real
// kernel in test/kernel/net-hooks.test.ts; here on messages of known shape.
import { describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as NL from "../../src/net/netlink.ts";

const gcc = Bun.which("gcc") ?? Bun.which("cc");
const skip = !gcc ? "no C compiler" : !existsSync("/usr/include/linux/pkt_cls.h") ? "no uapi headers (linux-libc-dev)" : undefined;
if (skip) console.warn(`[skip] netlink codec against C: ${skip}`);

const C = String.raw`
#include <stdio.h>
#include <string.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/if_link.h>
#include <linux/pkt_sched.h>
#include <linux/pkt_cls.h>
#include <linux/if_ether.h>
#include <arpa/inet.h>

static char buf[4096];
static struct nlmsghdr *start(int type, int flags, int seq, int fixed) {
  memset(buf, 0, sizeof buf);
  struct nlmsghdr *n = (struct nlmsghdr *)buf;
  n->nlmsg_len = NLMSG_LENGTH(fixed); n->nlmsg_type = type; n->nlmsg_flags = flags; n->nlmsg_seq = seq;
  return n;
}
static struct rtattr *add(struct nlmsghdr *n, int type, const void *data, int len) {
  struct rtattr *rta = (struct rtattr *)((char *)n + NLMSG_ALIGN(n->nlmsg_len));
  rta->rta_type = type; rta->rta_len = RTA_LENGTH(len);
  if (len) memcpy(RTA_DATA(rta), data, len);
  n->nlmsg_len = NLMSG_ALIGN(n->nlmsg_len) + RTA_ALIGN(rta->rta_len);
  return rta;
}
static void end(struct nlmsghdr *n, struct rtattr *nest) { nest->rta_len = (char *)n + n->nlmsg_len - (char *)nest; }
static void dump(const char *name, struct nlmsghdr *n) {
  printf("%s ", name);
  for (unsigned i = 0; i < n->nlmsg_len; i++) printf("%02x", (unsigned char)buf[i]);
  printf("\n");
}
static void xdp(const char *name, int seq, int fd, unsigned flags, int expected, int has_expected) {
  struct nlmsghdr *n = start(RTM_SETLINK, NLM_F_REQUEST | NLM_F_ACK, seq, sizeof(struct ifinfomsg));
  ((struct ifinfomsg *)NLMSG_DATA(n))->ifi_index = 3;
  struct rtattr *nest = add(n, IFLA_XDP | NLA_F_NESTED, NULL, 0);
  add(n, IFLA_XDP_FD, &fd, 4);
  add(n, IFLA_XDP_FLAGS, &flags, 4);
  if (has_expected) add(n, IFLA_XDP_EXPECTED_FD, &expected, 4);
  end(n, nest);
  dump(name, n);
}
static struct tcmsg *tc(struct nlmsghdr *n, unsigned handle, unsigned parent, unsigned info) {
  struct tcmsg *t = NLMSG_DATA(n);
  t->tcm_ifindex = 3; t->tcm_handle = handle; t->tcm_parent = parent; t->tcm_info = info;
  return t;
}
int main(void) {
  xdp("attach", 7, 5, XDP_FLAGS_SKB_MODE | XDP_FLAGS_UPDATE_IF_NOEXIST, 0, 0);
  xdp("detach", 8, -1, XDP_FLAGS_SKB_MODE | XDP_FLAGS_REPLACE, 5, 1);

  struct nlmsghdr *n = start(RTM_NEWQDISC, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, 9, sizeof(struct tcmsg));
  tc(n, TC_H_MAKE(TC_H_CLSACT, 0), TC_H_CLSACT, 0);
  add(n, TCA_KIND, "clsact", 7);
  dump("clsact", n);

  n = start(RTM_NEWTFILTER, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, 10, sizeof(struct tcmsg));
  tc(n, 1, TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_INGRESS), TC_H_MAKE(0xbf00 << 16, htons(ETH_P_ALL)));
  add(n, TCA_KIND, "bpf", 4);
  struct rtattr *opts = add(n, TCA_OPTIONS | NLA_F_NESTED, NULL, 0);
  unsigned fd = 5, da = TCA_BPF_FLAG_ACT_DIRECT;
  add(n, TCA_BPF_FD, &fd, 4);
  add(n, TCA_BPF_NAME, "tc_drop", 8);
  add(n, TCA_BPF_FLAGS, &da, 4);
  end(n, opts);
  dump("filter", n);

  n = start(RTM_DELTFILTER, NLM_F_REQUEST | NLM_F_ACK, 11, sizeof(struct tcmsg));
  tc(n, 1, TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_EGRESS), TC_H_MAKE(0xbf01 << 16, htons(ETH_P_ALL)));
  add(n, TCA_KIND, "bpf", 4);
  dump("delfilter", n);

  n = start(RTM_GETTFILTER, NLM_F_REQUEST | NLM_F_DUMP, 12, sizeof(struct tcmsg));
  tc(n, 0, TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_EGRESS), 0);
  dump("dumpfilters", n);
  return 0;
}
`;

function cMessages(): Map<string, string> {
  const dir = mkdtempSync(`${tmpdir()}/bpfload-netlink-`);
  try {
    writeFileSync(`${dir}/n.c`, C);
    const cc = Bun.spawnSync([gcc!, "-o", `${dir}/n`, `${dir}/n.c`]);
    if (cc.exitCode !== 0) throw new Error(cc.stderr.toString());
    const out = Bun.spawnSync([`${dir}/n`]).stdout.toString().trim().split("\n");
    return new Map(out.map((l) => l.split(" ") as [string, string]));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

describe.skipIf(!!skip)("requests are byte for byte what C builds with the uapi macros", () => {
  const c = skip ? new Map<string, string>() : cMessages();
  test("RTM_SETLINK IFLA_XDP attach (generic, never replacing)", () => {
    expect(hex(NL.xdpSetRequest(7, 3, 5, NL.XDP_FLAGS_SKB_MODE | NL.XDP_FLAGS_UPDATE_IF_NOEXIST))).toBe(c.get("attach")!);
  });
  test("RTM_SETLINK IFLA_XDP detach of the expected program only", () => {
    expect(hex(NL.xdpSetRequest(8, 3, -1, NL.XDP_FLAGS_SKB_MODE, 5))).toBe(c.get("detach")!);
  });
  test("RTM_NEWQDISC clsact", () => {
    expect(hex(NL.clsactRequest(9, 3, true))).toBe(c.get("clsact")!);
  });
  test("RTM_NEWTFILTER cls_bpf direct-action on ingress", () => {
    expect(hex(NL.bpfFilterRequest(10, 3, NL.TC_PARENT.ingress, 0xbf00, 1, 5, "tc_drop"))).toBe(c.get("filter")!);
  });
  test("RTM_DELTFILTER and the filter dump", () => {
    expect(hex(NL.deleteFilterRequest(11, 3, NL.TC_PARENT.egress, 0xbf01, 1))).toBe(c.get("delfilter")!);
    expect(hex(NL.dumpFiltersRequest(12, 3, NL.TC_PARENT.egress))).toBe(c.get("dumpfilters")!);
  });
});

describe("answers", () => {
  test("several messages in one datagram, padded to 4 bytes", () => {
    const a = NL.message(NL.RTM_NEWTFILTER, NL.NLM_F_MULTI, 5, NL.tcmsg(3, 1, NL.TC_PARENT.ingress, NL.filterInfo(0xbf00)), [{ type: 1, data: new TextEncoder().encode("bpf\0") }]);
    const done = NL.message(NL.NLMSG_DONE, NL.NLM_F_MULTI, 5, new Uint8Array(4));
    const msgs = NL.parseMessages(new Uint8Array([...a, ...done]));
    expect(msgs.map((m) => [m.type, m.seq])).toEqual([[NL.RTM_NEWTFILTER, 5], [NL.NLMSG_DONE, 5]]);
    expect(NL.parseTc(msgs[0]!)).toMatchObject({ ifindex: 3, handle: 1, parent: NL.TC_PARENT.ingress, prio: 0xbf00, kind: "bpf" });
  });

  test("an ack with an extack message (NLM_F_CAPPED | NLM_F_ACK_TLVS): errno and text", () => {
    const err = new Uint8Array(4 + 16);
    new DataView(err.buffer).setInt32(0, -16, true); // -EBUSY, then the request's header only (capped)
    const msgAttr = new TextEncoder().encode("XDP program already attached\0");
    const m = NL.message(NL.NLMSG_ERROR, 0x100 | 0x200, 1, err, [{ type: 1, data: msgAttr }]);
    expect(NL.parseAck(NL.parseMessages(m)[0]!)).toEqual({ errno: 16, message: "XDP program already attached" });
  });

  test("a plain ack: errno 0, no message", () => {
    const m = NL.message(NL.NLMSG_ERROR, 0x100, 1, new Uint8Array(20));
    expect(NL.parseAck(NL.parseMessages(m)[0]!)).toEqual({ errno: 0 });
  });

  test("a truncated datagram yields the whole messages only", () => {
    const a = NL.message(NL.RTM_NEWLINK, 0, 1, NL.ifinfomsg(2));
    expect(NL.parseMessages(a.subarray(0, a.length - 1))).toEqual([]);
  });
});

// The network hook probes (xdpLink, tcxLink, netfilterLink, skLookup) in words, against what the rig's
// kernels and the host answered (features/recorded.ts; the generic replay in features.test.ts checks
// every probe against the version table): XDP links are told apart by a link made on lo (5.9+), tcx by
// ENODEV, netfilter by EAFNOSUPPORT for pf 0, sk_lookup by its program type loading.
import { expect, test } from "bun:test";
import { RECORDED } from "./features/recorded.ts";

const rec = (k: string) => RECORDED.find((r) => r.kernel.startsWith(k))!.features;

test("XDP links: EINVAL on 4.9, 4.19 and 5.4 (no BPF_XDP link before 5.9), a link made on 6.18", () => {
  for (const k of ["4.9", "4.19", "5.4"]) expect(rec(k).xdpLink!.calls[1]).toMatchObject({ call: "linkCreate", kind: "37", ok: false, errno: 22 });
  expect(rec("6.18").xdpLink!.calls[1]).toMatchObject({ call: "linkCreate", ok: true });
});

test("tcx: EINVAL before 6.6, ENODEV for ifindex 0 on 6.18; netfilter and sk_lookup: their program types do not load before", () => {
  for (const k of ["4.9", "4.19", "5.4"]) {
    expect(rec(k).tcxLink!.calls[1]).toMatchObject({ errno: 22 });
    expect(rec(k).netfilterLink!.calls).toHaveLength(1); // the netfilter program was refused: no link asked
    expect(rec(k).skLookup!.calls[0]).toMatchObject({ progType: 30, ok: false });
  }
  expect(rec("4.9").skLookup!.calls[0]!.errno).toBe(7); // 4.9's short attr: expected_attach_type is past it (E2BIG)
  expect(rec("6.18").tcxLink!.calls[1]!.errno).toBe(19);
  expect(rec("6.18").netfilterLink!.calls[1]!.errno).toBe(97);
  expect(rec("6.18").skLookup!.calls[0]!.ok).toBe(true);
});

// The attach kinds of CO-RE programs in attach-spec syntax and from libbpf's section names:
// ksyscall/kretsyscall, kprobe globs, kprobe.multi, uprobe.multi, usdt. Pure.
import { describe, expect, test } from "bun:test";
import { formatAttachSpec, globToRegExp, parseAttachSpec, progTypeFor } from "../src/attach-spec.ts";
import { sectionToProgram } from "../src/elf/index.ts";
import { InvalidArgumentError } from "../src/errors.ts";

describe("parsing", () => {
  test("each new kind, and its round trip through formatAttachSpec", () => {
    const cases: [string, object][] = [
      ["ksyscall:execve", { kind: "ksyscall", name: "execve" }],
      ["kretsyscall:openat", { kind: "kretsyscall", name: "openat" }],
      ["kprobe:vfs_*", { kind: "kprobe", func: "vfs_*", offset: 0 }],
      ["kretprobe:tcp_v?_connect", { kind: "kretprobe", func: "tcp_v?_connect" }],
      ["kprobe.multi:vfs_*", { kind: "kprobe.multi", pattern: "vfs_*" }],
      ["kretprobe.multi:do_nanosleep", { kind: "kretprobe.multi", pattern: "do_nanosleep" }],
      ["uprobe.multi:/usr/lib/libc.so.6:malloc*", { kind: "uprobe.multi", path: "/usr/lib/libc.so.6", pattern: "malloc*" }],
      ["uretprobe.multi:/a:b:*", { kind: "uretprobe.multi", path: "/a:b", pattern: "*" }],
      ["usdt:/usr/bin/python3:python:function__entry", { kind: "usdt", path: "/usr/bin/python3", provider: "python", name: "function__entry" }],
      ["usdt:/odd:path/bin:p:n", { kind: "usdt", path: "/odd:path/bin", provider: "p", name: "n" }],
    ];
    for (const [text, want] of cases) {
      expect(parseAttachSpec(text)).toEqual(want as never);
      expect(formatAttachSpec(parseAttachSpec(text))).toBe(text);
      expect(progTypeFor(parseAttachSpec(text))).toBe("kprobe");
    }
  });

  test("bad ones are usage errors saying what is wrong", () => {
    const bad: [string, RegExp][] = [
      ["ksyscall:sys_exec ve", /syscall's name/],
      ["ksyscall:", /syscall's name/],
      ["kprobe:vfs_*+4", /a glob takes no offset/],
      ["kprobe:vfs_[ab]", /invalid kernel function/],
      ["kprobe.multi:", /function name or glob/],
      ["uprobe.multi:relative/lib:*", /absolute path/],
      ["uprobe.multi:/lib/x.so:mal loc", /invalid function glob/],
      ["usdt:/bin/x:prov", /absolute path, the provider and the probe name/],
      ["usdt:/bin/x:pro-v:name", /C identifiers/],
      ["usdt:/bin/\u0001x:p:n", /control character/],
    ];
    for (const [text, why] of bad) {
      expect(() => parseAttachSpec(text)).toThrow(InvalidArgumentError);
      expect(() => parseAttachSpec(text)).toThrow(why);
    }
  });

  test("globs are libbpf's: * any run, ? one character, the rest literal", () => {
    expect(globToRegExp("vfs_*").test("vfs_read")).toBe(true);
    expect(globToRegExp("vfs_*").test("do_vfs_read")).toBe(false);
    expect(globToRegExp("a.b?").test("a.bc")).toBe(true);
    expect(globToRegExp("a.b?").test("axbc")).toBe(false);
    expect(globToRegExp("x+(y)").test("x+(y)")).toBe(true);
  });
});

describe("libbpf's section names give the attach point", () => {
  const cases: [string, string | undefined, string | undefined][] = [
    ["ksyscall/execve", "ksyscall:execve", undefined],
    ["kretsyscall/execve", "kretsyscall:execve", undefined],
    ["kprobe.multi/vfs_*", "kprobe.multi:vfs_*", "BPF_TRACE_KPROBE_MULTI"],
    ["kretprobe.multi/do_*", "kretprobe.multi:do_*", "BPF_TRACE_KPROBE_MULTI"],
    ["uprobe.multi//usr/lib/libc.so.6:malloc*", "uprobe.multi:/usr/lib/libc.so.6:malloc*", "BPF_TRACE_UPROBE_MULTI"],
    ["uretprobe.multi.s//bin/sh:main", "uretprobe.multi:/bin/sh:main", "BPF_TRACE_UPROBE_MULTI"],
    ["usdt//usr/bin/python3:python:function__entry", "usdt:/usr/bin/python3:python:function__entry", undefined],
    ["usdt", undefined, undefined],
    ["kprobe.multi", undefined, "BPF_TRACE_KPROBE_MULTI"],
  ];
  for (const [section, attach, attachType] of cases) {
    test(section, () => {
      const sp = sectionToProgram(section)!;
      expect(sp.progType).toBe("kprobe");
      expect(sp.attach).toBe(attach);
      expect(sp.expectedAttachTypeName).toBe(attachType as never);
      if (attach) expect(formatAttachSpec(parseAttachSpec(attach))).toBe(attach);
    });
  }
});

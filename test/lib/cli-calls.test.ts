// The calls the CLI's `map`, `prog`, `run`, `btf relocs`, `asm` and file inputs now make through
// the package (issue 12, item 1): maps and programs by id/pin/name as the library's disposable
// wrappers, the file readers, the BTFHub directory walk, the relocation report's error wrapping.
// Oracles: bpftool where present, /proc/self/fdinfo, node:fs, hand-built trees and bytes.
import { describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import {
  BpfMap, btfFilesUnder, createMap, FileError, HELLO_INSNS, InvalidArgumentError, isOnBpfFs, listMaps, listPrograms, loadProgram, mapInfo,
  ObjectError, objectRelocations, openMap, openProgram, parseObject, parseProbeApi, pinFd, Program, programInfo, readUserFile, takesPackets, writeFile,
} from "../../src/index.ts";
import { canUseKernel, kernelSkipReason, REPO } from "../support.ts";

const bpftool = Bun.which("bpftool");
/** `r0 = 0; exit`: the smallest program the verifier takes. */
const RETURN_0 = new Uint8Array([0xb7, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0]);

test("readUserFile and writeFile: the bytes node:fs sees; a directory and a missing file are FileErrors (pure)", () => {
  const dir = mkdtempSync(`${tmpdir()}/bpfload-cli-calls-`);
  try {
    const bytes = new Uint8Array(Array.from({ length: 300 }, (_, i) => (i * 7) & 0xff));
    writeFile(`${dir}/out.bin`, bytes);
    expect(new Uint8Array(readFileSync(`${dir}/out.bin`))).toEqual(bytes);
    writeFileSync(`${dir}/in.bin`, Buffer.from("hello"));
    expect(new TextDecoder().decode(readUserFile(`${dir}/in.bin`))).toBe("hello");
    expect(() => readUserFile(`${dir}/missing`)).toThrow(FileError);
    expect(() => readUserFile(dir)).toThrow(/regular file|directory/i);
    expect(() => readUserFile(`${dir}/in.bin`, 4)).toThrow(/EFBIG|too big|larger/i);
  } finally {
    rmSync(dir, { recursive: true });
  }
});

test("btfFilesUnder: a directory's files sorted, nested, dot files out; undefined for a file or nothing (pure)", () => {
  const dir = mkdtempSync(`${tmpdir()}/bpfload-btfdir-`);
  try {
    mkdirSync(`${dir}/ubuntu/20.04/x86_64`, { recursive: true });
    mkdirSync(`${dir}/.git`);
    for (const f of ["ubuntu/20.04/x86_64/5.4.0-26.btf", "ubuntu/20.04/x86_64/5.15.0-1.btf", "a.btf", ".hidden", ".git/HEAD"]) writeFileSync(`${dir}/${f}`, "x");
    expect(btfFilesUnder(`${dir}/`)).toEqual([`${dir}/a.btf`, `${dir}/ubuntu/20.04/x86_64/5.15.0-1.btf`, `${dir}/ubuntu/20.04/x86_64/5.4.0-26.btf`]);
    expect(btfFilesUnder(`${dir}/a.btf`)).toBeUndefined();
    expect(btfFilesUnder(`${dir}/none`)).toBeUndefined();
    mkdirSync(`${dir}/empty`);
    expect(btfFilesUnder(`${dir}/empty`)).toEqual([]);
  } finally {
    rmSync(dir, { recursive: true });
  }
});

test("objectRelocations: the CO-RE records of an object; a corrupt .BTF is an ObjectError naming the file (pure)", async () => {
  const file = `${REPO}/test/fixtures/core_task.o`;
  const bytes = new Uint8Array(readFileSync(file));
  const obj = await parseObject(bytes, file);
  expect(objectRelocations(obj, bytes, file).records.length).toBeGreaterThan(0);
  const s = obj.sections.find((x) => x.name === ".BTF")!;
  const bad = bytes.slice();
  bad.fill(0xff, s.offset, s.offset + 24); // the header: magic and lengths
  let err: unknown;
  try {
    objectRelocations(obj, bad, "bad.o");
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(ObjectError);
  expect((err as Error).message).toMatch(/^bad\.o.*bad BTF/);
});

test("takesPackets and parseProbeApi (pure)", () => {
  expect(["xdp", "sched_cls", "socket_filter", "cgroup_skb", "flow_dissector"].every((t) => takesPackets(t as never))).toBe(true);
  expect(["kprobe", "tracepoint", "raw_tracepoint", "syscall"].some((t) => takesPackets(t as never))).toBe(false);
  expect(parseProbeApi("pmu")).toBe("pmu");
  expect(parseProbeApi("tracefs")).toBe("tracefs");
  expect(parseProbeApi("auto")).toBeUndefined();
  expect(parseProbeApi(undefined)).toBeUndefined();
  expect(() => parseProbeApi("kprobe")).toThrow(InvalidArgumentError);
  expect(HELLO_INSNS.length).toBe(13 * 8);
});

test("isOnBpfFs: a bpffs mount point (from /proc/self/mountinfo) yes; /tmp, /proc and a missing path no", () => {
  const bpffs = readFileSync("/proc/self/mountinfo", "utf8").split("\n").map((l) => l.split(" - ")).find((p) => p[1]?.startsWith("bpf "))?.[0]?.split(" ")[4];
  if (bpffs) expect(isOnBpfFs(bpffs)).toBe(true);
  expect(isOnBpfFs(tmpdir())).toBe(false);
  expect(isOnBpfFs("/proc/self")).toBe(false);
  expect(isOnBpfFs("/nonexistent/bpfload")).toBe(false);
});

describe.skipIf(!canUseKernel)(`maps and programs by id, pin and name${kernelSkipReason ? ` (${kernelSkipReason})` : ""}`, () => {
  test("listMaps and openMap: a map of ours listed with its definition; by id, name and pin the same map (writes seen through the other fd)", () => {
    const name = `cc${process.pid % 100000}`;
    using mine = createMap({ name, type: "hash", keySize: 4, valueSize: 8, maxEntries: 16 });
    const id = mapInfo(mine).id;
    const listed = listMaps().find((m) => m.id === id);
    expect(listed).toMatchObject({ id, type: "hash", name, keySize: 4, valueSize: 8, maxEntries: 16 });
    if (bpftool) {
      const tool = JSON.parse(Bun.spawnSync([bpftool, "map", "show", "id", String(id), "-j"]).stdout.toString());
      expect([tool.name, tool.bytes_key, tool.bytes_value, tool.max_entries]).toEqual([listed!.name, 4, 8, 16]);
    }
    mine.set(7, 1234n);
    const pin = `/sys/fs/bpf/bpfload-cli-calls-${process.pid}`;
    pinFd(mine.fd, pin, "map");
    try {
      for (const ref of [String(id), `id:${id}`, `name:${name}`, pin]) {
        using m = openMap(ref);
        expect(m).toBeInstanceOf(BpfMap);
        expect(m.fd).not.toBe(mine.fd);
        expect(mapInfo(m).id).toBe(id);
        expect(m.get(7)).toBe(1234n);
      }
      using w = openMap(`id:${id}`);
      w.set(8, 5n);
      expect(mine.get(8)).toBe(5n);
    } finally {
      unlinkSync(pin);
    }
    expect(() => openMap("name:bpfload-none-such")).toThrow(InvalidArgumentError);
    expect(() => openMap("not a ref")).toThrow(InvalidArgumentError);
  });

  test("openMap's wrapper owns its fd: closed by `using`, closing twice harmless", () => {
    using mine = createMap({ type: "array", keySize: 4, valueSize: 4, maxEntries: 1 });
    const id = mapInfo(mine).id;
    let fd = -1;
    {
      using m = openMap(`id:${id}`);
      fd = m.fd;
      expect(readFileSync(`/proc/self/fdinfo/${fd}`, "utf8")).toContain(`map_id:\t${id}`);
    }
    let reused = "";
    try {
      reused = readFileSync(`/proc/self/fdinfo/${fd}`, "utf8");
    } catch {}
    expect(reused).not.toContain(`map_id:\t${id}`);
    const m = openMap(`id:${id}`);
    m.close();
    m.close();
  });

  test("listPrograms and openProgram: a program of ours listed; by id, name and pin the same program; a map pin is refused", () => {
    const name = `cp${process.pid % 100000}`;
    using prog = loadProgram({ name, type: "socket_filter", insns: RETURN_0 });
    const info = programInfo(prog);
    expect(listPrograms().find((p) => p.id === info.id)).toMatchObject({ id: info.id, type: "socket_filter", name, tag: info.tag });
    if (bpftool) {
      const tool = JSON.parse(Bun.spawnSync([bpftool, "prog", "show", "id", String(info.id), "-j"]).stdout.toString());
      expect([tool.name, tool.tag, tool.type]).toEqual([name, info.tag, "socket_filter"]);
    }
    const pin = `/sys/fs/bpf/bpfload-cli-calls-prog-${process.pid}`;
    pinFd(prog.fd, pin, "program");
    using map = createMap({ type: "array", keySize: 4, valueSize: 4, maxEntries: 1 });
    const mapPin = `${pin}-map`;
    pinFd(map.fd, mapPin, "map");
    try {
      for (const ref of [`id:${info.id}`, `name:${name}`, pin]) {
        using p = openProgram(ref);
        expect(p).toBeInstanceOf(Program);
        expect([p.name, p.type, programInfo(p).id]).toEqual([name, "socket_filter", info.id]);
        expect(p.testRun({ data: new Uint8Array(64) }).retval).toBe(0);
      }
      expect(() => openProgram(mapPin)).toThrow(/is not a pinned program/);
    } finally {
      unlinkSync(pin);
      unlinkSync(mapPin);
    }
  });
});

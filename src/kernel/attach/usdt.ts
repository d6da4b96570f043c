// USDT probes as libbpf attaches them for usdt.bpf.h programs: a uprobe at every site of
// PROVIDER:NAME in the target's .note.stapsdt, each site's argument spec written to the object's
// `__bpf_usdt_specs` array, and the spec id given to the program by bpf cookie (BPF_LINK_CREATE on
// the perf event, 5.15+) or, before cookies, through `__bpf_usdt_ip_to_spec_id` keyed by the
// site's address (then only for non-PIE executables, whose sites run at their link-time address).
import { formatAttachSpec, type AttachSpec } from "../../attach-spec.ts";
import { encodeUsdtSpec, parseUsdtArgs, readUsdtTarget, UsdtError, USDT_SPEC_SIZE, type UsdtSite } from "../../elf/usdt-notes.ts";
import { InputError, InvalidArgumentError, SyscallError, SystemError, errnoName, opt, optionText } from "../../errors.ts";
import { hintFor } from "../../hints.ts";
import { bpfMapGetInfo, bpfMapUpdateElem } from "../../sys/bpf.ts";
import { exists } from "../../sys/files.ts";
import { field, BPF_MAP_INFO } from "../../sys/layout.ts";
import { bpfLinkCreatePerfEvent } from "../../sys/link-multi.ts";
import { close } from "../../sys/fd.ts";
import { perfEventOpen } from "../../sys/perf.ts";
import { attachTypeValue } from "../../uapi.ts";
import { attachProbeEvent, createProbeEvent } from "../tracefs/probe-events.ts";
import { TracefsCommand } from "../tracefs/command.ts";
import { attachToPerfFd, MultiLink, PerfEventLink, type Link } from "./perf-link.ts";
import { chooseProbeApi, type ProbeApi } from "./probe-pmu.ts";
import type { Program } from "../program.ts";
import { withTargetFile } from "./uprobe-multi.ts";

type USpec = AttachSpec & { kind: "usdt" };

const SPECS_MAP = "__bpf_usdt_specs";
const IP_MAP = "__bpf_usdt_ip_to_spec_id";
const ET_EXEC = 2;
/** usdt.bpf.h's BPF_USDT_MAX_SPEC_CNT, assumed where the kernel cannot tell the map's size (before 4.13). */
const USDT_DEFAULT_SPECS = 256;

/** The sites of PROVIDER:NAME in the target; refuses a target without them, naming the probes it has. */
export function usdtSites(spec: USpec): { sites: UsdtSite[]; elfType: number; machine: string } {
  const t = withTargetFile(spec.path, "USDT target", (read, size) => {
    try {
      return readUsdtTarget(read, size);
    } catch (e) {
      if (e instanceof UsdtError) throw new InputError(spec.path, `cannot read its USDT notes: ${e.message}`);
      throw e;
    }
  });
  const sites = t.sites.filter((s) => s.provider === spec.provider && s.name === spec.name);
  if (!sites.length) {
    const have = [...new Set(t.sites.map((s) => `${s.provider}:${s.name}`))];
    const listed = have.length ? `it has ${have.slice(0, 10).join(", ")}${have.length > 10 ? `, … (${have.length})` : ""}` : "it has no USDT probes (no .note.stapsdt)";
    throw new InputError(spec.path, `no USDT probe ${spec.provider}:${spec.name}: ${listed}`);
  }
  const host = process.arch === "arm64" ? "arm64" : process.arch === "x64" ? "x86_64" : process.arch;
  if (t.machine !== host) throw new InputError(spec.path, `a ${t.machine} binary: its USDT probes cannot run on this ${host} machine`);
  return { sites, elfType: t.elfType, machine: t.machine };
}

/** Spec ids handed out per spec map (one object's programs share it), by argument string. */
const specIds = new Map<number, Map<string, number>>();

/** The spec map's value size and entries; undefined where the kernel cannot tell (map info is 4.13+). */
function mapValueSize(fd: number): { valueSize: number; maxEntries: number } | undefined {
  const r = bpfMapGetInfo(fd);
  if (r.ret < 0) return undefined;
  return { valueSize: r.info.getUint32(field(BPF_MAP_INFO, "value_size").offset, true), maxEntries: r.info.getUint32(field(BPF_MAP_INFO, "max_entries").offset, true) };
}

/** The spec id of a site's arguments, written to the spec map the first time. */
function specIdFor(specsFd: number, site: UsdtSite, machine: string, maxEntries: number, target: string): number {
  let ids = specIds.get(specsFd);
  if (!ids) specIds.set(specsFd, (ids = new Map()));
  const known = ids.get(site.args);
  if (known !== undefined) return known;
  let args;
  try {
    args = parseUsdtArgs(site.args, machine as "x86_64" | "arm64");
  } catch (e) {
    if (e instanceof UsdtError) throw new InputError(target, e.message);
    throw e;
  }
  const id = ids.size;
  if (id >= maxEntries) throw new SystemError(`attach to ${target}: more distinct USDT argument specs than ${SPECS_MAP} holds (${maxEntries}): build with a larger BPF_USDT_MAX_SPEC_CNT`);
  const key = new Uint8Array(4);
  new DataView(key.buffer).setUint32(0, id, true);
  const r = bpfMapUpdateElem({ fd: specsFd, type: 2, keySize: 4, valueSize: USDT_SPEC_SIZE }, key, [encodeUsdtSpec(args, 0n)]);
  if (r.ret < 0) throw new SyscallError(`attach to ${target}: write the argument spec`, "BPF_MAP_UPDATE_ELEM", r.errno);
  ids.set(site.args, id);
  return id;
}

function writeIpEntry(ipFd: number, ip: bigint, id: number, target: string): void {
  const key = new Uint8Array(8);
  new DataView(key.buffer).setBigUint64(0, ip, true);
  const value = new Uint8Array(4);
  new DataView(value.buffer).setUint32(0, id, true);
  const r = bpfMapUpdateElem({ fd: ipFd, type: 1, keySize: 8, valueSize: 4 }, key, [value]);
  if (r.ret < 0) throw new SyscallError(`attach to ${target}: write ${IP_MAP}`, "BPF_MAP_UPDATE_ELEM", r.errno);
}

/** Does the uprobe PMU take a semaphore (ref_ctr_offset in config:32-63, 4.20+)? */
const pmuTakesRefCtr = () => exists("/sys/bus/event_source/devices/uprobe/format/ref_ctr_offset");

export function attachUsdt(prog: Program, spec: USpec, opts: { api?: ProbeApi; mapFd?: (name: string) => number | undefined; onInfo?: (i: { offset?: number; event: string }) => void } = {}): Link {
  const target = formatAttachSpec(spec);
  const specsFd = opts.mapFd?.(SPECS_MAP);
  const ipFd = opts.mapFd?.(IP_MAP);
  if (specsFd === undefined || ipFd === undefined) {
    throw new InvalidArgumentError("attach", `attach '${prog.name}' to ${target}: a USDT program reads its arguments through libbpf's usdt.bpf.h maps (${SPECS_MAP}, ${IP_MAP}), and this program has none: load an object built with <bpf/usdt.bpf.h>`);
  }
  const { valueSize, maxEntries } = mapValueSize(specsFd) ?? { valueSize: USDT_SPEC_SIZE, maxEntries: USDT_DEFAULT_SPECS };
  if (valueSize !== USDT_SPEC_SIZE) throw new InputError(target, `${SPECS_MAP} has ${valueSize}-byte values; bpfload writes libbpf 1.x's ${USDT_SPEC_SIZE}-byte struct __bpf_usdt_spec`);
  const { sites, elfType, machine } = usdtSites(spec);
  const { api, pmu } = chooseProbeApi("uprobe", opts.api);
  const links: Link[] = [];
  let cookies = api === "pmu"; // tried first; a kernel before 5.15 refuses the link and the ip map is used
  try {
    for (const site of sites) {
      const id = specIdFor(specsFd, site, machine, maxEntries, target);
      const where = `${target} at 0x${site.fileOffset.toString(16)}`;
      if (site.semaphoreOffset && !(api === "pmu" && pmuTakesRefCtr())) {
        throw new SystemError(optionText`attach '${prog.name}' to ${target}: the probe has a semaphore, which only the uprobe PMU of 4.20+ can count (ref_ctr_offset)${api === "tracefs" ? optionText`: leave out ${opt("probeApi", "tracefs")}` : ""}`);
      }
      const ipMap = () => {
        if (elfType !== ET_EXEC) throw new SystemError(`attach '${prog.name}' to ${target}: this kernel has no bpf cookies (5.15+), and without them usdt.bpf.h finds a site by its address, which a PIE or shared library (ET_DYN) only has per process`);
        writeIpEntry(ipFd, site.pc, id, target);
      };
      if (api === "pmu") {
        const open = perfEventOpen({ type: pmu!.type, config: BigInt(site.semaphoreOffset) << 32n, config1String: spec.path, config2: site.fileOffset, samplePeriod: 1, wakeupEvents: 1 });
        if (open.ret < 0) throw new SyscallError(`attach '${prog.name}' to ${where}`, "perf_event_open(uprobe PMU)", open.errno, hintFor("uprobe", errnoName(open.errno), { euid: process.geteuid?.() ?? 0 }));
        if (cookies) {
          const l = bpfLinkCreatePerfEvent(prog.fd, open.ret, attachTypeValue("BPF_PERF_EVENT"), BigInt(id));
          if (l.ret >= 0) {
            links.push(new PerfEventLink(where, open.ret, () => close(l.ret)));
            continue;
          }
          cookies = false; // EINVAL before 5.15 (no perf_event links): the ip map from here on
        }
        ipMap();
        links.push(attachToPerfFd(prog, open.ret, where, {}));
      } else {
        ipMap();
        const created = createProbeEvent(`${spec.provider}_${spec.name}`, (event) => TracefsCommand.uprobe("p", event, spec.path, site.fileOffset));
        links.push(attachProbeEvent(prog, created, where));
      }
    }
  } catch (e) {
    for (const l of links) l.close();
    throw e;
  }
  opts.onInfo?.({ event: `${sites.length} USDT site${sites.length === 1 ? "" : "s"} (${cookies ? "spec ids by bpf cookie" : `spec ids by address in ${IP_MAP}`})` });
  return new MultiLink(`${target} (${sites.length} site${sites.length === 1 ? "" : "s"})`, links);
}

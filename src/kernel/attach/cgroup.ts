// cgroup hooks: a cgroup bpf_link (5.7+; detached when bpfload's fd closes), or BPF_PROG_ATTACH
// with BPF_F_ALLOW_MULTI on older kernels (or --net-api netlink, "the old way"), which outlives the
// process and is recorded under /run/bpfload first. The attach type comes from the spec
// (cgroup:PATH:egress) or the section (cgroup_skb/egress). The flow dissector: netns.ts.
import { formatAttachSpec, type AttachSpec } from "../../attach-spec.ts";
import { InvalidArgumentError, ERRNO, opt, optionText } from "../../errors.ts";
import { BPF_ATTACH, CGROUP_ATTACH } from "../../net/attach-types.ts";
import { bpfLinkCreate, bpfProgAttach, bpfProgDetach } from "../../sys/bpf.ts";
import { FileError, openFile } from "../../sys/files.ts";
import { statfsType } from "../../sys/paths.ts";
import { close } from "../../sys/fd.ts";
import { requireHookFeature } from "../features/probes.ts";
import { mountPointsOf } from "../mounts.ts";
import { FdLink, type Link } from "./perf-link.ts";
import type { Program } from "../program.ts";
import { hookError, progIdOf, recordedProgFd } from "./common.ts";
import { removeRecord, writeRecord, type NetRecord } from "./records.ts";
import { UndoLink } from "./perf-link.ts";
import type { NetApi } from "./xdp.ts";

const { EINVAL, ENOENT } = ERRNO;
const BPF_F_ALLOW_MULTI = 2;

export function attachCgroup(prog: Program, spec: AttachSpec & { kind: "cgroup" }, api?: NetApi): Link {
  const target = formatAttachSpec(spec);
  const what = `attach '${prog.name}' to ${target}`;
  if (!spec.attachType) throw new InvalidArgumentError("attach", `${what}: say which cgroup hook: cgroup:${spec.path}:TYPE (${Object.keys(CGROUP_ATTACH).join(", ")}), or use a section that names it (cgroup_skb/ingress)`);
  const attachType = CGROUP_ATTACH[spec.attachType];
  if (attachType === undefined) throw new InvalidArgumentError("attach", `${what}: unknown cgroup attach type '${spec.attachType}' (${Object.keys(CGROUP_ATTACH).join(", ")})`);
  const cg = openCgroup(spec.path, what);
  try {
    if (api !== "netlink") {
      const r = bpfLinkCreate({ progFd: prog.fd, target: cg, attachType });
      if (r.ret >= 0) return new FdLink(`${target} (bpf_link)`, r.ret);
      if (api === "link" && r.errno === EINVAL) requireHookFeature("cgroupLink", "cgroup bpf_link", optionText`without ${opt("netApi", "link")}, bpfload uses BPF_PROG_ATTACH instead`);
      if (api === "link" || r.errno !== EINVAL) throw hookError(what, "BPF_LINK_CREATE", r.errno); // EINVAL: no links before 5.7
    }
    const rec: NetRecord & { kind: "cgroup" } = { kind: "cgroup", path: spec.path, attachType, progId: progIdOf(prog), progName: prog.name };
    const name = writeRecord(rec);
    const r = bpfProgAttach(cg, prog.fd, attachType, BPF_F_ALLOW_MULTI);
    if (r.ret < 0) {
      removeRecord(name);
      throw hookError(what, "BPF_PROG_ATTACH", r.errno);
    }
    return new UndoLink(`${target} (BPF_PROG_ATTACH)`, () => {
      detachCgroup(rec, prog.fd);
      removeRecord(name);
    });
  } finally {
    close(cg);
  }
}

const CGROUP2_SUPER_MAGIC = 0x63677270;

function openCgroup(path: string, what: string): number {
  // Any directory opens, and the kernel then says only EBADF: check the filesystem first.
  const fs = statfsType(path);
  if (fs.ret >= 0 && fs.type !== CGROUP2_SUPER_MAGIC) {
    const where = mountPointsOf("cgroup2")[0];
    throw new InvalidArgumentError("attach", `${what}: ${path} is not a cgroup v2 directory${where ? ` (cgroup v2 is mounted at ${where})` : " (no cgroup v2 filesystem is mounted: mount -t cgroup2 none /sys/fs/cgroup)"}`);
  }
  try {
    return openFile(path);
  } catch (e) {
    if (e instanceof FileError) throw new InvalidArgumentError("attach", `${what}: cannot open the cgroup directory: ${e.message}`);
    throw e;
  }
}


/** Detaches the recorded program (multi-attach: exactly that program, nobody else's). */
export function detachCgroup(rec: NetRecord & { kind: "cgroup" }, progFd?: number): "removed" | "gone" {
  const what = `detach '${rec.progName}' from cgroup ${rec.path}`;
  const fd = recordedProgFd(rec.progId, progFd, what);
  if (fd === "gone") return "gone";
  let cg: number;
  try {
    cg = openFile(rec.path);
  } catch (e) {
    if (progFd === undefined) close(fd);
    if (e instanceof FileError) return "gone"; // the cgroup was removed, and its programs with it
    throw e;
  }
  try {
    const r = bpfProgDetach(cg, fd, rec.attachType);
    if (r.ret >= 0) return "removed";
    if (r.errno === ENOENT) return "gone";
    throw hookError(what, "BPF_PROG_DETACH", r.errno);
  } finally {
    close(cg);
    if (progFd === undefined) close(fd);
  }
}

// The flow dissector (a netns hook) lives in netns.ts, with sk_lookup; attach.ts imports it from here.
export { attachFlowDissector } from "./netns.ts";

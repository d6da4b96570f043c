// The names of the feature probes (probes.ts has the probes): its own module so that "bpfload"
// can export the list without loading the probes and the loader they use.
export const FEATURE_IDS = [
  "programNames", "globalData", "bpfToBpfCalls", "kretprobeMaxactive", "kprobePmu", "uprobePmu", "rawTracepoints",
  "bpfLink", "btf", "btfFunc", "btfFuncGlobal", "btfDatasec", "btfFloat", "btfDeclTag", "btfTypeTag", "btfEnum64",
  "expectedAttachType", "logTrueSize", "bigVerifierLog", "memcgAccounting", "syscallTracepoints", "probeReadKernel",
  "xdpLink", "tcxLink", "netfilterLink", "skLookup",
] as const;
export type FeatureId = (typeof FEATURE_IDS)[number];

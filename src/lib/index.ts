// The library layer: the object model, disposable resources, maps with JavaScript values, readers
// as async iterators, setup() for process-wide policy. Re-exported by src/index.ts.
export { readObject, programSections, load, CollectionSpec, Collection, ProgramSpec, MapSpec, VariableSpec, PIN_BY_NAME, type LoadOptions } from "./object.ts";
export { Program, Link, attach, loadProgram, countRuns, runStatusLine, checkAttach, attachLoadFields, hasProbes, hasTracepoint, type RunCounter, type AttachOptions, type TestRunOptions, type TestRunResult, type VerifierStats } from "./program.ts";
export { BpfMap, createMap, openPinnedMap, setBatchSupport, type MapOptions, type UpdateMode, type Value } from "./map.ts";
export { openTrace, openEvents, TraceReader, EventReader, type Reader, type ReadOptions, type TraceEvent, type EventRecord, type EventOptions } from "./readers.ts";
export { trackLeaks, type LeakReport } from "./leaks.ts";
export { listMaps, listPrograms, openMap, openProgram, mapInfo, programInfo, isOnBpfFs, type MapInfo, type ProgInfo } from "./objects.ts";
export { objectRelocations, openCoreTarget, btfFilesUnder, relocationReport, type ObjectCore, type ProgramReport, type RelocReport, type Verdict, type TargetBtf, type TargetModule } from "./core-report.ts";
export { objectBtf } from "./object-btf.ts";
export { setup, type SetupOptions } from "./setup.ts";

// Child of signals.test.ts: creates a tracefs uprobe event the way the attach path does, then
// signals itself before any attach, as a Ctrl-C could land there. The event must be gone when the
// process has exited, whatever the signal's timing: nothing else in this process registers a
// cleanup, so only createProbeEvent's own registration can remove it. The signal handlers are the
// process owner's to ask for (setup({ signals: true }), as the CLI does): the library installs none.
//   bun test/fault/probe-window.ts SIGNAL LIBC_PATH
import { setup } from "../../src/lib/setup.ts";
import { createProbeEvent } from "../../src/kernel/tracefs/probe-events.ts";
import { TracefsCommand } from "../../src/kernel/tracefs/command.ts";
import { uprobeFileOffset } from "../../src/kernel/attach/uprobe.ts";

const [sig, libc] = process.argv.slice(2) as [NodeJS.Signals, string];
setup({ signals: true });
const offset = uprobeFileOffset({ kind: "uprobe", path: libc, symbol: "getpid", offset: 0 });
const created = createProbeEvent("getpid", (event) => TracefsCommand.uprobe("p", event, libc, offset));
process.stderr.write(`probe event ${created.event}\n`);
process.kill(process.pid, sig);
await Bun.sleep(2000); // the signal is handled here (or, without a handler, has killed us already)
process.stderr.write("not stopped by the signal\n");

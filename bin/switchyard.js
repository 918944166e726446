#!/usr/bin/env node
// Launcher for the `switchyard` command: runs the compiled CLI from dist/
// (built by `npm run build`, which `npm install` runs through `prepare`).
import { existsSync } from "node:fs";
import { availableParallelism } from "node:os";

const dist = (path) => new URL(`../dist/cli/${path}`, import.meta.url);

if (!existsSync(dist("main.js"))) {
  process.stderr.write("switchyard: dist/cli/main.js is missing; run `npm run build` first\n");
  process.exit(1);
}

// `switchyard proxy` restarts itself in place (same pid and stdio) with the V8
// settings of src/cli/v8-flags.ts that the user did not choose, where Node can
// (process.execve: Node 22.15+ on POSIX); elsewhere it runs as started. Under
// a debugger (--inspect and kin) it runs as started too: the restart would cut
// the session, and --inspect-brk would stop a second time on a new port.
// Other commands load none of this.
if (process.argv[2] === "proxy") {
  const { LAUNCH_FLAGS_ENV, launchFlags } = await import(dist("v8-flags.js").href);
  // Set for this run only: a value inherited from a parent is not this launcher's.
  delete process.env[LAUNCH_FLAGS_ENV];
  const restartable = typeof process.execve === "function";
  const debugged =
    restartable && process.features.inspector && (await import("node:inspector")).url() !== undefined;
  const flags =
    restartable && !debugged
      ? launchFlags(availableParallelism(), process.execArgv, process.env.NODE_OPTIONS)
      : [];
  if (flags.length > 0) {
    process.env[LAUNCH_FLAGS_ENV] = flags.join(" ");
    try {
      process.execve(process.execPath, [
        process.execPath,
        ...flags,
        ...process.execArgv,
        ...process.argv.slice(1),
      ]);
    } catch {
      // execve(2) failed and left this process as it was: run with Node's defaults.
      delete process.env[LAUNCH_FLAGS_ENV];
    }
  }
}

const { main } = await import(dist("main.js").href);
await main(process.argv);

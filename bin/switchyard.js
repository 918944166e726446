#!/usr/bin/env node
// Launcher for the `switchyard` command: runs the compiled CLI from dist/
// (built by `npm run build`, which `npm install` runs through `prepare`).
import { existsSync } from "node:fs";
import { YOUNG_GENERATION_CAP, youngGenerationChosen } from "./young-generation.js";

// `switchyard proxy` restarts itself in place (same pid and stdio) with the
// young generation capped, where Node can (process.execve: Node 22.15+ on
// POSIX) and the user sized it no other way; elsewhere it runs as started.
if (
  process.argv[2] === "proxy" &&
  typeof process.execve === "function" &&
  !youngGenerationChosen(process.execArgv, process.env.NODE_OPTIONS)
) {
  try {
    process.execve(process.execPath, [
      process.execPath,
      YOUNG_GENERATION_CAP,
      ...process.execArgv,
      ...process.argv.slice(1),
    ]);
  } catch {
    // execve(2) failed and left this process as it was: run uncapped.
  }
}

const entry = new URL("../dist/cli/main.js", import.meta.url);

if (!existsSync(entry)) {
  process.stderr.write("switchyard: dist/cli/main.js is missing; run `npm run build` first\n");
  process.exit(1);
}

const { main } = await import(entry.href);
await main(process.argv);

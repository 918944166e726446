#!/usr/bin/env node
// Launcher for the `switchyard` command: runs the compiled CLI from dist/
// (built by `npm run build`, which `npm install` runs through `prepare`).
import { existsSync } from "node:fs";

const entry = new URL("../dist/cli/main.js", import.meta.url);

if (!existsSync(entry)) {
  process.stderr.write("switchyard: dist/cli/main.js is missing; run `npm run build` first\n");
  process.exit(1);
}

const { main } = await import(entry.href);
await main(process.argv);

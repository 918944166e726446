/**
 * Bundles the live dashboard (src/dashboard) with esbuild into
 * dist/dashboard: index.html, app.js (Preact, uPlot and our code, minified)
 * and app.css (uPlot's stylesheet and ours). Everything the page needs is in
 * those three files, so it works offline and behind any firewall. `npm run
 * build` runs this after tsc; tests call `buildDashboard()` directly.
 */
import { copyFile, mkdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { build } from "esbuild";

const root = new URL("../", import.meta.url);
const source = fileURLToPath(new URL("src/dashboard/", root));

/** dist/dashboard at the package root, where the admin server looks by default. */
export const DEFAULT_DASHBOARD_OUT_DIR = fileURLToPath(new URL("dist/dashboard/", root));

/** Builds the dashboard into `outDir`; resolves with each file's size in bytes. */
export async function buildDashboard({ outDir = DEFAULT_DASHBOARD_OUT_DIR } = {}) {
  await mkdir(outDir, { recursive: true });
  await build({
    entryPoints: { app: join(source, "main.tsx") },
    outdir: outDir,
    bundle: true,
    format: "esm",
    // Browsers of the last few years; nothing to polyfill.
    target: ["chrome111", "firefox111", "safari16"],
    minify: true,
    jsx: "automatic",
    jsxImportSource: "preact",
    legalComments: "eof",
    logLevel: "warning",
  });
  await copyFile(join(source, "index.html"), join(outDir, "index.html"));
  const sizes = {};
  for (const file of ["index.html", "app.js", "app.css"]) sizes[file] = (await stat(join(outDir, file))).size;
  return sizes;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const sizes = await buildDashboard();
  const list = Object.entries(sizes).map(([file, size]) => `${file} ${(size / 1024).toFixed(1)} KiB`);
  process.stdout.write(`dashboard built: ${list.join(", ")}\n`);
}

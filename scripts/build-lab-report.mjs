/**
 * Bundles the lab report's chart script (src/lab/report-page) with esbuild
 * into dist/lab-report: report.js (uPlot and our code, minified, one IIFE)
 * and report.css (uPlot's stylesheet and ours). `lab simulate` inlines both
 * into report.html, so the report is one file and the published package
 * needs no uPlot at run time. `npm run build` runs this after tsc.
 */
import { stat } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { build } from "esbuild";

const root = new URL("../", import.meta.url);

/** dist/lab-report at the package root, where html-report.ts looks. */
export const LAB_REPORT_OUT_DIR = fileURLToPath(new URL("dist/lab-report/", root));

/** Builds the chart script into `outDir`; resolves with each file's size in bytes. */
export async function buildLabReport({ outDir = LAB_REPORT_OUT_DIR } = {}) {
  await build({
    entryPoints: { report: fileURLToPath(new URL("src/lab/report-page/charts.ts", root)) },
    outdir: outDir,
    bundle: true,
    format: "iife",
    target: ["chrome111", "firefox111", "safari16"],
    minify: true,
    legalComments: "eof",
    logLevel: "warning",
  });
  const sizes = {};
  for (const file of ["report.js", "report.css"]) sizes[file] = (await stat(join(outDir, file))).size;
  return sizes;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const sizes = await buildLabReport();
  const list = Object.entries(sizes).map(([file, size]) => `${file} ${(size / 1024).toFixed(1)} KiB`);
  process.stdout.write(`lab report built: ${list.join(", ")}\n`);
}

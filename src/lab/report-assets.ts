/**
 * The chart script and stylesheet the HTML report inlines, built by `npm run
 * build` (scripts/build-lab-report.mjs) into dist/lab-report: uPlot is a
 * build-time dependency only, so the published package reads its bundle,
 * never node_modules.
 */
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { ErrorCodes, SwitchyardError } from "../core/errors.js";

export interface ReportAssets {
  script: string;
  style: string;
}

/** dist/lab-report at the package root: two levels above this module in both src/lab and dist/lab. */
const DEFAULT_DIR = new URL("../../dist/lab-report/", import.meta.url);

export async function loadReportAssets(dir: URL = DEFAULT_DIR): Promise<ReportAssets> {
  try {
    const [script, style] = await Promise.all([
      readFile(new URL("report.js", dir), "utf8"),
      readFile(new URL("report.css", dir), "utf8"),
    ]);
    return { script, style };
  } catch {
    const directory = fileURLToPath(dir);
    throw new SwitchyardError(
      ErrorCodes.NOT_FOUND,
      `lab report charts are not built in ${directory}: run npm run build`,
      { directory },
    );
  }
}

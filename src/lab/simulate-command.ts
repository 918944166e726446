/**
 * `switchyard lab simulate`: runs a scenario (or every scenario) under the
 * chosen algorithms, prints the comparison table or JSON, and with `out`
 * writes `results.json` and `report.html` into that directory. Options arrive
 * as the CLI parsed them (strings for numbers are accepted) and are validated
 * here, so a bad flag gets an error naming it.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { ErrorCodes, SwitchyardError } from "../core/errors.js";
import { compareAlgorithms, DEFAULT_SEED, parseAlgorithmList } from "./compare.js";
import { renderHtmlReport } from "./html-report.js";
import { loadReportAssets } from "./report-assets.js";
import type { SimulationResult } from "./run-results.js";
import { getScenario, listScenarios } from "./scenarios.js";
import { formatTable } from "./table.js";

export interface LabSimulateOptions {
  /** A built-in scenario name, or "all". */
  scenario: string;
  /** "all" (default) or names separated by commas. */
  algorithms?: string;
  requests?: number | string;
  seed?: number | string;
  /** Print the results as JSON instead of the table. */
  json?: boolean;
  /** Directory to write results.json and report.html into (created if missing). */
  out?: string;
}

export interface LabIo {
  stdout: { write(text: string): unknown };
  /** Progress goes here, on one rewritten line, when it is a terminal. */
  stderr: { write(text: string): unknown; isTTY?: boolean };
}

const optionsSchema = z.object({
  scenario: z.string().min(1),
  algorithms: z.string().default("all"),
  requests: z.coerce.number().int().min(1).max(50_000_000).optional(),
  seed: z.coerce.number().int().min(0).max(0xffffffff).default(DEFAULT_SEED),
  json: z.boolean().default(false),
  out: z.string().min(1).optional(),
});

export async function runLabSimulate(
  options: LabSimulateOptions,
  io: LabIo = { stdout: process.stdout, stderr: process.stderr },
): Promise<SimulationResult[]> {
  const parsed = optionsSchema.safeParse(options);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `--${issue.path.join(".")}: ${issue.message}`);
    throw new SwitchyardError(ErrorCodes.INVALID_OPTIONS, `lab simulate: ${problems.join("; ")}`, {
      issues: parsed.error.issues,
    });
  }
  const { scenario, algorithms, requests, seed, json, out } = parsed.data;
  const scenarios = scenario === "all" ? listScenarios().map((s) => s.name) : [getScenario(scenario).name];
  const names = parseAlgorithmList(algorithms);
  const everyAlgorithm = algorithms.trim() === "all" || algorithms.trim() === "";
  const skipped = new Set<string>();
  const started = performance.now();
  const results: SimulationResult[] = [];
  const progress = io.stderr.isTTY === true;
  for (const [scenarioIndex, name] of scenarios.entries()) {
    results.push(
      ...compareAlgorithms(name, names, {
        requests,
        seed,
        // On a terminal, one line that says what is running (a full run takes a while); erased at the end.
        onRun: progress
          ? (algorithm, index, count) =>
              io.stderr.write(
                `\r\u001b[2Kscenario ${scenarioIndex + 1}/${scenarios.length} ${name}: ${algorithm} (${index + 1}/${count})`,
              )
          : undefined,
        // Listing everything may include algorithms that need configuration: skip those, say so.
        onSkip: everyAlgorithm
          ? (algorithm, error) => {
              if (skipped.has(algorithm)) return;
              skipped.add(algorithm);
              io.stderr.write(`skipped ${algorithm}: ${error.message}\n`);
            }
          : undefined,
      }),
    );
  }
  if (progress) io.stderr.write("\r\u001b[2K");
  const seconds = (performance.now() - started) / 1000;

  if (json) io.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
  else {
    io.stdout.write(formatTable(results));
    const simulated = results.reduce((total, r) => total + r.requests, 0);
    io.stdout.write(
      `\n${results.length} runs, ${simulated} simulated requests in ${seconds.toFixed(2)} s ` +
        `(${Math.round(simulated / Math.max(seconds, 1e-9))} requests/s of simulation)\n`,
    );
  }
  if (out) {
    await mkdir(out, { recursive: true });
    await writeFile(join(out, "results.json"), `${JSON.stringify(results, null, 2)}\n`);
    await writeFile(join(out, "report.html"), renderHtmlReport(results, await loadReportAssets()));
    (json ? io.stderr : io.stdout).write(
      `wrote ${join(out, "results.json")} and ${join(out, "report.html")}\n`,
    );
  }
  return results;
}

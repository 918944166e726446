/**
 * `switchyard lab simulate`: hands the parsed flags to the load lab's
 * `runLabSimulate`, which validates them, runs the scenarios, prints the
 * table or JSON and writes the report files. The lab (simulator, scenarios,
 * report renderer) loads only when this command runs. A bad flag value, an
 * unknown scenario or an unknown algorithm is a usage error: one
 * `error SY_ERR_…` line and exit 2.
 */
import { ErrorCodes } from "../core/errors.js";
import { withUsageErrors } from "./arguments.js";

/** The options of `switchyard lab simulate`, as commander parsed them (numbers still text). */
export interface LabSimulateCliOptions {
  scenario: string;
  algorithms: string;
  requests?: string;
  seed: number | string;
  json?: boolean;
  out?: string;
}

/** Coded errors from the lab that mean "what you typed is wrong". */
const USAGE_CODES = [ErrorCodes.INVALID_OPTIONS, ErrorCodes.UNKNOWN_ALGORITHM] as const;

export async function labSimulateCommand(options: LabSimulateCliOptions): Promise<void> {
  const { runLabSimulate } = await import("../lab/index.js");
  await withUsageErrors(USAGE_CODES, () =>
    runLabSimulate({
      scenario: options.scenario,
      algorithms: options.algorithms,
      requests: options.requests,
      seed: options.seed,
      json: options.json,
      out: options.out,
    }),
  );
}

/**
 * Argument parsers shared by the command definitions (commander calls them
 * with each raw value and turns an `InvalidArgumentError` into a usage error,
 * exit 2), and `UsageError`: a coded error from a command's own validation
 * that the CLI reports as a usage error too, rather than a runtime failure.
 */
import { availableParallelism } from "node:os";
import { InvalidArgumentError } from "commander";
import { parseListenAddress } from "../config/schema.js";
import { type ErrorCode, isSwitchyardError, SwitchyardError } from "../core/errors.js";

/** Accumulates a repeatable option whose values may also be comma-separated. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [
    ...(previous ?? []),
    ...value
      .split(",")
      .map((item) => item.trim())
      .filter(Boolean),
  ];
}

export function listenArgument(value: string): { host: string; port: number } {
  const parsed = parseListenAddress(value);
  if (!parsed) throw new InvalidArgumentError('expected "host:port" with a port from 0 to 65535.');
  return parsed;
}

export function integerArgument(min: number, max: number): (value: string) => number {
  return (value) => {
    const number = Number(value);
    if (value.trim() === "" || !Number.isInteger(number) || number < min || number > max) {
      throw new InvalidArgumentError(`expected a whole number from ${min} to ${max}.`);
    }
    return number;
  };
}

/** A comma-separated list of ports from 1 to 65535. */
export function portListArgument(value: string): number[] {
  const port = integerArgument(1, 65_535);
  return value.split(",").map((item) => {
    try {
      return port(item.trim());
    } catch {
      throw new InvalidArgumentError(`expected ports from 1 to 65535, comma-separated; found "${item}".`);
    }
  });
}

/** `--workers N|auto`: a worker count, `auto` being one per CPU core. */
export function workersArgument(value: string): number {
  if (value.trim() === "auto") return availableParallelism();
  return integerArgument(1, MAX_WORKERS)(value);
}

export const MAX_WORKERS = 256;

export function rateArgument(value: string): number {
  const number = Number(value);
  if (value.trim() === "" || !Number.isFinite(number) || number < 0 || number > 1) {
    throw new InvalidArgumentError("expected a number from 0 to 1.");
  }
  return number;
}

/** A coded error caused by what the user typed; `reportError` exits 2 for it. */
export class UsageError extends SwitchyardError {
  constructor(code: ErrorCode, message: string, details?: Record<string, unknown>) {
    super(code, message, details);
    this.name = "UsageError";
  }
}

/**
 * Runs `action`; a coded error with one of `codes` is rethrown as a
 * `UsageError` (same code, message and details), anything else unchanged.
 */
export async function withUsageErrors<T>(codes: readonly ErrorCode[], action: () => Promise<T>): Promise<T> {
  try {
    return await action();
  } catch (error) {
    if (isSwitchyardError(error) && codes.includes(error.code) && !(error instanceof UsageError)) {
      throw new UsageError(error.code, error.message, error.details);
    }
    throw error;
  }
}

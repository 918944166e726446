/**
 * The CLI's logger: pino, as JSON lines (what log shippers read) or, for a
 * person at a terminal, as pino-pretty's coloured text. `auto` (the default)
 * picks pretty when stdout is a TTY. Level and format default to
 * SWITCHYARD_LOG_LEVEL and SWITCHYARD_LOG_FORMAT.
 */
import { type Logger, pino } from "pino";
import pretty from "pino-pretty";
import { ErrorCodes, SwitchyardError } from "../core/errors.js";
import { LOG_FORMATS, type LogFormat } from "./log-format.js";

export interface LoggerOptions {
  level?: string;
  format?: LogFormat;
  /** Where pretty text goes, and whose TTY-ness `auto` asks; default stdout. */
  output?: NodeJS.WritableStream & { isTTY?: boolean };
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? process.env.SWITCHYARD_LOG_LEVEL ?? "info";
  const format = options.format ?? formatFromEnv() ?? "auto";
  const output = options.output ?? process.stdout;
  const usePretty = format === "pretty" || (format === "auto" && output.isTTY === true);
  if (!usePretty) {
    const settings = { name: "switchyard", level };
    return options.output === undefined ? pino(settings) : pino(settings, options.output);
  }
  return pino(
    { name: "switchyard", level },
    pretty({
      destination: output,
      colorize: output.isTTY === true,
      sync: true,
      translateTime: "SYS:HH:MM:ss.l",
      ignore: "pid,hostname,name",
    }),
  );
}

function formatFromEnv(): LogFormat | undefined {
  const value = process.env.SWITCHYARD_LOG_FORMAT?.trim();
  if (!value) return undefined;
  const format = LOG_FORMATS.find((known) => known === value);
  if (format === undefined) {
    throw new SwitchyardError(
      ErrorCodes.CONFIG,
      `SWITCHYARD_LOG_FORMAT: expected ${LOG_FORMATS.join(", ")}, got ${JSON.stringify(value)}`,
    );
  }
  return format;
}

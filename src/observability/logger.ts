/**
 * Structured logging (pino, JSON lines). Components take a logger and default
 * to a silent one, so the library stays quiet unless the host asks otherwise.
 */
import { type Logger, pino } from "pino";

export type { Logger };

export function createLogger(level: string = process.env.SWITCHYARD_LOG_LEVEL ?? "info"): Logger {
  return pino({ name: "switchyard", level });
}

export const silentLogger: Logger = pino({ level: "silent" });

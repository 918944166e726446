/** The CLI's logger: pino, JSON lines, level from the argument or SWITCHYARD_LOG_LEVEL. */
import { type Logger, pino } from "pino";

export function createLogger(level: string = process.env.SWITCHYARD_LOG_LEVEL ?? "info"): Logger {
  return pino({ name: "switchyard", level });
}

/**
 * Structured logging. Components take a pino-shaped `Logger` and default to
 * `silentLogger`, so the library stays quiet unless the host asks otherwise.
 * The silent one is a plain object: the engine and the client dispatcher
 * never load pino (the CLI builds real loggers with create-logger.ts).
 */
import type { Logger } from "pino";

export type { Logger };

const drop = (): void => {};

/** A logger that drops every record; its children are new silent loggers. */
function silent(): Logger {
  const logger = {
    level: "silent",
    fatal: drop,
    error: drop,
    warn: drop,
    info: drop,
    debug: drop,
    trace: drop,
    silent: drop,
    child: silent,
    isLevelEnabled: () => false,
  };
  // The members components call; pino's other members are never used on a default logger.
  return logger as unknown as Logger;
}

export const silentLogger: Logger = silent();

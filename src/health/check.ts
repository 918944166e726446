/**
 * The one interface every active check kind implements (HTTP, TCP connect,
 * command, custom function), and the factory that builds the configured one.
 * A check answers one question for one backend — does it pass right now? —
 * and leaves counting, thresholds and scheduling to the checker.
 */
import type { Backend } from "../core/backend.js";
import { ErrorCodes, SwitchyardError } from "../core/errors.js";
import { CommandHealthCheck } from "./command-check.js";
import { CustomFunctionCheck } from "./custom-check.js";
import type { CustomHealthCheck, HealthCheckSettings } from "./health-options.js";
import { HttpHealthCheck } from "./http-check.js";
import { TcpHealthCheck } from "./tcp-check.js";

export interface CheckOutcome {
  ok: boolean;
  /** What was seen, for logs and stats: `HTTP 503`, `ECONNREFUSED`, `exit 1`. */
  detail?: string;
}

export interface HealthCheck {
  /** `http`, `tcp`, `command` or `custom`. */
  readonly kind: string;
  /**
   * Checks `backend` once. `signal` aborts at the timeout or when checking
   * stops; a thrown error counts as a failed check.
   */
  check(backend: Backend, signal: AbortSignal): Promise<CheckOutcome>;
  /** Frees what is held for `backend` (it left the pool). */
  release?(backend: Backend): void;
  /** Frees everything (checking stopped). */
  close?(): Promise<void>;
}

/** Builds the check `settings` describe; a custom function wins over `type`. */
export function createHealthCheck(settings: HealthCheckSettings, custom?: CustomHealthCheck): HealthCheck {
  if (custom) return new CustomFunctionCheck(custom);
  switch (settings.type) {
    case "http":
      return new HttpHealthCheck(settings);
    case "tcp":
      return new TcpHealthCheck();
    case "command":
      if (settings.command === undefined) {
        throw new SwitchyardError(ErrorCodes.INVALID_OPTIONS, 'a "command" health check needs a command', {
          type: settings.type,
        });
      }
      return new CommandHealthCheck(settings.command);
  }
}

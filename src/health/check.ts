/**
 * The one interface every active check kind implements (HTTP, TCP connect, gRPC,
 * command, custom function); check-factory.ts builds the configured one. A
 * check answers one question for one backend — does it pass right now? —
 * and leaves counting, thresholds and scheduling to the checker.
 */
import type { Backend } from "../core/backend.js";

export interface CheckOutcome {
  ok: boolean;
  /** What was seen, for logs and stats: `HTTP 503`, `ECONNREFUSED`, `exit 1`. */
  detail?: string;
}

export interface HealthCheck {
  /** `http`, `tcp`, `grpc`, `command` or `custom`. */
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

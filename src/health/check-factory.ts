/**
 * Builds the active check a pool's settings ask for: HTTP, TCP connect, a
 * gRPC health call, a command, or the library user's own function. Kept apart from the
 * interface (check.ts) so the check kinds import the interface without a
 * cycle through the factory.
 */
import type { BackendProtocol } from "../core/backend.js";
import { ErrorCodes, SwitchyardError } from "../core/errors.js";
import type { UpstreamTls } from "../core/upstream-tls.js";
import type { HealthCheck } from "./check.js";
import { CommandHealthCheck } from "./command-check.js";
import { CustomFunctionCheck } from "./custom-check.js";
import { GrpcHealthCheck } from "./grpc-check.js";
import type { CustomHealthCheck, HealthCheckSettings } from "./health-options.js";
import { HttpHealthCheck } from "./http-check.js";
import { TcpHealthCheck } from "./tcp-check.js";

/**
 * Builds the check `settings` describe; a custom function wins over `type`.
 * HTTP, TCP and gRPC checks reach `https://` backends over TLS with `backendTls`;
 * HTTP checks speak the pool's `backendProtocol` (gRPC checks always speak HTTP/2).
 */
export function createHealthCheck(
  settings: HealthCheckSettings,
  backendTls: UpstreamTls,
  backendProtocol: BackendProtocol,
  custom?: CustomHealthCheck,
): HealthCheck {
  if (custom) return new CustomFunctionCheck(custom);
  switch (settings.type) {
    case "http":
      return new HttpHealthCheck(settings, backendTls, backendProtocol);
    case "tcp":
      return new TcpHealthCheck(backendTls);
    case "grpc":
      return new GrpcHealthCheck(settings.service, backendTls, settings.timeoutMs);
    case "command":
      if (settings.command === undefined) {
        throw new SwitchyardError(ErrorCodes.INVALID_OPTIONS, 'a "command" health check needs a command', {
          type: settings.type,
        });
      }
      return new CommandHealthCheck(settings.command);
  }
}

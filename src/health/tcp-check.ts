/**
 * TCP connect check: passes when a connection to the backend's host and port
 * is established, then closes it at once. Fits TCP listeners and any backend
 * without an HTTP health endpoint.
 */
import net from "node:net";
import type { Backend } from "../core/backend.js";
import type { CheckOutcome, HealthCheck } from "./check.js";

export class TcpHealthCheck implements HealthCheck {
  readonly kind = "tcp";

  check(backend: Backend, signal: AbortSignal): Promise<CheckOutcome> {
    return new Promise((resolve) => {
      const socket = net.connect({ host: backend.host, port: backend.port });
      const finish = (outcome: CheckOutcome) => {
        signal.removeEventListener("abort", onAbort);
        socket.destroy();
        resolve(outcome);
      };
      const onAbort = () => finish({ ok: false, detail: "connect timed out" });
      if (signal.aborted) return onAbort();
      signal.addEventListener("abort", onAbort, { once: true });
      socket.once("connect", () => finish({ ok: true, detail: "connected" }));
      socket.once("error", (error: NodeJS.ErrnoException) =>
        finish({ ok: false, detail: error.code ?? error.message }),
      );
    });
  }
}

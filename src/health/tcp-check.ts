/**
 * TCP connect check: passes when a connection to the backend's host and port
 * is established, then closes it at once. Fits TCP listeners and any backend
 * without an HTTP health endpoint. For an `https://` backend the TLS
 * handshake must complete too, certificate verification included.
 */
import type { Backend } from "../core/backend.js";
import { dialBackend, tlsConnectOptions, type UpstreamTls } from "../core/upstream-tls.js";
import type { CheckOutcome, HealthCheck } from "./check.js";

export class TcpHealthCheck implements HealthCheck {
  readonly kind = "tcp";
  #tls: UpstreamTls;

  constructor(tlsSettings: UpstreamTls) {
    this.#tls = tlsSettings;
  }

  check(backend: Backend, signal: AbortSignal): Promise<CheckOutcome> {
    return new Promise((resolve) => {
      const { socket, ready } = dialBackend(
        backend.host,
        backend.port,
        tlsConnectOptions(backend, this.#tls),
      );
      const finish = (outcome: CheckOutcome) => {
        signal.removeEventListener("abort", onAbort);
        socket.destroy();
        resolve(outcome);
      };
      const onAbort = () => finish({ ok: false, detail: "connect timed out" });
      if (signal.aborted) return onAbort();
      signal.addEventListener("abort", onAbort, { once: true });
      socket.once(ready, () =>
        finish({ ok: true, detail: ready === "secureConnect" ? "TLS handshake done" : "connected" }),
      );
      socket.once("error", (error: NodeJS.ErrnoException) =>
        finish({ ok: false, detail: error.code ?? error.message }),
      );
    });
  }
}

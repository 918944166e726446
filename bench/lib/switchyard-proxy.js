/**
 * Switchyard's HttpProxy in its own process, balancing over the one bench
 * upstream (port in argv[2]) with round-robin. Reports its port. With
 * argv[3] = "no-metrics" the balancer records nothing (the metrics-cost baseline).
 */
import { failStartup, serveParent } from "./child-ipc.js";

const upstreamPort = Number(process.argv[2]);

async function main() {
  const { createBalancer } = await import("../../dist/index.js");
  const { HttpProxy } = await import("../../dist/proxy/http-proxy.js");
  const balancer = createBalancer({
    backends: [{ id: "bench-backend", address: `127.0.0.1:${upstreamPort}`, weight: 1 }],
    algorithm: "round-robin",
    metrics: process.argv[3] === "no-metrics" ? false : undefined,
  });
  const proxy = new HttpProxy({ balancer, host: "127.0.0.1", port: 0 });
  const parent = serveParent({ onStop: () => proxy.close() });
  const address = await proxy.listen();
  parent.ready({ host: address.host, port: address.port });
}

main().catch(failStartup);

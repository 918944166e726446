/**
 * Switchyard's HttpProxy in its own process, balancing over the one bench
 * upstream (port in argv[2]) with round-robin. Reports its port. argv[3]:
 * "no-metrics" makes the balancer record nothing (the metrics-cost baseline);
 * "tcp" runs a TcpProxy (raw TCP tunnels) in place of the HttpProxy.
 */
import { failStartup, serveParent } from "./child-ipc.js";

const upstreamPort = Number(process.argv[2]);
const mode = process.argv[3];

async function main() {
  const { createBalancer } = await import("../../dist/index.js");
  const balancer = createBalancer({
    backends: [{ id: "bench-backend", address: `127.0.0.1:${upstreamPort}`, weight: 1 }],
    algorithm: "round-robin",
    metrics: mode === "no-metrics" ? false : undefined,
  });
  const { HttpProxy } = await import("../../dist/proxy/http-proxy.js");
  const { TcpProxy } = await import("../../dist/proxy/tcp-proxy.js");
  const Listener = mode === "tcp" ? TcpProxy : HttpProxy;
  const proxy = new Listener({ balancer, host: "127.0.0.1", port: 0 });
  const parent = serveParent({ onStop: () => proxy.close() });
  const address = await proxy.listen();
  parent.ready({ host: address.host, port: address.port });
}

main().catch(failStartup);

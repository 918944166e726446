/**
 * Switchyard's HttpProxy for the live A/B, in its own process: the algorithm
 * and upstream ports come as argv[2] JSON `{ algorithm, ports }`. Reports its
 * port. Prequal probes the demo backends over HTTP, as it would in production.
 */
import { failStartup, serveParent } from "./child-ipc.js";

async function main() {
  const { algorithm, ports } = JSON.parse(process.argv[2]);
  const { createBalancer } = await import("../../dist/index.js");
  const { HttpProxy } = await import("../../dist/proxy/http-proxy.js");
  const balancer = createBalancer({
    backends: ports.map((port, i) => ({ id: `b${i}`, address: `127.0.0.1:${port}` })),
    algorithm,
  });
  const proxy = new HttpProxy({ balancer, host: "127.0.0.1", port: 0 });
  const parent = serveParent({ onStop: () => Promise.all([proxy.close(), balancer.stop()]) });
  const address = await proxy.listen();
  parent.ready({ host: address.host, port: address.port });
}

main().catch(failStartup);

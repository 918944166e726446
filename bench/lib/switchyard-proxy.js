/**
 * Switchyard's HttpProxy in its own process, balancing over the one bench
 * upstream (port in argv[2]) with round-robin. Reports its port. Further
 * arguments: "no-metrics" makes the balancer record nothing (the metrics-cost
 * baseline); "tcp" runs a TcpProxy (raw TCP tunnels) in place of the
 * HttpProxy; "--tls CERT KEY" makes the listener terminate TLS with that
 * certificate (HTTP/2 offered by ALPN, as by default).
 */
import { failStartup, serveParent } from "./child-ipc.js";

const upstreamPort = Number(process.argv[2]);
const flags = process.argv.slice(3);
const tlsAt = flags.indexOf("--tls");

async function main() {
  const { createBalancer } = await import("../../dist/index.js");
  const { HttpProxy } = await import("../../dist/proxy/http-proxy.js");
  const { TcpProxy } = await import("../../dist/proxy/tcp-proxy.js");
  const { TlsCertificates } = await import("../../dist/proxy/tls-certificates.js");
  const balancer = createBalancer({
    backends: [{ id: "bench-backend", address: `127.0.0.1:${upstreamPort}`, weight: 1 }],
    algorithm: "round-robin",
    metrics: flags.includes("no-metrics") ? false : undefined,
  });
  const tls =
    tlsAt === -1
      ? undefined
      : { certificates: await TlsCertificates.load([{ cert: flags[tlsAt + 1], key: flags[tlsAt + 2] }]) };
  const proxy = flags.includes("tcp")
    ? new TcpProxy({ balancer, host: "127.0.0.1", port: 0 })
    : new HttpProxy({ balancer, host: "127.0.0.1", port: 0, tls });
  const parent = serveParent({ onStop: () => proxy.close() });
  const address = await proxy.listen();
  parent.ready({ host: address.host, port: address.port });
}

main().catch(failStartup);

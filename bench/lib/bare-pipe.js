/**
 * The TCP reference for bench/proxy.js: a bare Node `net` server that pipes
 * each client connection to the bench upstream (port in argv[2]) and back,
 * nothing else. Reports its port.
 */
import net from "node:net";
import { failStartup, serveParent } from "./child-ipc.js";

const upstreamPort = Number(process.argv[2]);

const server = net.createServer({ noDelay: true }, (client) => {
  const upstream = net.connect({ host: "127.0.0.1", port: upstreamPort, noDelay: true });
  client.pipe(upstream);
  upstream.pipe(client);
  client.on("error", () => upstream.destroy());
  upstream.on("error", () => client.destroy());
  client.on("close", () => upstream.destroy());
  upstream.on("close", () => client.destroy());
});

const parent = serveParent({ onStop: () => new Promise((resolve) => server.close(resolve)) });
server.on("error", failStartup);
server.listen(0, "127.0.0.1", () => parent.ready({ host: "127.0.0.1", port: server.address().port }));

/**
 * The upstream for bench/proxy.js: a minimal node:http server answering every
 * request with 200 "ok\n" over keep-alive. Started as a child; reports its port.
 */
import http from "node:http";
import { failStartup, serveParent } from "./child-ipc.js";

const BODY = Buffer.from("ok\n");
const HEADERS = { "content-type": "text/plain", "content-length": String(BODY.length) };

const server = http.createServer((req, res) => {
  req.resume();
  res.writeHead(200, HEADERS);
  res.end(BODY);
});
server.keepAliveTimeout = 120_000;
server.headersTimeout = 125_000;
server.maxHeadersCount = 100;

const parent = serveParent({
  onStop: () =>
    new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
});

server.on("error", failStartup);
server.listen(0, "127.0.0.1", () => {
  parent.ready({ host: "127.0.0.1", port: server.address().port, kind: "node:http" });
});

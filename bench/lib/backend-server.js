/**
 * The upstream for bench/proxy.js and bench/dispatcher.js: a minimal node:http
 * server answering every request with 200 "ok\n" over keep-alive, after
 * `--delay-ms N` when given (a slow backend). Started as a child; reports its port.
 */
import http from "node:http";
import { failStartup, serveParent } from "./child-ipc.js";

const BODY = Buffer.from("ok\n");
const HEADERS = { "content-type": "text/plain", "content-length": String(BODY.length) };

const delayArg = process.argv.indexOf("--delay-ms");
const DELAY_MS = delayArg === -1 ? 0 : Number(process.argv[delayArg + 1]);

function answer(res) {
  res.writeHead(200, HEADERS);
  res.end(BODY);
}

const server = http.createServer((req, res) => {
  req.resume();
  if (DELAY_MS > 0) setTimeout(answer, DELAY_MS, res);
  else answer(res);
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

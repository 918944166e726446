/**
 * The minimal Node reverse proxy of BENCHMARKS.md: a node:http server whose
 * requests are streamed to one upstream through an undici Pool, and whose
 * responses are streamed back. Hop-by-hop headers are dropped both ways;
 * nothing else (no routing, no retries, no metrics). Started as a child with
 * the upstream port in argv[2]; reports its own port.
 */
import http from "node:http";
import { Pool } from "undici";
import { failStartup, serveParent } from "./child-ipc.js";

const upstreamPort = Number(process.argv[2]);
const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "te",
  "trailer",
  "upgrade",
  "expect",
]);

const pool = new Pool(`http://127.0.0.1:${upstreamPort}`, {
  connections: 256,
  pipelining: 1,
  keepAliveTimeout: 60_000,
});

function requestHeaders(raw) {
  const headers = [];
  for (let i = 0; i < raw.length; i += 2) {
    if (!HOP_BY_HOP.has(raw[i].toLowerCase())) headers.push(raw[i], raw[i + 1]);
  }
  return headers;
}

function responseHeaders(headers) {
  const out = {};
  for (const name in headers) {
    if (!HOP_BY_HOP.has(name)) out[name] = headers[name];
  }
  return out;
}

const server = http.createServer((req, res) => {
  const hasBody =
    req.headers["content-length"] !== undefined || req.headers["transfer-encoding"] !== undefined;
  if (!hasBody) req.resume();
  pool.stream(
    {
      path: req.url,
      method: req.method,
      headers: requestHeaders(req.rawHeaders),
      body: hasBody ? req : undefined,
    },
    ({ statusCode, headers }) => {
      res.writeHead(statusCode, responseHeaders(headers));
      return res;
    },
    (error) => {
      if (!error) return;
      if (!res.headersSent) {
        res.writeHead(502, { "content-type": "text/plain" });
        res.end("bad gateway\n");
      } else {
        res.destroy(error);
      }
    },
  );
});
server.keepAliveTimeout = 120_000;
server.headersTimeout = 125_000;

const parent = serveParent({
  onStop: async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(() => resolve()));
    await pool.close();
  },
});

server.on("error", failStartup);
server.listen(0, "127.0.0.1", () => {
  parent.ready({ host: "127.0.0.1", port: server.address().port });
});

/**
 * The upstream for bench/proxy.js, bench/memory.js and bench/dispatcher.js: a
 * minimal node:http server answering 200 "ok\n" over keep-alive, after
 * `--delay-ms N` when given (a slow backend). Two routes serve the memory
 * bench: `/discard` reads the request body, drops it, then answers "ok\n";
 * `/stream?bytes=N` streams N zero bytes as fast as the reader takes them.
 * Started as a child; reports its port.
 */
import http from "node:http";
import { failStartup, serveParent } from "./child-ipc.js";

const BODY = Buffer.from("ok\n");
const HEADERS = { "content-type": "text/plain", "content-length": String(BODY.length) };

/** One 64 KB chunk written over and over by `/stream`. */
const CHUNK = Buffer.alloc(64 * 1024);

/** Writes `bytes` zero bytes to `res`, waiting for 'drain' whenever it is full. */
function stream(res, bytes) {
  res.writeHead(200, { "content-type": "application/octet-stream", "content-length": String(bytes) });
  let left = bytes;
  const write = () => {
    while (left > 0) {
      const piece = left >= CHUNK.length ? CHUNK : CHUNK.subarray(0, left);
      left -= piece.length;
      if (!res.write(piece)) return void res.once("drain", write);
    }
    res.end();
  };
  res.on("close", () => {
    left = 0;
  });
  write();
}

const delayArg = process.argv.indexOf("--delay-ms");
const DELAY_MS = delayArg === -1 ? 0 : Number(process.argv[delayArg + 1]);

function answer(res) {
  res.writeHead(200, HEADERS);
  res.end(BODY);
}

const server = http.createServer((req, res) => {
  if (req.url === "/discard") {
    req.resume();
    req.on("end", () => {
      res.writeHead(200, HEADERS);
      res.end(BODY);
    });
    return;
  }
  if (req.url.startsWith("/stream?bytes=")) {
    req.resume();
    stream(res, Number(req.url.slice("/stream?bytes=".length)));
    return;
  }
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

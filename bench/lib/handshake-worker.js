/**
 * The new-connection load of bench/edge.js, in its own (pinnable) process:
 * `concurrency` loops, each opening a TLS connection with tls.connect (no
 * session passed in, so every handshake is a full one, never resumed),
 * sending one `GET /` with `Connection: close`, reading the answer until the
 * server closes, then opening the next, until `durationSec` is over. Answers
 * `run` requests with handshakes (= requests) per second, latency from
 * connect to the end of the answer, and the TLS versions negotiated.
 */
import tls from "node:tls";
import { serveParent } from "./child-ipc.js";
import { quantile } from "./stats.js";

/** One connection's bound: a handshake plus one tiny answer on loopback takes milliseconds. */
const CONNECTION_TIMEOUT_MS = 10_000;

function oneConnection(port, request) {
  return new Promise((resolve) => {
    const started = performance.now();
    const chunks = [];
    const socket = tls.connect({
      host: "127.0.0.1",
      port,
      rejectUnauthorized: false,
      ALPNProtocols: ["http/1.1"],
    });
    let settled = false;
    let protocol;
    const done = (outcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ outcome, ms: performance.now() - started, protocol });
    };
    const timer = setTimeout(() => done("timeout"), CONNECTION_TIMEOUT_MS);
    socket.once("secureConnect", () => {
      protocol = socket.getProtocol();
      socket.write(request);
    });
    socket.on("data", (chunk) => chunks.push(chunk));
    socket.once("end", () => {
      const statusLine = Buffer.concat(chunks).toString("latin1", 0, 12);
      done(statusLine === "HTTP/1.1 200" ? "ok" : "non2xx");
    });
    socket.once("error", () => done("error"));
  });
}

async function run({ port, concurrency, durationSec }) {
  const request = Buffer.from(`GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`);
  const latencies = [];
  const counts = { ok: 0, non2xx: 0, error: 0, timeout: 0 };
  const protocols = new Set();
  const started = performance.now();
  const deadline = started + durationSec * 1000;
  const loop = async () => {
    while (performance.now() < deadline) {
      const { outcome, ms, protocol } = await oneConnection(port, request);
      counts[outcome]++;
      if (protocol) protocols.add(protocol);
      if (outcome === "ok") latencies.push(ms);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, loop));
  const elapsed = (performance.now() - started) / 1000;
  return {
    requests: counts.ok + counts.non2xx + counts.error + counts.timeout,
    ok: counts.ok,
    rps: counts.ok / elapsed,
    p50: quantile(latencies, 0.5),
    p99: quantile(latencies, 0.99),
    mean: latencies.reduce((sum, ms) => sum + ms, 0) / latencies.length,
    non2xx: counts.non2xx,
    errors: counts.error,
    timeouts: counts.timeout,
    durationSec: elapsed,
    protocols: [...protocols],
  };
}

serveParent({ handlers: { run } }).ready();

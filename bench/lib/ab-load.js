/**
 * The live A/B's load generator, in its own process: open loop, requests
 * sent at a fixed rate whatever the answers do (a closed loop would slow
 * down with the proxy and hide its tail), each request's latency measured
 * from when it was due, not from when it went out (no coordinated omission).
 * Answers `run` with the latency quantiles, errors and each backend's share
 * (the demo backends name themselves in their JSON answers).
 */
import http from "node:http";
import { failStartup, serveParent } from "./child-ipc.js";
import { quantile } from "./stats.js";

/** A request not answered in this long is an error. */
const TIMEOUT_MS = 10_000;
/** How often due requests are sent. */
const TICK_MS = 2;

function send(agent, port, dueAt, record) {
  const req = http.get({ host: "127.0.0.1", port, path: "/work", agent }, (res) => {
    const chunks = [];
    res.on("data", (chunk) => chunks.push(chunk));
    res.on("end", () => {
      let backend = "?";
      try {
        backend = JSON.parse(Buffer.concat(chunks).toString()).backend ?? "?";
      } catch {}
      record(
        res.statusCode === 200 ? undefined : `HTTP ${res.statusCode}`,
        performance.now() - dueAt,
        backend,
      );
    });
    res.on("error", (error) => record(error.message, 0, "?"));
  });
  req.setTimeout(TIMEOUT_MS, () => req.destroy(new Error("timeout")));
  req.on("error", (error) => record(error.message, 0, "?"));
}

function run({ port, rate, durationMs }) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 2048 });
  const latencies = [];
  const shares = {};
  const errors = {};
  const total = Math.round((rate * durationMs) / 1000);
  let sent = 0;
  let done = 0;
  return new Promise((resolve) => {
    const record = (error, ms, backend) => {
      if (error) errors[error] = (errors[error] ?? 0) + 1;
      else {
        latencies.push(ms);
        shares[backend] = (shares[backend] ?? 0) + 1;
      }
      if (++done === total) {
        agent.destroy();
        resolve({
          requests: total,
          p50: quantile(latencies, 0.5),
          p99: quantile(latencies, 0.99),
          p999: quantile(latencies, 0.999),
          errors,
          shares,
        });
      }
    };
    const start = performance.now();
    const timer = setInterval(() => {
      const due = Math.min(total, Math.floor(((performance.now() - start) * rate) / 1000));
      for (; sent < due; sent++) send(agent, port, start + (sent * 1000) / rate, record);
      if (sent === total) clearInterval(timer);
    }, TICK_MS);
  });
}

async function main() {
  const parent = serveParent({ handlers: { run } });
  parent.ready({});
}

main().catch(failStartup);

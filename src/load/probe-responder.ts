/**
 * The server side of Prequal's load probes, for any node:http server: count
 * each request from arrival until its response closes (`track`), and answer
 * `GET /prequal-probe` with the requests in flight and the latency estimate
 * at that many (`answer`). Only the server knows these figures: a proxy sees
 * only its own share of the traffic, and the monitoring agent sees CPU,
 * memory and network, not requests. The demo backend uses it.
 *
 *   const probes = new ProbeResponder();
 *   http.createServer((req, res) => {
 *     if (probes.answer(req, res)) return;
 *     probes.track(res);
 *     // ... the application's own handling
 *   });
 */
import type http from "node:http";
import { LatencyByRif } from "../core/latency-by-rif.js";
import { DEFAULT_PROBE_PATH, type ProbeReply } from "../core/probe.js";

export class ProbeResponder {
  readonly path: string;
  /** Requests received and not yet answered. */
  #rif = 0;
  #latency = new LatencyByRif();

  constructor(path: string = DEFAULT_PROBE_PATH) {
    this.path = path;
  }

  /** Requests in flight now, and the latency a new one can expect, ms. */
  reply(): ProbeReply {
    return { rif: this.#rif, latencyMs: this.#latency.estimate(this.#rif, performance.now()) };
  }

  /** Answers `req` when it is a probe (true); leaves it alone otherwise (false). */
  answer(req: http.IncomingMessage, res: http.ServerResponse): boolean {
    const url = req.url ?? "";
    const query = url.indexOf("?");
    if ((query === -1 ? url : url.slice(0, query)) !== this.path) return false;
    const body = JSON.stringify(this.reply());
    res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
    res.end(body);
    return true;
  }

  /** Counts `res` in flight until it closes; an answered one files its latency under the RIF it arrived at. */
  track(res: http.ServerResponse): void {
    const arrivedAt = performance.now();
    const rifAtArrival = this.#rif++;
    res.once("close", () => {
      this.#rif--;
      if (res.writableFinished) {
        const now = performance.now();
        this.#latency.observe(rifAtArrival, now - arrivedAt, now);
      }
    });
  }
}

/**
 * The admin API of a cluster primary (`switchyard proxy --workers N`), on the
 * configured admin address. Each worker runs its own admin API on a private
 * 127.0.0.1 port; this one answers for the whole cluster:
 * - `/metrics`, `/api/stats`, `/api/performance` and the dashboard's live
 *   stream (`/api/events`, `/api/snapshot`) merge every worker's figures
 *   (one scrape, one view);
 *   the charts' five-minute history (`/api/history`) is sampled here, every
 *   second, from the merged `/api/stats`;
 *   `/ready` is ready when every running worker is.
 * - Writes (add, re-weight, enable, drain, switch algorithm) go to every
 *   worker, so all route alike; the answer is the first worker's, or the
 *   first refusal, with `x-switchyard-workers: applied/total`. Load tests
 *   (`/api/load-test`, `/api/stress-test`) start on the first worker only. When the
 *   pools live in etcd (`sharedStore`), a write goes to the first worker
 *   only: it writes etcd, which every worker follows.
 * - Everything else (status, config, explain, load tests, the dashboard's
 *   files) is the first worker's, streamed through; a load test
 *   started there drives the shared listeners, so it loads every worker.
 * - `?worker=N` on any path reads (or writes) that one worker alone.
 * Requests are checked for their Host first, as a single process's admin API
 * checks them (allowed-hosts.ts); the workers are asked on 127.0.0.1.
 *
 * Over 400 lines because it is one routing table of the admin API across
 * workers: each path's rule above is a few lines, and they read best together.
 */
import http, { type IncomingMessage, type ServerResponse } from "node:http";
import { pipeline } from "node:stream/promises";
import { request } from "undici";
import { AdminError } from "../admin/admin-errors.js";
import { AllowedHosts } from "../admin/allowed-hosts.js";
import type { ChartFigures } from "../admin/chart-history.js";
import { applyCors, type CorsOptions } from "../admin/cors.js";
import { sendEventStream } from "../admin/event-stream.js";
import { HistoryRecorder } from "../admin/history-routes.js";
import { readBody, sendError, sendJson } from "../admin/json-http.js";
import { LiveEvents } from "../admin/live-events.js";
import { ErrorCodes } from "../core/errors.js";
import { listenOn } from "../core/listen.js";
import type { Logger } from "../observability/logger.js";
import { isHopByHop } from "../proxy/forwarded-headers.js";
import { type MetricsJson, mergeWorkerMetrics } from "./metrics-merge.js";
import { mergeWorkerStats } from "./stats-merge.js";
import type { ClusterSupervisor, WorkerInfo } from "./supervisor.js";

export interface ClusterAdminOptions {
  supervisor: ClusterSupervisor;
  host: string;
  port: number;
  /** Host names answered besides localhost, IP addresses and `host` (`admin.allowedHosts`). */
  allowedHosts?: readonly string[];
  cors?: CorsOptions;
  logger: Logger;
  /** The pools live in a store every worker follows (etcd): a write is made once, and never replayed. */
  sharedStore?: boolean;
}

interface WorkerReply {
  worker: number;
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

interface Write {
  method: string;
  target: string;
  headers: Record<string, string>;
  body: Buffer;
}

const READ_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);
/** Writes kept for replay on a restarted worker; past this, older ones are dropped (and that is logged). */
const MAX_JOURNAL = 10_000;
/** Reads answered from every worker's figures; other reads are the first worker's. */
const MERGED_READS = ["/health", "/ready", "/metrics", "/api/stats", "/api/snapshot", "/api/performance"];

/** A worker that does not answer within this is left out of a merged read and fails a write. */
const WORKER_TIMEOUT_MS = 5_000;

export class ClusterAdmin {
  #options: ClusterAdminOptions;
  #logger: Logger;
  #server: http.Server;
  #events: LiveEvents;
  #history: HistoryRecorder;
  #allowedHosts: AllowedHosts;
  /** The runtime writes every worker applied, in order: a restarted worker starts from the config file. */
  #journal: Write[] = [];

  constructor(options: ClusterAdminOptions) {
    this.#options = options;
    this.#logger = options.logger.child({ component: "admin" });
    this.#allowedHosts = new AllowedHosts(options.host, options.allowedHosts);
    options.supervisor.onRestart((worker) => this.#replay(worker));
    this.#events = new LiveEvents({ snapshot: () => this.#mergedSnapshot(), logger: this.#logger });
    this.#history = new HistoryRecorder(() => this.#mergedPools(), this.#logger);
    this.#server = http.createServer({ requestTimeout: 30_000, headersTimeout: 10_000 }, (req, res) => {
      this.#serve(req, res).catch((thrown: unknown) => {
        const error = thrown instanceof AdminError ? thrown : new AdminError(ErrorCodes.WORKER_UNAVAILABLE);
        if (!(thrown instanceof AdminError))
          this.#logger.warn({ err: thrown, path: req.url }, "admin request failed");
        if (res.headersSent) res.destroy();
        else sendError(res, error);
      });
    });
  }

  async listen(): Promise<{ host: string; port: number }> {
    const address = await listenOn(
      this.#server,
      this.#options.host,
      this.#options.port,
      this.#logger,
      "cluster admin API",
    );
    this.#history.start();
    return address;
  }

  close(): Promise<void> {
    this.#events.close();
    this.#history.stop();
    return new Promise((resolve) => {
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    });
  }

  async #serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.#allowedHosts.check(req.headers.host);
    const method = req.method ?? "GET";
    const url = new URL(req.url ?? "/", "http://admin.invalid");
    const only = url.searchParams.get("worker");
    url.searchParams.delete("worker");
    const target = `${url.pathname}${url.search}`;
    if (only !== null) return this.#forward(req, res, this.#worker(only), target);

    const read = method === "GET" || method === "HEAD";
    if (read && url.pathname === "/api/events") {
      if (this.#events.full) {
        throw new AdminError(ErrorCodes.TOO_MANY_STREAMS);
      }
      return sendEventStream(req, res, this.#events);
    }
    if (read && url.pathname === "/api/history") {
      applyCors(req, res, this.#options.cors);
      return sendJson(res, 200, this.#history.json(url.searchParams.get("pool") ?? undefined));
    }
    if (read && MERGED_READS.includes(url.pathname)) {
      applyCors(req, res, this.#options.cors);
      return this.#aggregate(res, url);
    }
    if (!READ_METHODS.has(method) && !isLoadTest(url.pathname)) {
      if (this.#options.sharedStore) return this.#forward(req, res, this.#first(), target);
      return this.#broadcastWrite(req, res, target);
    }
    return this.#forward(req, res, this.#first(), target);
  }

  async #aggregate(res: ServerResponse, url: URL): Promise<void> {
    const cluster = this.#cluster();
    switch (url.pathname) {
      case "/health":
        return sendJson(res, 200, { status: "ok", workers: cluster.workers.length });
      case "/ready": {
        const replies = await this.#askAll("GET", "/ready");
        const reasons = replies.flatMap((reply) =>
          reply.status === 200 ? [] : readReasons(reply).map((reason) => `worker ${reply.worker}: ${reason}`),
        );
        if (replies.length === 0) reasons.push("no worker is running");
        // The shared store's state (etcd), as the first worker sees it.
        const configStore = replies
          .map((reply) => (parseJson(reply) as { configStore?: unknown }).configStore)
          .find(Boolean);
        return sendJson(res, reasons.length === 0 ? 200 : 503, {
          ready: reasons.length === 0,
          reasons,
          ...(configStore ? { configStore } : {}),
          cluster,
        });
      }
      case "/metrics": {
        url.searchParams.set("format", "json");
        const replies = await this.#askAll("GET", `${url.pathname}${url.search}`);
        const merged = mergeWorkerMetrics([
          ...replies.filter((reply) => reply.status === 200).map((reply) => parseJson(reply) as MetricsJson),
          clusterMetrics(cluster.workers.length, cluster.restarts),
        ]);
        const text = Buffer.from(await merged.metrics());
        res.writeHead(200, {
          "content-type": merged.contentType,
          "content-length": String(text.length),
          "cache-control": "no-store",
        });
        res.end(text);
        return;
      }
      default: {
        const replies = await this.#askAll("GET", `${url.pathname}${url.search}`);
        const refused = replies.find((reply) => reply.status !== 200);
        if (refused) return sendReply(res, refused);
        return sendJson(res, 200, this.#merged(replies));
      }
    }
  }

  /** The workers' `/api/stats`, `/api/snapshot` or `/api/performance` as one, with the cluster's own figures. */
  #merged(replies: readonly WorkerReply[]): Record<string, unknown> {
    if (replies.length === 0) throw new Error("no worker answered");
    return { ...(mergeWorkerStats(replies.map(parseJson)) as object), cluster: this.#cluster() };
  }

  /** The workers running now and the restarts so far, as every merged answer reports them. */
  #cluster(): { workers: Record<string, unknown>[]; restarts: number } {
    const supervisor = this.#options.supervisor;
    return { workers: supervisor.workers.map(describeWorker), restarts: supervisor.restarts };
  }

  /** Each pool's merged stats, for the chart history. */
  async #mergedPools(): Promise<Record<string, ChartFigures>> {
    const replies = (await this.#askAll("GET", "/api/stats")).filter((reply) => reply.status === 200);
    // No worker answering throws: the sample is skipped and the history kept.
    return (this.#merged(replies) as { pools: Record<string, ChartFigures> }).pools;
  }

  /** The dashboard's live snapshot, merged across workers like `/api/stats`. */
  async #mergedSnapshot(): Promise<unknown> {
    return this.#merged((await this.#askAll("GET", "/api/snapshot")).filter((reply) => reply.status === 200));
  }

  async #broadcastWrite(req: IncomingMessage, res: ServerResponse, target: string): Promise<void> {
    const write = {
      method: req.method ?? "POST",
      target,
      headers: forwardHeaders(req),
      body: await readBody(req),
    };
    const replies = await this.#askAll(write.method, target, write.headers, write.body);
    if (replies.length === 0) throw new Error("no worker answered");
    const applied = replies.filter((reply) => reply.status < 300).length;
    if (applied > 0) this.#remember(write);
    const total = this.#options.supervisor.workers.length;
    const answer = replies.find((reply) => reply.status >= 300) ?? (replies[0] as WorkerReply);
    const log = { remote: req.socket.remoteAddress, method: req.method, path: target, status: answer.status };
    if (applied > 0 && applied < total)
      this.#logger.warn({ ...log, applied, total }, "admin write applied on some workers only");
    else this.#logger.info({ ...log, applied, total }, "admin write");
    sendReply(res, answer, { "x-switchyard-workers": `${applied}/${total}` });
  }

  #remember(write: Write): void {
    this.#journal.push(write);
    if (this.#journal.length <= MAX_JOURNAL) return;
    this.#journal.shift();
    this.#logger.warn(
      { kept: MAX_JOURNAL },
      "admin write journal full: a restarted worker will miss the oldest runtime writes; put lasting changes in the config file",
    );
  }

  /** Applies the journal to a restarted worker, in order, before it joins the others. */
  async #replay(worker: WorkerInfo): Promise<void> {
    let failed = 0;
    for (const write of this.#journal) {
      const reply = await request(workerUrl(worker, write.target), {
        method: write.method,
        headers: write.headers,
        body: write.body,
        headersTimeout: WORKER_TIMEOUT_MS,
      }).catch(() => undefined);
      await reply?.body.dump();
      if (!reply || reply.statusCode >= 300) failed++;
    }
    if (this.#journal.length > 0)
      this.#logger.info(
        { worker: worker.index, writes: this.#journal.length, failed },
        "replayed admin writes on a restarted worker",
      );
  }

  /** Streams one worker's answer through (event streams included). */
  async #forward(
    req: IncomingMessage,
    res: ServerResponse,
    worker: WorkerInfo,
    target: string,
  ): Promise<void> {
    const method = req.method ?? "GET";
    const upstream = await request(workerUrl(worker, target), {
      method,
      headers: forwardHeaders(req),
      body: READ_METHODS.has(method) ? undefined : req,
      headersTimeout: WORKER_TIMEOUT_MS,
      bodyTimeout: 0,
    });
    res.writeHead(upstream.statusCode, responseHeaders(upstream.headers));
    await pipeline(upstream.body, res);
  }

  /** Every ready worker's answer; one that fails to answer is left out (it is restarting). */
  async #askAll(method: string, target: string, headers: Record<string, string> = {}, body?: Buffer) {
    const workers = this.#options.supervisor.workers;
    const settled = await Promise.allSettled(
      workers.map(async (worker): Promise<WorkerReply> => {
        const reply = await request(workerUrl(worker, target), {
          method,
          headers,
          body,
          headersTimeout: WORKER_TIMEOUT_MS,
          bodyTimeout: WORKER_TIMEOUT_MS,
        });
        return {
          worker: worker.index,
          status: reply.statusCode,
          headers: reply.headers,
          body: Buffer.from(await reply.body.arrayBuffer()),
        };
      }),
    );
    return settled.flatMap((result) => (result.status === "fulfilled" ? [result.value] : []));
  }

  #first(): WorkerInfo {
    const [first] = this.#options.supervisor.workers;
    if (!first)
      throw new AdminError(ErrorCodes.WORKER_UNAVAILABLE, "no worker is running; see the server log");
    return first;
  }

  #worker(value: string): WorkerInfo {
    const worker = this.#options.supervisor.workers.find((candidate) => String(candidate.index) === value);
    if (worker) return worker;
    const running = this.#options.supervisor.workers.map((candidate) => candidate.index).join(", ") || "none";
    // 404, not the code's 503: the request names a worker that is not there.
    throw new AdminError(ErrorCodes.WORKER_UNAVAILABLE, `no running worker ${value}; running: ${running}`, {
      status: 404,
    });
  }
}

function workerUrl(worker: WorkerInfo, target: string): string {
  if (!worker.admin)
    throw new AdminError(ErrorCodes.WORKER_UNAVAILABLE, `worker ${worker.index} has no admin API`);
  return `http://127.0.0.1:${worker.admin.port}${target}`;
}

function describeWorker(worker: WorkerInfo): Record<string, unknown> {
  return {
    index: worker.index,
    pid: worker.pid,
    startedAt: new Date(worker.startedAt).toISOString(),
    restarts: worker.restarts,
  };
}

function forwardHeaders(req: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined || name === "host" || name === "content-length" || isHopByHop(name)) continue;
    headers[name] = Array.isArray(value) ? value.join(", ") : value;
  }
  return headers;
}

function responseHeaders(headers: WorkerReply["headers"]): Record<string, string | string[]> {
  const result: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined && !isHopByHop(name)) result[name] = value;
  }
  return result;
}

function sendReply(res: ServerResponse, reply: WorkerReply, extra: Record<string, string> = {}): void {
  const headers = responseHeaders(reply.headers);
  delete headers["content-length"];
  res.writeHead(reply.status, { ...headers, ...extra, "content-length": String(reply.body.length) });
  res.end(reply.body);
}

function parseJson(reply: WorkerReply): unknown {
  return JSON.parse(reply.body.toString("utf8")) as unknown;
}

function readReasons(reply: WorkerReply): string[] {
  const reasons = (parseJson(reply) as { reasons?: unknown }).reasons;
  return Array.isArray(reasons) ? reasons.map(String) : [`answered ${reply.status}`];
}

function clusterMetrics(workers: number, restarts: number): MetricsJson {
  return [
    {
      name: "switchyard_cluster_workers",
      help: "Cluster workers running and ready.",
      type: "gauge",
      aggregator: "sum",
      values: [{ value: workers, labels: {} }],
    },
    {
      name: "switchyard_cluster_worker_restarts_total",
      help: "Cluster workers restarted after a crash.",
      type: "counter",
      aggregator: "sum",
      values: [{ value: restarts, labels: {} }],
    },
  ] as unknown as MetricsJson;
}

/** A load test runs once, from the first worker: it drives the shared listeners, so it loads every worker. */
function isLoadTest(path: string): boolean {
  return path.startsWith("/api/load-test") || path === "/api/stress-test";
}

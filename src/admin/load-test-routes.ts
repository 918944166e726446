/**
 * Load tests started from the admin API: `POST /api/load-test` runs the load
 * lab's generator against one of this proxy's own HTTP listeners (loopback
 * only, at most 60 s, one run at a time) and answers 202 at once;
 * `GET /api/load-test/:id` reads its progress and, once done, its result;
 * `GET /api/load-test` lists the last runs (the 10 most recent are kept).
 * The ALPHA1/BETA1 balancer's forms are accepted too: the body
 * `{ requests, concurrent }` (N requests, that many at once) and
 * `POST /api/stress-test` `{ duration: seconds, concurrent }`, both run as
 * load tests here.
 */
import { randomUUID } from "node:crypto";
import { z } from "zod";
import { ErrorCodes } from "../core/errors.js";
import {
  checkLoadOptions,
  type LatencySummary,
  type LoadMode,
  type LoadOptions,
  type LoadProgress,
  type LoadResult,
  MAX_LOAD_CONCURRENCY,
  MAX_LOAD_DURATION_MS,
  MAX_LOAD_RATE,
  MAX_LOAD_REQUESTS,
  runLoad,
} from "../lab/load-generator.js";
import type { Logger } from "../observability/logger.js";
import type { AdminHandler } from "./admin-context.js";
import { AdminError } from "./admin-errors.js";
import { parseInput } from "./inputs.js";
import type { Router } from "./router.js";

/** Where an HTTP listener of this proxy is bound. */
export interface LoadTarget {
  name: string;
  host: string;
  port: number;
}

export const KEPT_LOAD_TESTS = 10;

const whole = (min: number, max: number, unit = "") => {
  const error = `expected a whole number from ${min} to ${max}${unit}`;
  return z.number({ error }).int({ error }).min(min, { error }).max(max, { error });
};

const modeError = "expected exactly one of rate, concurrency (or concurrent)";

/** POST /api/load-test; `durationMs` may be left out when `requests` bounds the run (then at most 60 s). */
export const loadTestInput = z
  .strictObject({
    listener: z
      .string({ error: "expected a listener name" })
      .min(1, { error: "expected a listener name" })
      .optional(),
    path: z
      .string({ error: 'expected a path starting with "/"' })
      .startsWith("/", { error: 'expected a path starting with "/"' })
      .max(2048, { error: "expected a path of at most 2048 characters" })
      .optional(),
    rate: whole(1, MAX_LOAD_RATE, " (requests per second)").optional(),
    concurrency: whole(1, MAX_LOAD_CONCURRENCY).optional(),
    /** The ALPHA1/BETA1 balancer's name for concurrency. */
    concurrent: whole(1, MAX_LOAD_CONCURRENCY).optional(),
    requests: whole(1, MAX_LOAD_REQUESTS).optional(),
    durationMs: whole(1, MAX_LOAD_DURATION_MS, " (milliseconds)").optional(),
    timeoutMs: whole(1, MAX_LOAD_DURATION_MS, " (milliseconds)").optional(),
  })
  .superRefine((input, context) => {
    const modes = [input.rate, input.concurrency, input.concurrent].filter((value) => value !== undefined);
    if (modes.length !== 1) {
      context.addIssue({
        code: "custom",
        path: [input.rate === undefined ? "rate" : "concurrency"],
        message: modeError,
      });
    }
    if (input.durationMs === undefined && input.requests === undefined) {
      context.addIssue({
        code: "custom",
        path: ["durationMs"],
        message: "durationMs, requests or both",
      });
    }
  })
  .transform(({ concurrent, ...input }) => ({
    ...input,
    concurrency: input.concurrency ?? concurrent,
    durationMs: input.durationMs ?? MAX_LOAD_DURATION_MS,
  }));

/** POST /api/stress-test, as the ALPHA1/BETA1 balancer takes it: seconds and concurrent requests. */
export const stressTestInput = z.strictObject({
  listener: z
    .string({ error: "expected a listener name" })
    .min(1, { error: "expected a listener name" })
    .optional(),
  path: z.string().optional(),
  duration: whole(1, MAX_LOAD_DURATION_MS / 1000, " (seconds)").default(30),
  concurrent: whole(1, MAX_LOAD_CONCURRENCY).default(50),
});

export type LoadTestStatus = "running" | "done" | "failed";

interface LoadTestRun {
  id: string;
  status: LoadTestStatus;
  listener: string;
  target: string;
  path: string;
  mode: LoadMode;
  durationMs: number;
  /** The most requests the run sends, when bounded by count. */
  requests: number | undefined;
  startedAt: number;
  finishedAt?: number;
  progress: LoadProgress;
  result?: LoadResult;
  error?: string;
  controller: AbortController;
}

const EMPTY_LATENCY: LatencySummary = { p50: 0, p95: 0, p99: 0, max: 0, mean: 0 };

/** The runs: at most one running, the last KEPT_LOAD_TESTS kept. */
export class LoadTests {
  readonly #targets: () => readonly LoadTarget[];
  readonly #logger: Logger;
  readonly #runs = new Map<string, LoadTestRun>();
  #running: LoadTestRun | undefined;

  constructor(targets: () => readonly LoadTarget[], logger: Logger) {
    this.#targets = targets;
    this.#logger = logger;
  }

  /** The running test, if any. */
  get running(): string | undefined {
    return this.#running?.id;
  }

  /** The most recent run, as `GET /api/load-test/:id` shows it; null before the first. */
  latest(): LoadTestJson | null {
    let last: LoadTestRun | undefined;
    for (const run of this.#runs.values()) last = run;
    return last ? runJson(last) : null;
  }

  /** Cancels the running test (on close); resolves at once. */
  abort(): void {
    this.#running?.controller.abort();
  }

  start: AdminHandler = (request) => {
    const input = parseInput(loadTestInput, request.body, "request body");
    if (this.#running) {
      throw new AdminError(ErrorCodes.LOAD_TEST_RUNNING, `load test ${this.#running.id} is still running`, {
        extra: { running: this.#running.id },
      });
    }
    const target = this.#target(input.listener);
    const host = loopbackFor(target.host);
    const url = `http://${host.includes(":") ? `[${host}]` : host}:${target.port}`;
    const mode: LoadMode =
      input.rate !== undefined ? { rate: input.rate } : { concurrency: input.concurrency as number };
    const path = input.path ?? "/";
    const controller = new AbortController();
    const options: LoadOptions = {
      url,
      path,
      mode,
      durationMs: input.durationMs,
      requests: input.requests,
      timeoutMs: input.timeoutMs,
      signal: controller.signal,
    };
    checkLoadOptions(options);
    const run: LoadTestRun = {
      id: randomUUID(),
      status: "running",
      listener: target.name,
      target: url,
      path,
      mode,
      durationMs: input.durationMs,
      requests: input.requests,
      startedAt: Date.now(),
      progress: {
        elapsedMs: 0,
        sent: 0,
        completed: 0,
        errors: 0,
        unanswered: 0,
        statusClasses: {},
        rps: 0,
        latency: EMPTY_LATENCY,
      },
      controller,
    };
    this.#running = run;
    this.#keep(run);
    runLoad(options, (progress) => {
      run.progress = progress;
    })
      .then((result) => {
        run.result = result;
        run.progress = result;
        run.status = "done";
        this.#logger.info({ loadTest: run.id, ...summaryOf(result) }, "load test done");
      })
      .catch((error: unknown) => {
        run.status = "failed";
        run.error = error instanceof Error ? error.message : String(error);
        this.#logger.error({ err: error, loadTest: run.id }, "load test failed");
      })
      .finally(() => {
        run.finishedAt = Date.now();
        if (this.#running === run) this.#running = undefined;
      });
    return {
      status: 202,
      body: {
        id: run.id,
        status: run.status,
        listener: run.listener,
        target: url,
        path,
        mode,
        durationMs: run.durationMs,
        requests: run.requests ?? null,
      },
      headers: { location: `/api/load-test/${run.id}` },
      audit: {
        action: "start-load-test",
        id: run.id,
        listener: target.name,
        path,
        ...mode,
        durationMs: input.durationMs,
        requests: input.requests,
      },
    };
  };

  /** `POST /api/stress-test`: a concurrency load test for `duration` seconds. */
  stress: AdminHandler = (request, context) => {
    const { duration, concurrent, ...rest } = parseInput(stressTestInput, request.body, "request body");
    return this.start(
      { ...request, body: { ...rest, concurrency: concurrent, durationMs: duration * 1000 } },
      context,
    );
  };

  get: AdminHandler = (request) => {
    const run = this.#runs.get(request.params.id as string);
    if (!run) {
      throw new AdminError(
        ErrorCodes.NOT_FOUND,
        `no load test ${request.params.id} (the last ${KEPT_LOAD_TESTS} are kept)`,
      );
    }
    return { body: runJson(run) };
  };

  list: AdminHandler = () => ({
    body: { running: this.running ?? null, runs: [...this.#runs.values()].reverse().map(runJson) },
  });

  #target(name: string | undefined): LoadTarget {
    const targets = this.#targets();
    if (targets.length === 0) {
      throw new AdminError(ErrorCodes.BAD_REQUEST, "listener: no HTTP listener is available for load tests");
    }
    if (name === undefined) return targets[0] as LoadTarget;
    const found = targets.find((target) => target.name === name);
    if (!found) {
      throw new AdminError(
        ErrorCodes.BAD_REQUEST,
        `invalid request body: listener: no HTTP listener "${name}"; expected one of ${targets.map((target) => `"${target.name}"`).join(", ")}`,
      );
    }
    return found;
  }

  #keep(run: LoadTestRun): void {
    this.#runs.set(run.id, run);
    for (const id of this.#runs.keys()) {
      if (this.#runs.size <= KEPT_LOAD_TESTS) break;
      this.#runs.delete(id);
    }
  }
}

/** A wildcard bind address is reached through loopback. */
function loopbackFor(host: string): string {
  if (host === "0.0.0.0" || host === "") return "127.0.0.1";
  if (host === "::" || host === "[::]") return "::1";
  return host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
}

function summaryOf(result: LoadResult) {
  const { sent, completed, errors, unanswered, rps, latency, durationMs } = result;
  return { sent, completed, errors, unanswered, rps, latency, durationMs };
}

/** A run as the API shows it: settings, status, progress so far and, once done, the result. */
export type LoadTestJson = ReturnType<typeof runJson>;

function runJson(run: LoadTestRun) {
  const { elapsedMs, sent, completed, errors, unanswered, statusClasses, rps, latency } = run.progress;
  return {
    id: run.id,
    status: run.status,
    listener: run.listener,
    target: run.target,
    path: run.path,
    mode: run.mode,
    durationMs: run.durationMs,
    requests: run.requests ?? null,
    startedAt: run.startedAt,
    finishedAt: run.finishedAt ?? null,
    elapsedMs,
    sent,
    completed,
    errors,
    unanswered,
    statusClasses,
    rps,
    latency,
    result: run.result ?? null,
    error: run.error ?? null,
  };
}

export function addLoadTestRoutes(router: Router<AdminHandler>, loadTests: LoadTests): void {
  router
    .add("POST", "/api/load-test", loadTests.start)
    .add("POST", "/api/stress-test", loadTests.stress)
    .add("GET", "/api/load-test", loadTests.list)
    .add("GET", "/api/load-test/:id", loadTests.get);
}

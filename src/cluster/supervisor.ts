/**
 * The cluster primary's workers: forks N copies of this very command
 * (node:cluster shares their listening sockets), waits until each announces
 * its bound listeners and private admin address, restarts one that crashes
 * (with a growing delay while it keeps crashing right after start), and stops
 * them all gracefully. A worker that fails before it is ready fails the start:
 * a config every worker rejects would otherwise restart forever.
 */
import cluster, { type Worker } from "node:cluster";
import { GENERATED_SECRET_ENV, generatedAffinitySecret } from "../affinity/generated-secret.js";
import type { Logger } from "../observability/logger.js";
import type { RuntimeListener } from "../runtime.js";
import { isReadyMessage, WORKER_INDEX_ENV } from "./worker-messages.js";

export interface WorkerInfo {
  /** 1..N, kept by a restarted worker. */
  index: number;
  pid: number;
  startedAt: number;
  /** Times this slot's worker was restarted after a crash. */
  restarts: number;
  /** The worker's private admin API (when the config has `admin`). */
  admin: { host: string; port: number } | undefined;
}

export interface SupervisorOptions {
  workers: number;
  logger: Logger;
  /** How long a worker may take to start; default 30 s. */
  startTimeoutMs?: number;
}

/** A worker that ran at least this long is restarted at once; one crashing sooner waits longer each time. */
const STABLE_AFTER_MS = 5_000;
const MAX_RESTART_DELAY_MS = 5_000;
/** Extra time past the grace period before a worker that will not stop is killed. */
const STOP_MARGIN_MS = 5_000;

interface Slot {
  info: WorkerInfo | undefined;
  worker: Worker | undefined;
  restarts: number;
  restartDelayMs: number;
  timer: NodeJS.Timeout | undefined;
}

export class ClusterSupervisor {
  #options: SupervisorOptions;
  #logger: Logger;
  #slots: Slot[];
  #stopping = false;
  #listeners: RuntimeListener[] = [];
  #catchUp: ((worker: WorkerInfo) => Promise<void>) | undefined;

  constructor(options: SupervisorOptions) {
    this.#options = options;
    this.#logger = options.logger.child({ component: "cluster" });
    this.#slots = Array.from({ length: options.workers }, () => ({
      info: undefined,
      worker: undefined,
      restarts: 0,
      restartDelayMs: 0,
      timer: undefined,
    }));
  }

  /** The workers ready now, by index. */
  get workers(): WorkerInfo[] {
    return this.#slots.flatMap((slot) => (slot.info ? [slot.info] : []));
  }

  /** Worker restarts after crashes, all slots together. */
  get restarts(): number {
    return this.#slots.reduce((total, slot) => total + slot.restarts, 0);
  }

  /** The listeners as the first worker bound them (every worker shares them). */
  get listeners(): readonly RuntimeListener[] {
    return this.#listeners;
  }

  /** Forks every worker; resolves once all are ready, rejects (after stopping the rest) if one fails first. */
  async start(): Promise<void> {
    const timeout = this.#options.startTimeoutMs ?? 30_000;
    try {
      await Promise.all(this.#slots.map((_slot, index) => this.#fork(index + 1, timeout)));
    } catch (error) {
      await this.stop(0);
      throw error;
    }
    cluster.on("exit", this.#onExit);
  }

  /**
   * Runs `catchUp` on a restarted worker before it joins the others (the
   * admin replays the runtime writes the crashed one had applied).
   */
  onRestart(catchUp: (worker: WorkerInfo) => Promise<void>): void {
    this.#catchUp = catchUp;
  }

  /** Sends `signal` to every worker (SIGHUP: re-read the config file). */
  signal(signal: NodeJS.Signals): void {
    for (const slot of this.#slots) slot.worker?.process.kill(signal);
  }

  /** SIGTERM to every worker (each finishes its work within `graceMs`), SIGKILL to any still running after. */
  async stop(graceMs: number): Promise<void> {
    this.#stopping = true;
    cluster.off("exit", this.#onExit);
    const running = this.#slots.flatMap((slot) => {
      clearTimeout(slot.timer);
      const worker = slot.worker;
      return worker && !worker.isDead() ? [worker] : [];
    });
    await Promise.all(
      running.map(
        (worker) =>
          new Promise<void>((resolve) => {
            const kill = setTimeout(() => worker.process.kill("SIGKILL"), graceMs + STOP_MARGIN_MS);
            worker.once("exit", () => {
              clearTimeout(kill);
              resolve();
            });
            worker.process.kill("SIGTERM");
          }),
      ),
    );
  }

  #fork(index: number, timeoutMs: number): Promise<void> {
    const slot = this.#slots[index - 1] as Slot;
    // Cookie affinity without a secret: every worker signs with the primary's generated one.
    const worker = cluster.fork({
      [WORKER_INDEX_ENV]: String(index),
      [GENERATED_SECRET_ENV]: generatedAffinitySecret(),
    });
    slot.worker = worker;
    const startedAt = Date.now();
    return new Promise<void>((resolve, reject) => {
      const fail = (reason: string) => {
        cleanup();
        reject(new Error(`worker ${index} ${reason}`));
      };
      const onExit = (code: number | null, signal: string | null) =>
        fail(`exited before it was ready (${signal ?? `code ${code}`})`);
      const timer = setTimeout(() => fail(`did not start within ${timeoutMs} ms`), timeoutMs);
      const onMessage = async (message: unknown) => {
        if (!isReadyMessage(message)) return;
        cleanup();
        if (index === 1 || this.#listeners.length === 0) this.#listeners = message.listeners;
        const info = {
          index,
          pid: worker.process.pid ?? 0,
          startedAt,
          restarts: slot.restarts,
          admin: message.admin,
        };
        if (slot.restarts > 0) await this.#catchUp?.(info);
        slot.info = info;
        this.#logger.info({ worker: index, pid: info.pid }, "worker ready");
        resolve();
      };
      const cleanup = () => {
        clearTimeout(timer);
        worker.off("exit", onExit);
        worker.off("message", onMessage);
      };
      worker.on("exit", onExit);
      worker.on("message", onMessage);
    });
  }

  #onExit = (worker: Worker, code: number | null, signal: string | null): void => {
    const slot = this.#slots.find((candidate) => candidate.worker === worker);
    if (!slot || this.#stopping) return;
    const index = this.#slots.indexOf(slot) + 1;
    const ranMs = Date.now() - (slot.info?.startedAt ?? Date.now());
    slot.info = undefined;
    slot.worker = undefined;
    if (code === 0 && signal === null) {
      this.#logger.warn({ worker: index }, "worker exited cleanly; not restarting it");
      return;
    }
    slot.restarts++;
    slot.restartDelayMs =
      ranMs >= STABLE_AFTER_MS ? 0 : Math.min(Math.max(slot.restartDelayMs * 2, 100), MAX_RESTART_DELAY_MS);
    this.#logger.warn(
      {
        worker: index,
        pid: worker.process.pid,
        code,
        signal,
        restarts: slot.restarts,
        delayMs: slot.restartDelayMs,
      },
      "worker crashed; restarting it",
    );
    slot.timer = setTimeout(() => {
      this.#fork(index, this.#options.startTimeoutMs ?? 30_000).catch((error: unknown) => {
        this.#logger.error({ worker: index, err: error }, "restarted worker failed to start");
      });
    }, slot.restartDelayMs);
  };
}

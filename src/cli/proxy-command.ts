/**
 * `switchyard proxy` and `switchyard validate`, the two commands that read a
 * config (file < SWITCHYARD_* environment < flags; with `configStore:
 * etcd`, the pools stored in etcd over the file's). `proxy` runs it,
 * applying changes to the file and the store, until SIGINT/SIGTERM and then
 * shuts down gracefully; `validate` only checks it and prints a
 * one-line-per-listener summary. The runtime (proxies, undici) loads only
 * when `proxy` starts. With `--workers N` this process becomes the cluster
 * primary (src/cluster/) and each worker runs this same command.
 */
import cluster from "node:cluster";
import { announceReady, WORKER_INDEX_ENV } from "../cluster/worker-messages.js";
import { openConfigStore } from "../config/config-store.js";
import {
  applyOverrides,
  environmentNamesBackends,
  type RawConfig,
  resolveConfig,
  resolveRawConfig,
  summarizeConfig,
} from "../config/load.js";
import { reloadFromFile } from "../config/reload.js";
import { ErrorCodes, SwitchyardError } from "../core/errors.js";
import { watchFile } from "../core/watch-file.js";
import { describeDiscovery } from "../discovery/discovery-options.js";
import { createLogger } from "../observability/create-logger.js";
import { nextSignal, shutdown } from "./shutdown.js";
import { plural } from "./text-format.js";

/** The options of `switchyard proxy`, as commander parsed them. */
export interface ProxyOptions {
  config?: string;
  listen?: string;
  backend?: string[];
  algorithm?: string;
  protocol?: "http" | "tcp";
  logFormat?: string;
  /** Worker processes (node:cluster); 1 runs in this process. */
  workers?: number;
}

/** The options of `switchyard validate`. */
export interface ValidateOptions {
  config: string;
  /** False with `--no-env`. */
  env: boolean;
}

export async function proxyCommand(options: ProxyOptions): Promise<void> {
  const flagBackends = options.backend ?? [];
  const hasBackends = flagBackends.length > 0 || environmentNamesBackends(process.env);
  if (options.config === undefined && !hasBackends) {
    throw new SwitchyardError(
      ErrorCodes.CONFIG,
      "nothing to proxy: give a config file (-c FILE), at least one --backend ADDRESS, or SWITCHYARD_BACKENDS / WORKER_NODES",
    );
  }
  const resolveFromSources = () =>
    resolveRawConfig({
      file: options.config,
      env: process.env,
      flags: {
        listen: options.listen,
        backends: flagBackends.length > 0 ? flagBackends : undefined,
        algorithm: options.algorithm,
        protocol: options.protocol,
        logFormat: options.logFormat,
      },
    });
  const workers = options.workers ?? 1;
  if (workers > 1 && cluster.isPrimary) {
    // The same config the workers will run (with the pools in etcd, if any), checked once before forking.
    const store = await openConfigStore(resolveFromSources);
    const config = await store.resolve().finally(() => store.close());
    const { runClusterPrimary } = await import("./cluster-primary.js");
    await runClusterPrimary(
      config,
      workers,
      createLogger({ level: config.log.level, format: config.log.format }),
    );
    process.exit(0);
  }
  // A cluster worker's admin API is private (the primary serves the configured address), on every reload too.
  const store = await openConfigStore(
    cluster.isWorker ? async () => withPrivateAdmin(await resolveFromSources()) : resolveFromSources,
  );
  // Listening for the stop signal before the listeners open: a SIGTERM right after "listening" stops gracefully.
  const stopSignal = cluster.isWorker ? Promise.race([nextSignal(), primaryGone()]) : nextSignal();
  const { startFromConfigStore } = await import("../runtime.js");
  const { runtime, logger } = await startFromConfigStore(store, (config) =>
    cluster.isWorker
      ? createLogger({ level: config.log.level, format: config.log.format }).child({
          worker: Number(process.env[WORKER_INDEX_ENV]),
        })
      : createLogger({ level: config.log.level, format: config.log.format }),
  );
  if (cluster.isWorker) announceReady(runtime.listeners, runtime.admin);
  const config = runtime.config;
  const stopWatching =
    options.config === undefined
      ? undefined
      : watchFile(options.config, () => reloadFromFile(runtime, store.resolve, logger), logger, {
          what: "the config file",
        });
  const signal = await stopSignal;
  stopWatching?.();
  await store.close();
  logger.info({ signal, graceMs: config.shutdownGraceMs }, "shutting down");
  await shutdown(config.shutdownGraceMs, () => runtime.close(config.shutdownGraceMs));
  logger.info("stopped");
  process.exit(0);
}

export async function validateCommand(options: ValidateOptions): Promise<void> {
  const config = await resolveConfig({ file: options.config, env: options.env ? process.env : undefined });
  const counts = summarizeConfig(config);
  const lines = [
    `ok: ${plural(counts.listeners, "listener")}, ${plural(counts.pools, "pool")}, ${plural(counts.backends, "backend")}`,
  ];
  for (const listener of config.listeners) {
    const target = `${listener.protocol} on ${listener.listen}`;
    if (listener.pool === undefined) {
      lines.push(
        `  listener ${listener.name}: ${target} → ${plural(listener.routes?.length ?? 0, "route")}, else 404`,
      );
      continue;
    }
    const pool = config.pools[listener.pool];
    const algorithm = pool ? algorithmName(pool.algorithm) : "?";
    const discovered = pool?.discovery === undefined ? "" : ` + ${describeDiscovery(pool.discovery)}`;
    lines.push(
      `  listener ${listener.name}: ${target} → pool ${listener.pool} (${algorithm}, ${plural(pool?.backends.length ?? 0, "backend")}${discovered})`,
    );
  }
  process.stdout.write(`${lines.join("\n")}\n`);
}

function withPrivateAdmin(resolved: RawConfig): RawConfig {
  const admin = (resolved.raw as { admin?: unknown } | null)?.admin;
  if (typeof admin !== "object" || admin === null) return resolved;
  return { ...resolved, raw: applyOverrides(resolved.raw, { adminListen: "127.0.0.1:0" }) };
}

/** A worker whose primary died stops too (its IPC channel closes). */
function primaryGone(): Promise<string> {
  return new Promise((resolve) => process.once("disconnect", () => resolve("primary gone")));
}

function algorithmName(spec: string | { name: string }): string {
  return typeof spec === "string" ? spec : spec.name;
}

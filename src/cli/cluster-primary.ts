/**
 * `switchyard proxy --workers N` in the primary process: forks the workers
 * (each runs the ordinary single-process proxy on the shared listeners),
 * serves the cluster-wide admin API, forwards SIGHUP (re-read the config) to
 * the workers, and on SIGINT/SIGTERM stops them gracefully before exiting.
 */

import cluster from "node:cluster";
import { availableParallelism } from "node:os";
import { ClusterAdmin } from "../cluster/cluster-admin.js";
import { ClusterSupervisor } from "../cluster/supervisor.js";
import { parseListenAddress, type SwitchyardConfig } from "../config/schema.js";
import { formatHostPort } from "../core/address.js";
import type { Logger } from "../observability/logger.js";
import { nextSignal, shutdown } from "./shutdown.js";
import { LAUNCH_FLAGS_ENV, workerExecArgv } from "./v8-flags.js";

export async function runClusterPrimary(
  config: SwitchyardConfig,
  workers: number,
  logger: Logger,
): Promise<void> {
  cluster.setupPrimary({
    execArgv: workerExecArgv(
      process.execArgv,
      process.env[LAUNCH_FLAGS_ENV],
      availableParallelism(),
      workers,
    ),
  });
  const supervisor = new ClusterSupervisor({ workers, logger });
  await supervisor.start();
  let admin: ClusterAdmin | undefined;
  if (config.admin) {
    const listen = parseListenAddress(config.admin.listen) ?? { host: "127.0.0.1", port: 9090 };
    admin = new ClusterAdmin({
      supervisor,
      host: listen.host,
      port: listen.port,
      allowedHosts: config.admin.allowedHosts,
      cors: config.admin.cors,
      logger,
      sharedStore: config.configStore?.provider === "etcd",
    });
    try {
      await admin.listen();
    } catch (error) {
      await supervisor.stop(0);
      throw error;
    }
  }
  for (const listener of supervisor.listeners) {
    logger.info(
      { listener: listener.name, address: formatHostPort(listener.host, listener.port), workers },
      "cluster listening",
    );
  }
  const onHup = () => supervisor.signal("SIGHUP");
  process.on("SIGHUP", onHup);
  const signal = await nextSignal();
  process.off("SIGHUP", onHup);
  logger.info({ signal, graceMs: config.shutdownGraceMs }, "shutting down the cluster");
  await shutdown(config.shutdownGraceMs, async () => {
    await supervisor.stop(config.shutdownGraceMs);
    await admin?.close();
  });
  logger.info("stopped");
}

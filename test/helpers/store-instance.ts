/**
 * A proxy started from a config file whose config store is etcd, as
 * `switchyard proxy` starts one: the store opened over the file, the runtime
 * started from it and following it. Its log lines are kept as parsed JSON;
 * it is closed (store, then runtime) by `cleanups`.
 */
import { pino } from "pino";
import { type ConfigStore, openConfigStore } from "../../src/config/config-store.js";
import { resolveRawConfig } from "../../src/config/load.js";
import { type Runtime, startFromConfigStore } from "../../src/runtime.js";

export interface StoreInstance {
  runtime: Runtime;
  store: ConfigStore;
  logs: { level: number; msg: string }[];
  /** The first listener's port. */
  port: number;
  adminPort: number;
}

export async function startStoreInstance(
  file: string,
  cleanups: (() => Promise<unknown> | unknown)[],
): Promise<StoreInstance> {
  const logs: StoreInstance["logs"] = [];
  const logger = pino({ level: "info" }, { write: (line: string) => logs.push(JSON.parse(line)) });
  const store = await openConfigStore(() => resolveRawConfig({ file }));
  const { runtime } = await startFromConfigStore(store, () => logger);
  cleanups.push(async () => {
    await store.close();
    await runtime.close(500);
  });
  return { runtime, store, logs, port: runtime.listeners[0]?.port ?? 0, adminPort: runtime.admin?.port ?? 0 };
}

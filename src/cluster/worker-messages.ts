/**
 * What a cluster worker tells its primary over the IPC channel: once its
 * listeners are bound, their addresses and its private admin API's address.
 */
import type { RuntimeListener } from "../runtime.js";

/** Set by the primary in each worker's environment: the worker's slot, 1..N. */
export const WORKER_INDEX_ENV = "SWITCHYARD_WORKER_INDEX";

export interface ReadyMessage {
  type: "switchyard:worker-ready";
  listeners: RuntimeListener[];
  admin: { host: string; port: number } | undefined;
}

export function isReadyMessage(message: unknown): message is ReadyMessage {
  return (
    typeof message === "object" &&
    message !== null &&
    (message as { type?: unknown }).type === "switchyard:worker-ready"
  );
}

/** In a worker: announce the started runtime to the primary. */
export function announceReady(listeners: RuntimeListener[], admin: ReadyMessage["admin"]): void {
  const message: ReadyMessage = { type: "switchyard:worker-ready", listeners, admin };
  process.send?.(message);
}

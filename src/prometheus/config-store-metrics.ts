/**
 * The shared config store's metric families (etcd, when the pools live
 * there): whether this instance's watch is up, the revision it runs, and
 * whether a newer change was rejected as invalid. Workers of a cluster each
 * watch the store, so the primary keeps the worst: the lowest connection and
 * revision, the highest rejection.
 */
import type { ConfigStoreStatus } from "../config/etcd/etcd-sync.js";
import type { MetricFamilies } from "./metric-families.js";

export function defineConfigStoreMetrics(
  families: MetricFamilies,
  scrape: () => ConfigStoreStatus | undefined,
): void {
  families.gauge(
    "config_store_connected",
    "1 while the watch on the shared config store (etcd) is up, 0 while it is down (routing goes on).",
    ["provider"],
    (emit) => {
      const status = scrape();
      if (status) emit({ provider: status.provider }, status.state === "connected" ? 1 : 0);
    },
    "min",
  );
  families.gauge(
    "config_store_revision",
    "The store revision of the pools this instance runs.",
    ["provider"],
    (emit) => {
      const status = scrape();
      if (status) emit({ provider: status.provider }, status.revision);
    },
    "min",
  );
  families.gauge(
    "config_store_rejected",
    "1 while a newer change in the store was rejected as invalid (the previous config keeps running).",
    ["provider"],
    (emit) => {
      const status = scrape();
      if (status) emit({ provider: status.provider }, status.rejected ? 1 : 0);
    },
    "max",
  );
}

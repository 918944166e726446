/**
 * What identifies this instance and its config: `build_info` (always 1, its
 * labels carry the versions, the Prometheus convention for joining them onto
 * other series) and how config reloads went. A cluster's workers each reload
 * the file, so the primary adds up their reload counts and keeps the oldest
 * last-success time.
 */
import type { ReloadStats } from "../config/reload-stats.js";
import { packageVersion } from "../core/version.js";
import type { MetricFamilies } from "./metric-families.js";

export function defineInstanceMetrics(families: MetricFamilies, scrape: () => ReloadStats | undefined): void {
  families.gauge(
    "build_info",
    "Always 1; the labels say which Switchyard and which Node.js run here.",
    ["version", "node_version"],
    (emit) => emit({ version: packageVersion(), node_version: process.version }, 1),
    "max",
  );
  families.counter(
    "config_reloads_total",
    "Config reloads (file edits, SIGHUP, etcd changes) by result: success applied, failure rejected as invalid.",
    ["result"],
    (emit) => {
      const reloads = scrape();
      if (!reloads) return;
      emit({ result: "success" }, reloads.applied);
      emit({ result: "failure" }, reloads.rejected);
    },
  );
  families.gauge(
    "config_last_reload_success_timestamp_seconds",
    "Unix time the running config was applied (at start, then at each successful reload).",
    [],
    (emit) => {
      const reloads = scrape();
      if (reloads) emit({}, reloads.lastAppliedAt / 1000);
    },
    "min",
  );
}

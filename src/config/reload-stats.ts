/**
 * How this process's config reloads went, for `/metrics`: reloads applied,
 * reloads rejected (an invalid file or etcd change; the running config
 * stays), and when the running config was last applied. The start counts as
 * the first success, as in Prometheus's own
 * `prometheus_config_last_reload_success_timestamp_seconds`, so the timestamp
 * always says how old the running config is.
 */
export class ReloadStats {
  applied = 0;
  rejected = 0;
  /** Unix time in ms. */
  lastAppliedAt: number;

  constructor(now = Date.now()) {
    this.lastAppliedAt = now;
  }

  recordApplied(now = Date.now()): void {
    this.applied++;
    this.lastAppliedAt = now;
  }

  recordRejected(): void {
    this.rejected++;
  }
}

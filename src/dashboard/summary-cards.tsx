/** The headline figures of the selected pool: request rate, latency percentiles, load, errors, readiness. */
import type { ComponentChildren } from "preact";
import type { LivePool } from "../admin/live-snapshot.js";
import { formatMs, formatNumber, formatPercent, NONE } from "./format.js";

export function SummaryCards({ pool }: { pool: LivePool }) {
  const rates = pool.requestsPerSecond;
  const latency = pool.latencyMs;
  const measured = latency !== undefined && latency.recentCount > 0;
  const ready = pool.backends.filter((backend) => backend.ready).length;
  return (
    <section class="cards" aria-label="Summary">
      <Card label="Requests/s" value={formatNumber(rates?.["1s"])} testId="rps">
        10 s avg {formatNumber(rates?.["10s"])} · 60 s avg {formatNumber(rates?.["60s"])}
      </Card>
      <Card label="Latency p50" value={measured ? formatMs(latency.p50) : NONE}>
        p95 {measured ? formatMs(latency.p95) : NONE} · p99 {measured ? formatMs(latency.p99) : NONE}
      </Card>
      <Card label="In flight" value={formatNumber(pool.inFlight)}>
        load spread {pool.loadCv ? `CV ${pool.loadCv.requests.toFixed(2)}` : NONE}
      </Card>
      <Card label="Errors" value={formatNumber(pool.errors)} tone={pool.errors > 0 ? "bad" : undefined}>
        {formatPercent(pool.errors, pool.requests)} of {formatNumber(pool.requests)} requests
      </Card>
      <Card
        label="Ready backends"
        value={`${ready} / ${pool.backends.length}`}
        tone={ready === 0 ? "bad" : ready < pool.backends.length ? "warn" : "ok"}
      >
        failovers {formatNumber(pool.failovers)}
        {pool.failovers > 0 ? ` (avg ${formatMs(pool.meanFailoverMs)})` : ""} · no backend{" "}
        {formatNumber(pool.noBackend)}
      </Card>
    </section>
  );
}

interface CardProps {
  label: string;
  value: string;
  tone?: "ok" | "warn" | "bad" | undefined;
  testId?: string;
  children: ComponentChildren;
}

function Card({ label, value, tone, testId, children }: CardProps) {
  return (
    <div class={`card${tone ? ` tone-${tone}` : ""}`}>
      <div class="card-label">{label}</div>
      <div class="card-value" data-testid={testId}>
        {value}
      </div>
      <div class="card-detail">{children}</div>
    </div>
  );
}

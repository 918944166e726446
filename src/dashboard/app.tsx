/**
 * The dashboard page: a header (pool, live status, admin token), the
 * selected pool's headline figures and charts, its backends with their
 * controls, the algorithm switcher, the load-test launcher, the listeners'
 * routes and the recent decisions. Every figure comes from the live
 * snapshot; every control is one admin write whose outcome shows in the
 * notice bar.
 */
import { useCallback, useEffect, useMemo, useState } from "preact/hooks";
import type uPlot from "uplot";
import type { PoolSeries } from "../admin/chart-history.js";
import type { LiveSnapshot } from "../admin/live-snapshot.js";
import type { Act } from "./actions.js";
import { AlgorithmPanel } from "./algorithm-panel.js";
import { ApiError, callApi } from "./api.js";
import { BackendsPanel } from "./backends-panel.js";
import { DecisionsPanel } from "./decisions-panel.js";
import { NameSelect } from "./fields.js";
import { formatMs, formatNumber, formatUptime } from "./format.js";
import { type Connection, useLive } from "./live.js";
import { LoadTestPanel } from "./load-test-panel.js";
import { RoutesPanel } from "./routes-panel.js";
import { SummaryCards } from "./summary-cards.js";
import { TimeChart } from "./time-chart.js";
import { storeToken, takeToken } from "./token.js";
import { TokenField } from "./token-field.js";

interface Notice {
  kind: "ok" | "error";
  text: string;
}

const RATE_SERIES = [
  { label: "last second", color: "#2f6fed" },
  { label: "10 s average", color: "#8fb0f7", dash: true },
];
/** How long a success notice stays; errors stay until dismissed. */
const OK_NOTICE_MS = 6_000;

const LATENCY_SERIES = [
  { label: "p50", color: "#1a9e5a" },
  { label: "p95", color: "#d98a00" },
  { label: "p99", color: "#d64545" },
];

export function App() {
  const { snapshot, history, connection } = useLive();
  const [token, setToken] = useState(takeToken);
  const [chosenPool, setChosenPool] = useState<string>();
  const [notice, setNotice] = useState<Notice>();

  const act: Act = useCallback(
    async (done, call) => {
      if (token === "") {
        setNotice({ kind: "error", text: "Enter the admin token (top right) to make changes." });
        return false;
      }
      try {
        await callApi({ ...call, token });
        setNotice({ kind: "ok", text: done });
        return true;
      } catch (error) {
        const text =
          error instanceof ApiError
            ? `${error.code}: ${error.message}`
            : `unexpected error: ${String(error)}`;
        setNotice({ kind: "error", text });
        return false;
      }
    },
    [token],
  );
  useEffect(() => {
    if (notice?.kind !== "ok") return;
    const timer = setTimeout(() => setNotice(undefined), OK_NOTICE_MS);
    return () => clearTimeout(timer);
  }, [notice]);
  const changeToken = (next: string) => {
    storeToken(next);
    setToken(next);
    setNotice(undefined);
  };

  const pools = snapshot ? Object.keys(snapshot.pools) : [];
  const poolName = chosenPool !== undefined && pools.includes(chosenPool) ? chosenPool : pools[0];
  const pool = poolName === undefined ? undefined : snapshot?.pools[poolName];

  return (
    <>
      <header class="topbar">
        <div class="brand">
          <span class="logo" aria-hidden="true" />
          Switchyard
        </div>
        {pools.length > 1 ? (
          <NameSelect
            class="pool-picker"
            label="Pool"
            value={poolName}
            names={pools}
            onChange={setChosenPool}
          />
        ) : (
          poolName && <span class="pool-name">pool {poolName}</span>
        )}
        <LiveStatus connection={connection} snapshot={snapshot} />
        <TokenField token={token} onChange={changeToken} />
      </header>
      {notice && (
        <div class={`notice notice-${notice.kind}`} role={notice.kind === "error" ? "alert" : "status"}>
          <span>{notice.text}</span>
          <button type="button" class="link" onClick={() => setNotice(undefined)} aria-label="Dismiss">
            ×
          </button>
        </div>
      )}
      <main>
        {!snapshot || poolName === undefined || !pool ? (
          <p class="placeholder">
            {connection === "reconnecting"
              ? "Cannot reach the admin API; retrying…"
              : "Connecting to the admin API…"}
          </p>
        ) : (
          <>
            <SummaryCards pool={pool} />
            <Charts series={history.series(poolName)} snapshot={snapshot} />
            <BackendsPanel pool={poolName} backends={pool.backends} act={act} />
            <div class="columns">
              <AlgorithmPanel
                pool={poolName}
                current={pool.algorithm}
                metrics={pool.algorithmMetrics}
                available={snapshot.algorithms}
                act={act}
              />
              <LoadTestPanel latest={snapshot.loadTest} act={act} />
            </div>
            <RoutesPanel listeners={snapshot.listeners} />
            <DecisionsPanel decisions={pool.recentDecisions} />
          </>
        )}
      </main>
    </>
  );
}

function Charts({ series, snapshot }: { series: PoolSeries; snapshot: LiveSnapshot }) {
  // The series grow in place: a new snapshot means new points, so new column tuples and a redraw.
  const rates = useMemo<uPlot.AlignedData>(
    () => [series.time, series.rps1s, series.rps10s],
    [series, snapshot],
  );
  const latency = useMemo<uPlot.AlignedData>(
    () => [series.time, series.p50, series.p95, series.p99],
    [series, snapshot],
  );
  return (
    <section class="charts" aria-label="Charts">
      <TimeChart title="Requests per second" series={RATE_SERIES} data={rates} format={formatNumber} />
      <TimeChart title="Response latency" series={LATENCY_SERIES} data={latency} format={formatMs} />
    </section>
  );
}

function LiveStatus({
  connection,
  snapshot,
}: {
  connection: Connection;
  snapshot: LiveSnapshot | undefined;
}) {
  const label = connection === "live" ? "live" : connection === "connecting" ? "connecting" : "reconnecting";
  return (
    <div class="live-status">
      <span class={`dot dot-${connection}`} aria-hidden="true" />
      <span>{label}</span>
      {snapshot && (
        <span class="muted">
          · v{snapshot.version} · up {formatUptime(snapshot.uptimeSeconds)}
        </span>
      )}
    </div>
  );
}

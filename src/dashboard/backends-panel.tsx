/**
 * The selected pool's backends, one row each: health and circuit state,
 * share of recent traffic (a bar), counters and latency, and the operator
 * controls (weight, enable / disable, drain and remove). On a narrow screen
 * each row becomes a card of labelled figures (the cells' `data-label`).
 */
import { useState } from "preact/hooks";
import type { BackendStats } from "../admin/read-routes.js";
import type { Act } from "./actions.js";
import { serverPath } from "./api.js";
import { formatMs, formatNumber, formatPercent } from "./format.js";

interface BackendsPanelProps {
  pool: string;
  backends: readonly BackendStats[];
  act: Act;
}

export function BackendsPanel({ pool, backends, act }: BackendsPanelProps) {
  const recentTotal = backends.reduce((sum, backend) => sum + (backend.recentRequests ?? 0), 0);
  return (
    <section class="panel" aria-labelledby="backends-title">
      <h2 id="backends-title">Backends</h2>
      <div class="table-scroll">
        <table class="backends">
          <thead>
            <tr>
              <th scope="col">Backend</th>
              <th scope="col">Health</th>
              <th scope="col">Circuit</th>
              <th scope="col" class="share-col">
                Share of recent requests
              </th>
              <th scope="col" class="num">
                Requests
              </th>
              <th scope="col" class="num">
                Errors
              </th>
              <th scope="col" class="num">
                In flight
              </th>
              <th scope="col" class="num">
                p95
              </th>
              <th scope="col">Weight</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {backends.map((backend) => (
              <BackendRow
                key={backend.id}
                pool={pool}
                backend={backend}
                recentTotal={recentTotal}
                act={act}
              />
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}

interface BackendRowProps {
  pool: string;
  backend: BackendStats;
  recentTotal: number;
  act: Act;
}

function BackendRow({ pool, backend, recentTotal, act }: BackendRowProps) {
  const [busy, setBusy] = useState(false);
  const [weight, setWeight] = useState<string>();
  const recent = backend.recentRequests ?? 0;
  const share = recentTotal > 0 ? recent / recentTotal : 0;
  const latency = backend.latencyMs;
  const run = async (done: string, call: Parameters<Act>[1]) => {
    setBusy(true);
    const ok = await act(done, call);
    setBusy(false);
    return ok;
  };
  const toggle = () =>
    run(`${backend.id} ${backend.enabled ? "disabled" : "enabled"}`, {
      method: "PATCH",
      path: serverPath(pool, backend.id),
      body: { enabled: !backend.enabled },
    });
  const saveWeight = async (event: Event) => {
    event.preventDefault();
    if (weight === undefined) return;
    const ok = await run(`${backend.id} weight set to ${weight}`, {
      method: "PATCH",
      path: serverPath(pool, backend.id),
      body: { weight: Number(weight) },
    });
    if (ok) setWeight(undefined);
  };
  const drain = () => {
    if (!confirm(`Drain ${backend.id} and remove it from pool ${pool}? Requests in flight finish first.`))
      return;
    void run(`${backend.id} draining; it is removed once idle`, {
      method: "DELETE",
      path: serverPath(pool, backend.id, { drain: "true" }),
    });
  };
  return (
    <tr class={backend.enabled ? undefined : "disabled"}>
      <th scope="row">
        <div class="backend-id">{backend.id}</div>
        {backend.address !== backend.id && <div class="muted small">{backend.address}</div>}
      </th>
      <td data-label="Health">
        <HealthBadge backend={backend} />
      </td>
      <td data-label="Circuit">
        <span class={`badge circuit-${backend.circuit}`}>{backend.circuit}</span>
      </td>
      <td class="share-col" data-label="Share of recent requests">
        <div class="share">
          <div class="share-track">
            <div class="share-bar" style={{ width: `${(share * 100).toFixed(1)}%` }} />
          </div>
          <span class="share-text">{formatPercent(recent, recentTotal)}</span>
        </div>
      </td>
      <td class="num" data-label="Requests">
        {formatNumber(backend.requests)}
      </td>
      <td class={`num${backend.errors > 0 ? " bad" : ""}`} data-label="Errors">
        {formatNumber(backend.errors)}
      </td>
      <td class="num" data-label="In flight">
        {formatNumber(backend.inFlight)}
      </td>
      <td class="num" data-label="p95">
        {latency && latency.recentCount > 0 ? formatMs(latency.p95) : "–"}
      </td>
      <td class="wide-cell" data-label="Weight">
        <form class="weight" onSubmit={saveWeight}>
          <input
            type="number"
            min={0}
            max={10000}
            step="any"
            required
            aria-label={`Weight of ${backend.id}`}
            value={weight ?? String(backend.weight)}
            onInput={(event) => setWeight(event.currentTarget.value)}
          />
          <button
            type="submit"
            disabled={busy || weight === undefined}
            aria-label={`Set weight of ${backend.id}`}
          >
            Set
          </button>
        </form>
      </td>
      <td class="wide-cell">
        <div class="actions">
          <button
            type="button"
            disabled={busy}
            onClick={toggle}
            aria-label={`${backend.enabled ? "Disable" : "Enable"} ${backend.id}`}
          >
            {backend.enabled ? "Disable" : "Enable"}
          </button>
          <button
            type="button"
            class="danger"
            disabled={busy || backend.state === "draining"}
            onClick={drain}
            aria-label={`Drain ${backend.id}`}
          >
            Drain
          </button>
        </div>
      </td>
    </tr>
  );
}

function HealthBadge({ backend }: { backend: BackendStats }) {
  if (!backend.enabled) return <span class="badge state-disabled">disabled</span>;
  const detail = backend.health.ejected ? "ejected by outlier detection" : backend.health.lastDetail;
  return (
    <span class={`badge state-${backend.state}`} title={detail}>
      {backend.state}
      {backend.health.ejected ? " · ejected" : ""}
    </span>
  );
}

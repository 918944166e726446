/**
 * Each HTTP listener's routes in the order they are tried: what a route
 * matches, where it sends a request (a pool, or a redirect), and the requests
 * it took and its rate limit refused. Read from the listeners' stats in the
 * live snapshot, so a reloaded table shows at the next tick.
 */
import type { RouteStats } from "../proxy/proxy-counters.js";
import { formatNumber } from "./format.js";

/** The part of a listener's stats this panel reads; TCP listeners have no routes. */
interface ListenerRoutes {
  routes?: RouteStats[];
}

export function RoutesPanel({ listeners }: { listeners: Record<string, unknown> }) {
  const routed = Object.entries(listeners as Record<string, ListenerRoutes>).filter(
    ([, listener]) => (listener.routes?.length ?? 0) > 0,
  );
  if (routed.length === 0) return null;
  return (
    <section class="panel" aria-labelledby="routes-title">
      <h2 id="routes-title">Routes</h2>
      {routed.map(([name, listener]) => (
        <div key={name} class="listener-routes">
          <h3 class="small muted">listener {name}</h3>
          <ol class="routes" aria-label={`Routes of listener ${name}`}>
            {(listener.routes ?? []).map((route) => (
              <li key={route.name}>
                <strong class="route-name">{route.name}</strong>
                <span class="mono small route-match">{route.match || "every request"}</span>
                <span class="small route-target">
                  {route.redirect === undefined
                    ? `→ pool ${route.pool ?? "?"}`
                    : `redirect ${route.redirect}`}
                </span>
                <span class="small muted route-figures">
                  {formatNumber(route.requests)} requests
                  {route.rateLimited > 0 && (
                    <span class="bad"> · {formatNumber(route.rateLimited)} rate-limited</span>
                  )}
                </span>
              </li>
            ))}
          </ol>
        </div>
      ))}
    </section>
  );
}

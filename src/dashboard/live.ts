/**
 * The page's live feed: one EventSource on `api/events` for the page's
 * lifetime. Each message is the admin server's snapshot; it is added to the
 * chart history and becomes the state every panel renders. The history
 * starts from the server's own (`api/history`, the last five minutes), so
 * the charts are full as soon as the page opens. The browser
 * reconnects a dropped stream by itself (after the `retry` the server sends);
 * meanwhile the page shows it is reconnecting and keeps the last figures.
 */
import { useEffect, useRef, useState } from "preact/hooks";
import { ChartHistory, type PoolSeries } from "../admin/chart-history.js";
import type { LiveSnapshot } from "../admin/live-snapshot.js";
import { callApi } from "./api.js";

export type Connection = "connecting" | "live" | "reconnecting";

export interface Live {
  snapshot: LiveSnapshot | undefined;
  history: ChartHistory;
  connection: Connection;
}

export function useLive(path = "api/events"): Live {
  const history = useRef(new ChartHistory()).current;
  const [snapshot, setSnapshot] = useState<LiveSnapshot>();
  const [connection, setConnection] = useState<Connection>("connecting");
  useEffect(() => {
    const source = new EventSource(path);
    source.onopen = () => setConnection("live");
    source.onerror = () => setConnection("reconnecting");
    source.onmessage = (event: MessageEvent<string>) => {
      const next = JSON.parse(event.data) as LiveSnapshot;
      history.add(next.time, next.pools);
      setSnapshot(next);
      setConnection("live");
    };
    callApi<{ pools: Record<string, PoolSeries> }>({ method: "GET", path: "api/history" })
      .then((kept) => {
        history.prepend(kept.pools);
        setSnapshot((current) => (current ? { ...current } : current));
      })
      .catch(() => {
        // Without the server's history the charts fill from the live feed alone.
      });
    return () => source.close();
  }, [path, history]);
  return { snapshot, history, connection };
}

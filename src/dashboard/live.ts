/**
 * The page's live feed: one EventSource on `api/events` for the page's
 * lifetime. Each message is the admin server's snapshot; it is added to the
 * chart history and becomes the state every panel renders. The browser
 * reconnects a dropped stream by itself (after the `retry` the server sends);
 * meanwhile the page shows it is reconnecting and keeps the last figures.
 */
import { useEffect, useRef, useState } from "preact/hooks";
import type { LiveSnapshot } from "../admin/live-snapshot.js";
import { LiveHistory } from "./history.js";

export type Connection = "connecting" | "live" | "reconnecting";

export interface Live {
  snapshot: LiveSnapshot | undefined;
  history: LiveHistory;
  connection: Connection;
}

export function useLive(path = "api/events"): Live {
  const history = useRef(new LiveHistory()).current;
  const [snapshot, setSnapshot] = useState<LiveSnapshot>();
  const [connection, setConnection] = useState<Connection>("connecting");
  useEffect(() => {
    const source = new EventSource(path);
    source.onopen = () => setConnection("live");
    source.onerror = () => setConnection("reconnecting");
    source.onmessage = (event: MessageEvent<string>) => {
      const next = JSON.parse(event.data) as LiveSnapshot;
      history.add(next);
      setSnapshot(next);
      setConnection("live");
    };
    return () => source.close();
  }, [path, history]);
  return { snapshot, history, connection };
}

/**
 * The pool's current algorithm, what it reports about itself
 * (algorithm-figures.tsx) and a switcher: pick one of the algorithms the
 * server offers and switch live (`POST /api/strategy`). The one-line summary
 * of each comes from `GET /api/algorithms`, read once.
 */
import { useEffect, useState } from "preact/hooks";
import type { Act } from "./actions.js";
import { AlgorithmFigures } from "./algorithm-figures.js";
import { callApi } from "./api.js";
import { NameSelect } from "./fields.js";

interface AlgorithmPanelProps {
  pool: string;
  current: string;
  /** What the current algorithm reports (`algorithmMetrics` of the live snapshot). */
  metrics: object | null;
  available: readonly string[];
  act: Act;
}

interface Catalogue {
  algorithms: { name: string; summary: string }[];
}

export function AlgorithmPanel({ pool, current, metrics, available, act }: AlgorithmPanelProps) {
  const [choice, setChoice] = useState<string>();
  const [busy, setBusy] = useState(false);
  const summaries = useSummaries();
  const selected = choice ?? current;
  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    const ok = await act(`pool ${pool} now routes with ${selected}`, {
      method: "POST",
      path: "api/strategy",
      body: { pool, algorithm: selected },
    });
    setBusy(false);
    if (ok) setChoice(undefined);
  };
  return (
    <section class="panel" aria-labelledby="algorithm-title">
      <h2 id="algorithm-title">Algorithm</h2>
      <p class="current-algorithm">
        <span class="muted">Routing with</span> <strong data-testid="algorithm">{current}</strong>
      </p>
      {summaries[current] && <p class="muted small">{summaries[current]}</p>}
      <AlgorithmFigures algorithm={current} metrics={metrics} />
      <form class="inline-form" onSubmit={submit}>
        <NameSelect label="Switch to" value={selected} names={available} onChange={setChoice} />
        <button type="submit" class="primary" disabled={busy || selected === current}>
          Switch
        </button>
      </form>
      {selected !== current && summaries[selected] && <p class="muted small">{summaries[selected]}</p>}
    </section>
  );
}

/** name → summary, empty until the catalogue arrives (the panel works without it). */
function useSummaries(): Record<string, string> {
  const [summaries, setSummaries] = useState<Record<string, string>>({});
  useEffect(() => {
    callApi<Catalogue>({ method: "GET", path: "api/algorithms" })
      .then((catalogue) => {
        setSummaries(Object.fromEntries(catalogue.algorithms.map((entry) => [entry.name, entry.summary])));
      })
      .catch(() => {
        // Summaries are a nicety; the switcher works from the live list alone.
      });
  }, []);
  return summaries;
}

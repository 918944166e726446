/**
 * Starts a bounded load test against this proxy's own listener
 * (`POST /api/load-test`) and shows the latest one's progress and result
 * from the live snapshot.
 */
import { useState } from "preact/hooks";
import type { LoadTestJson } from "../admin/load-test-routes.js";
import type { Act } from "./actions.js";
import { WholeNumberField } from "./fields.js";
import { formatMs, formatNumber } from "./format.js";

interface LoadTestPanelProps {
  latest: LoadTestJson | null;
  act: Act;
}

type Mode = "rate" | "concurrency";

export function LoadTestPanel({ latest, act }: LoadTestPanelProps) {
  const [mode, setMode] = useState<Mode>("rate");
  const [amount, setAmount] = useState("100");
  const [seconds, setSeconds] = useState("10");
  const [path, setPath] = useState("/");
  const [busy, setBusy] = useState(false);
  const running = latest?.status === "running";
  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    await act("load test started", {
      method: "POST",
      path: "api/load-test",
      body: { [mode]: Number(amount), durationMs: Math.round(Number(seconds) * 1000), path },
    });
    setBusy(false);
  };
  return (
    <section class="panel" aria-labelledby="load-title">
      <h2 id="load-title">Load test</h2>
      <form class="load-form" onSubmit={submit}>
        <label>
          Mode
          <select value={mode} onChange={(event) => setMode(event.currentTarget.value as Mode)}>
            <option value="rate">fixed rate (req/s)</option>
            <option value="concurrency">concurrency</option>
          </select>
        </label>
        <WholeNumberField
          label={mode === "rate" ? "Requests/s" : "Connections"}
          value={amount}
          min={1}
          onChange={setAmount}
        />
        <WholeNumberField label="Duration (s)" value={seconds} min={1} max={60} onChange={setSeconds} />
        <label>
          Path
          <input type="text" required value={path} onInput={(event) => setPath(event.currentTarget.value)} />
        </label>
        <button type="submit" class="primary" disabled={busy || running}>
          {running ? "Running…" : "Start"}
        </button>
      </form>
      {latest ? <LoadTestProgress run={latest} /> : <p class="muted small">No load test yet.</p>}
    </section>
  );
}

function LoadTestProgress({ run }: { run: LoadTestJson }) {
  const mode = "rate" in run.mode ? `${run.mode.rate} req/s` : `${run.mode.concurrency} connections`;
  return (
    <div class="load-progress" data-testid="load-test">
      <div class="load-head">
        <span class={`badge load-${run.status}`}>{run.status}</span>
        <span class="muted small">
          {mode} for {run.durationMs / 1000} s on {run.listener} {run.path}
        </span>
      </div>
      <progress
        max={run.durationMs}
        value={Math.min(run.elapsedMs, run.durationMs)}
        aria-label="Load test progress"
      />
      <dl class="figures">
        <Figure term="sent" value={formatNumber(run.sent)} />
        <Figure term="completed" value={formatNumber(run.completed)} />
        <Figure term="errors" value={formatNumber(run.errors)} bad={run.errors > 0} testId="load-errors" />
        <Figure term="req/s" value={formatNumber(run.rps)} />
        <Figure term="p50" value={formatMs(run.latency.p50)} />
        <Figure term="p99" value={formatMs(run.latency.p99)} />
      </dl>
      <p class="muted small" data-testid="load-error-split">
        errors: {formatNumber(run.statusClasses["5xx"] ?? 0)} answered 5xx, {formatNumber(run.unanswered)}{" "}
        unanswered (refused, reset or timed out)
      </p>
      {run.error && <p class="error-text">{run.error}</p>}
    </div>
  );
}

interface FigureProps {
  term: string;
  value: string;
  /** Shown in the alarm colour. */
  bad?: boolean;
  testId?: string;
}

function Figure({ term, value, bad, testId }: FigureProps) {
  return (
    <div>
      <dt>{term}</dt>
      <dd class={bad ? "bad" : undefined} data-testid={testId}>
        {value}
      </dd>
    </div>
  );
}

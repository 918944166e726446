/**
 * The pool's latest routing decisions, newest first, each with the reason
 * its algorithm gives and every candidate's score at that moment (lower is
 * better; the winner highlighted, backends that were not ready struck out).
 */
import type { LivePool } from "../admin/live-snapshot.js";
import { formatClock } from "./format.js";

type Decision = LivePool["recentDecisions"][number];

export function DecisionsPanel({ decisions }: { decisions: readonly Decision[] }) {
  return (
    <section class="panel" aria-labelledby="decisions-title">
      <h2 id="decisions-title">Recent decisions</h2>
      {decisions.length === 0 ? (
        <p class="muted small">No decision yet: send traffic through the proxy.</p>
      ) : (
        <ol class="decisions">
          {decisions.map((decision) => (
            <DecisionItem key={decision.seq} decision={decision} />
          ))}
        </ol>
      )}
    </section>
  );
}

function DecisionItem({ decision }: { decision: Decision }) {
  const failover = decision.attempts.length > 1;
  return (
    <li>
      <div class="decision-head">
        <span class="muted small mono">
          {decision.time ? formatClock(Date.parse(decision.time)) : `#${decision.seq}`}
        </span>
        <strong>{decision.backend}</strong>
        <span class="muted small">{decision.algorithm}</span>
        {failover && <span class="badge state-degraded">tried {decision.attempts.join(" → ")}</span>}
      </div>
      <div class="decision-reason">{decision.reason}</div>
      <ul class="candidates" aria-label="Candidates and scores">
        {decision.candidates.map((candidate) => (
          <li
            key={candidate.id}
            class={`${candidate.id === decision.backend ? "winner" : ""}${candidate.ready ? "" : " not-ready"}`}
          >
            {candidate.id}
            {typeof candidate.score === "number" && <span class="score">{formatScore(candidate.score)}</span>}
          </li>
        ))}
      </ul>
    </li>
  );
}

function formatScore(score: number): string {
  if (!Number.isFinite(score)) return score > 0 ? "∞" : "−∞";
  if (Math.abs(score) >= 1000 || Number.isInteger(score)) return String(Math.round(score));
  return score.toPrecision(3);
}

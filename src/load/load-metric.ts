/**
 * A load metric (tower's `Load` trait): a number per backend, lower is better,
 * kept apart from the pickers so one picker (P2C, least-loaded scan) serves
 * several metrics. A metric learns from finished attempts through `observe`.
 */
import type { Backend } from "../core/backend.js";
import type { Outcome } from "../core/outcome.js";

export interface LoadMetric {
  /** Short name shown in explanations ("in-flight", "peak-ewma"). */
  readonly name: string;
  /** Current load of `backend`, lower is better; already divided by weight. */
  load(backend: Backend): number;
  /** An attempt on `backend` finished. */
  observe?(backend: Backend, outcome: Outcome): void;
}

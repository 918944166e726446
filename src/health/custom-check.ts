/**
 * Custom check (library): the caller's function decides, resolving true for
 * healthy. Anything else — false, a rejection, a non-boolean — fails.
 */
import type { Backend } from "../core/backend.js";
import type { CheckOutcome, HealthCheck } from "./check.js";
import type { CustomHealthCheck } from "./health-options.js";

export class CustomFunctionCheck implements HealthCheck {
  readonly kind = "custom";
  #check: CustomHealthCheck;

  constructor(check: CustomHealthCheck) {
    this.#check = check;
  }

  async check(backend: Backend, signal: AbortSignal): Promise<CheckOutcome> {
    const healthy = await this.#check(backend, signal);
    return healthy === true ? { ok: true } : { ok: false, detail: "custom check returned false" };
  }
}

/**
 * Session affinity as a stage around selection. Before the pick, the
 * request's session may name a pinned backend; after it, the request is bound
 * to the backend chosen, and that binding travels on the decision as its
 * `session` (core/decision.ts), so the proxy asks it for the Set-Cookie value
 * and the explanation asks it why, without going through the balancer. The
 * cookie is settled when the response head is written: when the request
 * failed over, that is when the session is re-pinned to the backend that
 * answered.
 */
import type { Affinity, AffinityLookup } from "../affinity/affinity.js";
import type { Backend } from "../core/backend.js";
import type { RequestContext } from "../core/context.js";
import type { SessionPin } from "../core/decision.js";

export class AffinityStage {
  readonly affinity: Affinity;

  constructor(affinity: Affinity) {
    this.affinity = affinity;
  }

  /** Before the pick: the request's session as the affinity table knows it. */
  lookup(ctx: RequestContext): AffinityLookup {
    return this.affinity.lookup(ctx);
  }

  /** After the pick: binds the session of `lookup` to `backend`; `routedByPin` when the pin was honoured. */
  bind(lookup: AffinityLookup, backend: Backend, routedByPin: boolean): SessionPin {
    return new BoundSession(this.affinity, lookup, backend.id, routedByPin);
  }
}

class BoundSession implements SessionPin {
  readonly #affinity: Affinity;
  readonly #lookup: AffinityLookup;
  #backendId: string;
  #routedByPin: boolean;
  #cookie: string | undefined;

  constructor(affinity: Affinity, lookup: AffinityLookup, backendId: string, routedByPin: boolean) {
    this.#affinity = affinity;
    this.#lookup = lookup;
    this.#backendId = backendId;
    this.#routedByPin = routedByPin;
    this.#cookie = affinity.bind(lookup, backendId, routedByPin);
  }

  cookie(backend: Backend): string | undefined {
    if (backend.id !== this.#backendId) {
      const moved = { ...this.#lookup, backendId: this.#backendId };
      this.#cookie = this.#affinity.bind(moved, backend.id, false);
      this.#backendId = backend.id;
      this.#routedByPin = false;
    }
    return this.#cookie;
  }

  reason(backend: Backend): string | undefined {
    if (!this.#routedByPin || backend.id !== this.#backendId) return undefined;
    return `affinity (${this.#affinity.mode}): session pinned to ${backend.id}`;
  }
}

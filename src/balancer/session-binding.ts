/**
 * Session affinity around selection: before the pick, the request's session
 * may name a pinned backend; after it, the request is bound to the backend
 * chosen, and that binding (kept per request context, so a hedge shares it)
 * yields the Set-Cookie value and the explanation. When the request fails
 * over, the session is re-pinned to the backend that answered.
 */
import type { Affinity, AffinityLookup } from "../affinity/affinity.js";
import type { Backend } from "../core/backend.js";
import type { RequestContext } from "../core/context.js";
import type { Decision } from "../core/decision.js";

interface Binding {
  lookup: AffinityLookup;
  backendId: string;
  routedByPin: boolean;
  cookie: string | undefined;
}

export class SessionBinding {
  readonly affinity: Affinity;
  readonly #bindings = new WeakMap<RequestContext, Binding>();

  constructor(affinity: Affinity) {
    this.affinity = affinity;
  }

  /** The request's session as the affinity table knows it. */
  lookup(ctx: RequestContext): AffinityLookup {
    return this.affinity.lookup(ctx);
  }

  /** Records that the request of `lookup` went to `backend`; `routedByPin` when the pin was honoured. */
  bind(ctx: RequestContext, lookup: AffinityLookup, backend: Backend, routedByPin: boolean): void {
    const cookie = this.affinity.bind(lookup, backend.id, routedByPin);
    this.#bindings.set(ctx, { lookup, backendId: backend.id, routedByPin, cookie });
  }

  /** The Set-Cookie value the response to `decision` must carry, re-pinning after a failover. */
  cookie(decision: Decision): string | undefined {
    const binding = this.#bindings.get(decision.ctx);
    if (binding === undefined) return undefined;
    const backendId = decision.backend.id;
    if (binding.backendId !== backendId) {
      const moved = { ...binding.lookup, backendId: binding.backendId };
      binding.cookie = this.affinity.bind(moved, backendId, false);
      binding.backendId = backendId;
      binding.routedByPin = false;
    }
    return binding.cookie;
  }

  /** Why `decision` went where it did, when the session pin decided it. */
  pinReason(decision: Decision): string | undefined {
    const binding = this.#bindings.get(decision.ctx);
    if (binding?.routedByPin !== true || binding.backendId !== decision.backend.id) return undefined;
    return `affinity (${this.affinity.mode}): session pinned to ${decision.backend.id}`;
  }
}

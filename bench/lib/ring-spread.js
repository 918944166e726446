/**
 * Key spread and size of the consistent-hash selector (issue 4: 100 backends
 * × 150 virtual nodes, 1M keys → coefficient of variation ≤ 5%; 1000 × 150
 * ≤ 3 MB), measured through the real selector. Each key is a header value on
 * one reused request context, so a million lookups allocate no contexts.
 */
import { acceptReady, createSelector, Pool } from "../../dist/index.js";

/** A selector for `spec` following `count` backends of weight 1. */
function ringSelector(spec, count) {
  const pool = new Pool(
    Array.from({ length: count }, (_, i) => ({ id: `b${i}`, address: `127.0.0.1:${10_000 + i}` })),
  );
  const selector = createSelector(spec, { random: Math.random, now: () => performance.now() });
  selector.rebuild(pool.backends);
  return { selector, backends: pool.backends };
}

/** Coefficient of variation and max/mean of the key counts per backend. */
export function ringSpread(spec, backendCount = 100, keys = 1_000_000) {
  const { selector, backends } = ringSelector(
    { ...spec, hashKey: { source: "header", name: "x-key" } },
    backendCount,
  );
  const counts = new Map(backends.map((backend) => [backend, 0]));
  const headers = { "x-key": "" };
  const ctx = { headers };
  for (let i = 0; i < keys; i++) {
    headers["x-key"] = `key-${i}`;
    const backend = selector.pick(ctx, acceptReady);
    counts.set(backend, counts.get(backend) + 1);
  }
  const values = [...counts.values()];
  const mean = keys / backendCount;
  const variance = values.reduce((sum, count) => sum + (count - mean) ** 2, 0) / backendCount;
  return { cv: Math.sqrt(variance) / mean, maxOverMean: Math.max(...values) / mean };
}

/** Bytes held by the ring of `spec` over `backendCount` backends. */
export function ringBytes(spec, backendCount = 1000) {
  return ringSelector(spec, backendCount).selector.ring.byteLength;
}

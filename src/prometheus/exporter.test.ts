/**
 * The exporter's latency families on an injected clock: summaries with
 * quantile lines while the recent windows hold samples, none (never NaN) once
 * they are empty; histograms with inclusive `le` bounds in seconds, lifetime
 * counts and sums.
 */
import { describe, expect, it } from "vitest";
import { createBalancer } from "../balancer/balancer.js";
import { PrometheusExporter } from "./exporter.js";

describe("prometheus exporter: latency", () => {
  it("leaves out the quantiles of a summary with no recent samples instead of writing NaN", async () => {
    const clock = { now: 0 };
    const balancer = createBalancer({
      backends: [
        { id: "a", address: "127.0.0.1:41001" },
        { id: "refused", address: "127.0.0.1:41002" },
      ],
      algorithm: "round-robin",
      now: () => clock.now,
      circuitBreaker: false,
      outlierDetection: false,
    });
    const exporter = new PrometheusExporter({ balancers: new Map([["web", balancer]]) });
    balancer.select({}).finish({ status: 200, latencyMs: 5 });
    balancer.select({}).finish({ error: "SY_ERR_UPSTREAM_CONNECT" });

    const fresh = await exporter.metrics();
    expect(fresh).toContain(
      'switchyard_response_latency_seconds{pool="web",backend="a",quantile="0.5"} 0.005',
    );
    // Connect errors carry no latency: that backend never had a quantile to show.
    expect(fresh).not.toContain('backend="refused",quantile');
    expect(fresh).not.toMatch(/nan/i);

    clock.now = 25_000;
    const quiet = await exporter.metrics();
    expect(quiet).not.toMatch(/nan/i);
    expect(quiet).not.toMatch(/^switchyard_(pool_)?response_latency_seconds\{quantile/m);
    expect(quiet).toContain('switchyard_response_latency_seconds_count{pool="web",backend="a"} 1');
    expect(quiet).toContain('switchyard_response_latency_seconds_count{pool="web",backend="refused"} 0');
    expect(quiet).toContain('switchyard_pool_response_latency_seconds_count{pool="web"} 1');
  });

  it("writes the histograms' cumulative buckets, a latency on a bound counted in that bound's bucket", async () => {
    const balancer = createBalancer({
      backends: [{ id: "a", address: "127.0.0.1:41001" }],
      now: () => 0,
      circuitBreaker: false,
      outlierDetection: false,
    });
    const exporter = new PrometheusExporter({ balancers: new Map([["web", balancer]]) });
    for (const latencyMs of [5, 7, 2_000]) balancer.select({}).finish({ status: 200, latencyMs });
    balancer.select({}).finish({ error: "SY_ERR_UPSTREAM_CONNECT" });

    const text = await exporter.metrics();
    const series = (le: string) =>
      `switchyard_response_duration_seconds_bucket{pool="web",backend="a",le="${le}"}`;
    expect(text).toContain(`${series("0.0025")} 0\n`);
    expect(text).toContain(`${series("0.005")} 1\n`);
    expect(text).toContain(`${series("0.01")} 2\n`);
    expect(text).toContain(`${series("1")} 2\n`);
    expect(text).toContain(`${series("2.5")} 3\n`);
    expect(text).toContain(`${series("+Inf")} 3\n`);
    expect(text).toContain('switchyard_response_duration_seconds_sum{pool="web",backend="a"} 2.012\n');
    expect(text).toContain('switchyard_response_duration_seconds_count{pool="web",backend="a"} 3\n');
    expect(text).toContain('switchyard_pool_response_duration_seconds_count{pool="web"} 3\n');
  });
});

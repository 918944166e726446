/**
 * deploy/prometheus and deploy/grafana against the real thing: promtool
 * checks the alert rules, the Prometheus config and the rules' unit tests;
 * every dashboard query parses as PromQL; and every metric the dashboard and
 * the alerts read is in a real scrape of Switchyard started from
 * deploy/switchyard.yaml, with `rate()` and `increase()` only over counters
 * and histogram buckets.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { resolveConfig } from "../src/config/load.js";
import { type Runtime, startSwitchyard } from "../src/runtime.js";
import { ROOT } from "./helpers/cli.js";
import { type Exposition, parseExposition } from "./helpers/exposition.js";
import { useTempDir } from "./helpers/fixtures.js";
import { request, startEchoServer, type TestServer } from "./helpers/servers.js";
import { runTool } from "./helpers/tools.js";

const PROMETHEUS = join(ROOT, "deploy", "prometheus");
const DASHBOARD = join(ROOT, "deploy", "grafana", "switchyard-dashboard.json");
/** Families that only have samples when the pools live in etcd; the scrape still declares them. */
const ONLY_WITH_ETCD = new Set(["switchyard_config_store_connected"]);

const dir = useTempDir("switchyard-deploy-monitoring-");
const cleanups: (() => Promise<void>)[] = [];

afterAll(async () => {
  for (let cleanup = cleanups.pop(); cleanup; cleanup = cleanups.pop()) await cleanup();
});

interface Panel {
  title: string;
  targets?: { expr: string }[];
}

async function dashboardQueries(): Promise<string[]> {
  const dashboard = JSON.parse(await readFile(DASHBOARD, "utf8")) as { panels: Panel[] };
  return dashboard.panels.flatMap((panel) => (panel.targets ?? []).map((target) => target.expr));
}

async function alertQueries(): Promise<string[]> {
  const { parse } = await import("yaml");
  const rules = parse(await readFile(join(PROMETHEUS, "alerts.yml"), "utf8")) as {
    groups: { rules: { expr: string }[] }[];
  };
  return rules.groups.flatMap((group) => group.rules.map((rule) => rule.expr));
}

/** Switchyard as deploy/switchyard.yaml configures it, on local ports, after some traffic: its /metrics. */
async function scrapeDeployConfig(): Promise<Exposition> {
  const backends: TestServer[] = [await startEchoServer("a"), await startEchoServer("b")];
  cleanups.push(async () => {
    for (const backend of backends) await backend.close();
  });
  const config = await resolveConfig({
    file: join(ROOT, "deploy", "switchyard.yaml"),
    env: {
      SWITCHYARD_LISTEN: "127.0.0.1:0",
      SWITCHYARD_ADMIN_LISTEN: "127.0.0.1:0",
      SWITCHYARD_BACKENDS: backends.map((backend) => backend.address).join(","),
    },
  });
  const runtime: Runtime = await startSwitchyard(config);
  cleanups.push(() => runtime.close(0));
  const port = runtime.listeners[0]?.port as number;
  for (let index = 0; index < 10; index++) expect((await request({ port, path: "/" })).status).toBe(200);
  const scrape = await request({ port: runtime.admin?.port as number, path: "/metrics" });
  expect(scrape.status).toBe(200);
  return parseExposition(scrape.text);
}

describe("deploy/prometheus", () => {
  it("passes promtool check rules, check config and the rules' unit tests", async () => {
    const rules = await runTool("promtool", ["check", "rules", join(PROMETHEUS, "alerts.yml")]);
    expect(rules.code, rules.stderr).toBe(0);
    expect(rules.stdout).toContain("SUCCESS: 7 rules found");
    const config = await runTool("promtool", ["check", "config", join(PROMETHEUS, "prometheus.yml")]);
    expect(config.code, config.stderr).toBe(0);
    const tests = await runTool("promtool", ["test", "rules", join(PROMETHEUS, "alerts.test.yml")]);
    expect(tests.code, tests.stdout + tests.stderr).toBe(0);
    expect(tests.stdout).toContain("SUCCESS");
  });
});

describe("deploy/grafana", () => {
  it("has only queries that parse as PromQL", async () => {
    const queries = await dashboardQueries();
    expect(queries.length).toBeGreaterThanOrEqual(10);
    // promtool parses the queries as recording rules, with Grafana's variables filled in.
    const rules = queries.map((expr, index) => ({
      record: `dashboard:query_${index}`,
      expr: expr.replaceAll("$__rate_interval", "5m").replaceAll("$pool", ".*"),
    }));
    const file = await dir.file(
      "dashboard-rules.json",
      JSON.stringify({ groups: [{ name: "dashboard", rules }] }),
    );
    const check = await runTool("promtool", ["check", "rules", file]);
    expect(check.code, check.stdout + check.stderr).toBe(0);
  });
});

describe("the metrics deploy/ reads", () => {
  it("are all in a real scrape, and rate() and increase() only read counters and buckets", async () => {
    const metrics = await scrapeDeployConfig();
    const queries = [...(await dashboardQueries()), ...(await alertQueries())];
    const names = new Set(queries.flatMap((query) => query.match(/\bswitchyard_[a-z0-9_]+/g) ?? []));
    expect(names.size).toBeGreaterThanOrEqual(10);
    for (const name of names) {
      const family = metrics.types.has(name) ? name : name.replace(/_(bucket|sum|count)$/, "");
      const type = metrics.types.get(family);
      expect(type, `${name} is not in the scrape`).toBeDefined();
      if (family !== name) expect(type, `${name}`).toBe("histogram");
      if (!ONLY_WITH_ETCD.has(family)) {
        expect(
          metrics.samples.some((sample) => sample.name === name),
          `${name} has samples`,
        ).toBe(true);
      }
    }
    for (const query of queries) {
      for (const [, name] of query.matchAll(/\b(?:rate|increase)\((switchyard_[a-z0-9_]+)/g)) {
        const counted = metrics.types.get(name as string) === "counter" || name?.endsWith("_bucket");
        expect(counted, `rate() over ${name}, which is not a counter`).toBe(true);
      }
    }
  });
});

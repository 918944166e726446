import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { listAlgorithms } from "../algorithms/registry.js";
import { isSwitchyardError, type SwitchyardError } from "../core/errors.js";
import { variablesBehind } from "./env-origin.js";
import type { ConfigIssue } from "./errors.js";
import {
  applyEnvOverrides,
  configFromFlags,
  loadConfigFile,
  parseConfig,
  resolveConfig,
  summarizeConfig,
} from "./load.js";

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "switchyard-config-"));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function file(name: string, text: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, text);
  return path;
}

const YAML_CONFIG = `
listeners:
  - name: web
    listen: 127.0.0.1:8080
    pool: web
pools:
  web:
    algorithm: round-robin
    backends:
      - address: 127.0.0.1:9001
      - id: b
        address: http://127.0.0.1:9002
        weight: 3
        region: eu-west
        latitude: 53.3
        longitude: -6.2
        labels: { tier: gold }
`;

type Fields = Record<string, unknown>;

interface RawConfig extends Fields {
  listeners: Fields[];
  pools: Record<string, Fields>;
}

function base(): RawConfig {
  return {
    listeners: [{ name: "web", listen: "127.0.0.1:8080", pool: "web" }],
    pools: { web: { backends: [{ address: "127.0.0.1:9001" }, { address: "127.0.0.1:9002" }] } },
  };
}

function webPool(raw: RawConfig): Fields {
  const pool = raw.pools.web;
  if (!pool) throw new Error("no web pool");
  return pool;
}

function firstListener(raw: RawConfig): Fields {
  const listener = raw.listeners[0];
  if (!listener) throw new Error("no listener");
  return listener;
}

const DURATION_FORMS = 'whole milliseconds, or a number with a unit such as "250ms", "5s", "2m", "1h"';

/** Parses and returns the SY_ERR_CONFIG error (fails the test if parsing succeeds). */
function configError(raw: unknown): SwitchyardError {
  try {
    parseConfig(raw);
  } catch (error) {
    if (isSwitchyardError(error, "SY_ERR_CONFIG")) return error;
    throw error;
  }
  throw new Error("expected the config to be rejected");
}

function issuesOf(error: SwitchyardError): ConfigIssue[] {
  return error.details?.issues as ConfigIssue[];
}

describe("loading files", () => {
  it("loads YAML and fills defaults", async () => {
    const config = parseConfig(await loadConfigFile(await file("ok.yaml", YAML_CONFIG)));
    expect(config.listeners[0]).toEqual({
      name: "web",
      protocol: "http",
      listen: "127.0.0.1:8080",
      pool: "web",
      maxRetries: 3,
    });
    expect(config.pools.web?.backends[0]).toEqual({ address: "127.0.0.1:9001", weight: 1, enabled: true });
    expect(config.pools.web?.backends[1]?.labels).toEqual({ tier: "gold" });
    expect(config.log).toEqual({ level: "info", format: "auto" });
    expect(config.shutdownGraceMs).toBe(10_000);
    expect(config.admin).toBeUndefined();
    expect(summarizeConfig(config)).toEqual({ listeners: 1, pools: 1, backends: 2 });
  });

  it("loads JSON and defaults the algorithm and admin address", async () => {
    const raw = { ...base(), admin: { token: "secret" } };
    const config = parseConfig(await loadConfigFile(await file("ok.json", JSON.stringify(raw))));
    expect(config.pools.web?.algorithm).toBe("round-robin");
    expect(config.admin).toEqual({ listen: "127.0.0.1:9090", token: "secret" });
  });

  it("reads unknown extensions as YAML", async () => {
    const config = parseConfig(await loadConfigFile(await file("switchyard.conf", YAML_CONFIG)));
    expect(config.listeners).toHaveLength(1);
  });

  it("reports YAML syntax errors with line and column", async () => {
    const path = await file("broken.yaml", "listeners:\n  - name: web\n    listen: [1, 2\npools: {}\n");
    await expect(loadConfigFile(path)).rejects.toThrow(/broken\.yaml:\d+:\d+: .*\(\w+\)/);
  });

  it("reports duplicate YAML keys", async () => {
    const path = await file("dup.yaml", "pools: {}\npools: {}\n");
    await expect(loadConfigFile(path)).rejects.toThrow(/dup\.yaml:2:1: .*unique/);
  });

  it("reports JSON syntax errors with line and column", async () => {
    const path = await file("broken.json", '{\n  "listeners": [\n    { "name" "web" }\n  ]\n}\n');
    await expect(loadConfigFile(path)).rejects.toThrow(/broken\.json:3:\d+: invalid JSON/);
  });

  it("reports a missing file clearly", async () => {
    await expect(loadConfigFile(join(dir, "nope.yaml"))).rejects.toThrow(
      /cannot read config file .*no such file/,
    );
  });

  it("names the file line of an invalid value", async () => {
    const path = await file("weight.yaml", YAML_CONFIG.replace("weight: 3", "weight: 20000"));
    await expect(resolveConfig({ file: path })).rejects.toThrow(
      /pools\.web\.backends\[1\]\.weight \(.*weight\.yaml:13:17\): expected a number from 0 to 10000, found 20000/,
    );
  });

  it("names the file line of an unknown key's key", async () => {
    const path = await file("typo.yaml", YAML_CONFIG.replace("algorithm:", "algoritm:"));
    await expect(resolveConfig({ file: path })).rejects.toThrow(
      /pools\.web\.algoritm \(.*typo\.yaml:8:5\): unknown key "algoritm"/,
    );
  });
});

describe("validation messages", () => {
  it("names path, value and suggestion for a typo'd key", () => {
    const raw = base();
    webPool(raw).algoritm = "round-robin";
    const error = configError(raw);
    expect(error.message).toContain('pools.web.algoritm: unknown key "algoritm"');
    expect(error.message).toContain('did you mean "algorithm"?');
    const [issue] = issuesOf(error);
    expect(issue).toMatchObject({
      path: "pools.web.algoritm",
      kind: "unknown-key",
      found: '"round-robin"',
      suggestion: "algorithm",
    });
  });

  it("suggests keys at the top level and in listeners", () => {
    const raw: RawConfig = { ...base(), listners: [] };
    raw.listeners[0] = {
      name: "web",
      listen: "127.0.0.1:8080",
      pool: "web",
      protocl: "tcp",
    };
    const error = configError(raw);
    expect(error.message).toContain('listners: unknown key "listners" (value [])');
    expect(error.message).toContain('did you mean "listeners"?');
    expect(error.message).toContain('listeners[0].protocl: unknown key "protocl"');
    expect(error.message).toContain('did you mean "protocol"?');
  });

  it("takes admin.allowedHosts as names, IP addresses or *, never with a port", () => {
    const hosts = ["lb.example", "admin_1.internal", "10.0.0.5", "[::1]", "*"];
    expect(parseConfig({ ...base(), admin: { allowedHosts: hosts } }).admin?.allowedHosts).toEqual(hosts);
    const error = configError({ ...base(), admin: { allowedHosts: ["lb.example:9090"] } });
    expect(error.message).toContain("admin.allowedHosts[0]: expected a host name");
  });

  it("names the field and lists algorithms for an unknown algorithm", () => {
    const raw = base();
    webPool(raw).algorithm = "round-robbin";
    const error = configError(raw);
    const [issue] = issuesOf(error);
    expect(issue?.path).toBe("pools.web.algorithm");
    expect(issue?.found).toBe('"round-robbin"');
    expect(issue?.suggestion).toBe("round-robin");
    for (const { name } of listAlgorithms()) expect(error.message).toContain(name);
  });

  it("points at the name of an algorithm given as an object", () => {
    const raw = base();
    webPool(raw).algorithm = { name: "nope" };
    expect(issuesOf(configError(raw))[0]?.path).toBe("pools.web.algorithm.name");
  });

  it("reports invalid algorithm options under the algorithm's path", () => {
    const raw = base();
    webPool(raw).algorithm = {
      name: "round-robin",
      fast: true,
    };
    const [issue] = issuesOf(configError(raw));
    expect(issue).toMatchObject({ path: "pools.web.algorithm.fast", kind: "unknown-key", found: "true" });
  });

  it("rejects an algorithm that is neither a name nor an object", () => {
    const raw = base();
    webPool(raw).algorithm = 7;
    expect(configError(raw).message).toContain(
      'pools.web.algorithm: expected an algorithm name, or an object { name: "...", ...options }, found 7',
    );
  });

  it("names path, value and expected range for a bad weight", () => {
    const raw = base();
    webPool(raw).backends = [{ address: "127.0.0.1:9001" }, { address: "127.0.0.1:9002", weight: -2 }];
    const error = configError(raw);
    expect(error.message).toContain(
      "pools.web.backends[1].weight: expected a number from 0 to 10000, found -2",
    );
    expect(issuesOf(error)[0]).toMatchObject({ expected: "a number from 0 to 10000", found: "-2" });
  });

  it("accepts the listener's retry and drain settings and names a bad retry status", () => {
    const raw = base();
    Object.assign(firstListener(raw), {
      retryOn: { statuses: [502, 503] },
      retryBufferBytes: 1024,
      retryBudget: { ratio: 0.1 },
      drainTimeoutMs: 5000,
    });
    expect(parseConfig(raw).listeners[0]).toMatchObject({
      retryOn: { statuses: [502, 503] },
      retryBudget: { ratio: 0.1 },
      drainTimeoutMs: 5000,
    });
    firstListener(raw).retryOn = { statuses: [200] };
    expect(configError(raw).message).toContain(
      "listeners[0].retryOn.statuses[0]: expected a whole number from 400 to 599, found 200",
    );
  });

  it("accepts the listener's timeouts, the request head's included, and refuses a negative one", () => {
    const raw = base();
    firstListener(raw).timeouts = { connectMs: 1000, requestHeadMs: 5000, upstreamIdleMs: "90s" };
    expect(parseConfig(raw).listeners[0]?.timeouts).toEqual({
      connectMs: 1000,
      requestHeadMs: 5000,
      upstreamIdleMs: 90_000,
    });
    firstListener(raw).timeouts = { requestHeadMs: -1 };
    expect(configError(raw).message).toContain("listeners[0].timeouts.requestHeadMs");
    firstListener(raw).timeouts = { upstreamIdleMs: "2h" };
    expect(configError(raw).message).toContain("listeners[0].timeouts.upstreamIdleMs");
  });

  it("takes `hashKey: path` as a consistent-hash pool's key", () => {
    const raw = base();
    webPool(raw).algorithm = { name: "consistent-hash", hashKey: "path" };
    expect(parseConfig(raw).pools.web?.algorithm).toEqual({ name: "consistent-hash", hashKey: "path" });
    webPool(raw).algorithm = { name: "consistent-hash", hashKey: "url" };
    expect(configError(raw).message).toContain("pools.web.algorithm.hashKey");
  });

  it("takes a pool's circuit breaker settings, or false, and names a bad one", () => {
    const raw = base();
    webPool(raw).circuitBreaker = { errorRate: 0.25, minRequests: 4, openMs: 1000 };
    expect(parseConfig(raw).pools.web?.circuitBreaker).toEqual({
      errorRate: 0.25,
      minRequests: 4,
      windowMs: 10_000,
      openMs: 1000,
      halfOpenProbes: 3,
    });
    webPool(raw).circuitBreaker = false;
    expect(parseConfig(raw).pools.web?.circuitBreaker).toBe(false);
    webPool(raw).circuitBreaker = { errorRate: 1.5 };
    expect(configError(raw).message).toContain(
      "pools.web.circuitBreaker.errorRate: expected a number above 0 and at most 1, found 1.5",
    );
    webPool(raw).circuitBreaker = { treshold: 0.5 };
    expect(configError(raw).message).toContain('pools.web.circuitBreaker.treshold: unknown key "treshold"');
  });

  it("takes TLS certificates on an http listener and refuses tls on a tcp one", () => {
    const raw = base();
    firstListener(raw).tls = { certificates: [{ cert: "site.pem", key: "site.key" }] };
    expect(parseConfig(raw).listeners[0]?.tls).toEqual({
      certificates: [{ cert: "site.pem", key: "site.key" }],
      minVersion: "TLSv1.2",
    });
    firstListener(raw).protocol = "tcp";
    expect(configError(raw).message).toContain("listeners[0].tls: expected no tls on a tcp listener");
    firstListener(raw).protocol = "http";
    firstListener(raw).redirectToHttps = true;
    expect(configError(raw).message).toContain(
      "listeners[0].redirectToHttps: expected redirectToHttps on a plain listener",
    );
    delete firstListener(raw).redirectToHttps;
    firstListener(raw).tls = { certificates: [] };
    expect(configError(raw).message).toContain("listeners[0].tls.certificates");
  });

  it("takes the PROXY protocol from the proxy in front on any listener, and sends it on tcp ones only", () => {
    const raw = base();
    firstListener(raw).acceptProxyProtocol = true;
    expect(parseConfig(raw).listeners[0]?.acceptProxyProtocol).toBe(true);
    firstListener(raw).sendProxyProtocol = "v2";
    expect(configError(raw).message).toContain(
      "listeners[0].sendProxyProtocol: expected sendProxyProtocol on a tcp listener only",
    );
    firstListener(raw).protocol = "tcp";
    expect(parseConfig(raw).listeners[0]).toMatchObject({
      acceptProxyProtocol: true,
      sendProxyProtocol: "v2",
    });
    firstListener(raw).sendProxyProtocol = "v3";
    expect(configError(raw).message).toContain("listeners[0].sendProxyProtocol");
    expect(configError(raw).message).toContain('"v1"');
  });

  it("takes HTTP/2 limits and h2c on http listeners, and refuses them where they cannot apply", () => {
    const raw = base();
    firstListener(raw).http2 = { maxConcurrentStreams: 50, rapidReset: { maxResets: 100 } };
    firstListener(raw).h2c = true;
    expect(parseConfig(raw).listeners[0]).toMatchObject({
      http2: { maxConcurrentStreams: 50, rapidReset: { maxResets: 100 } },
      h2c: true,
    });
    firstListener(raw).http2 = { maxConcurrentStreams: 0 };
    expect(configError(raw).message).toContain("listeners[0].http2.maxConcurrentStreams");
    firstListener(raw).http2 = false;
    expect(configError(raw).message).toContain(
      "listeners[0].h2c: expected no h2c on a listener with http2: false",
    );
    firstListener(raw).http2 = undefined;
    firstListener(raw).tls = { certificates: [{ cert: "site.pem", key: "site.key" }] };
    expect(configError(raw).message).toContain("listeners[0].h2c: expected h2c on a plain listener");
    delete firstListener(raw).tls;
    firstListener(raw).protocol = "tcp";
    expect(configError(raw).message).toContain(
      "listeners[0].h2c: expected no http2 or h2c on a tcp listener",
    );
  });

  it("names the expected type for a wrongly typed value", () => {
    const raw = base();
    firstListener(raw).maxRetries = "3";
    expect(configError(raw).message).toContain(
      'listeners[0].maxRetries: expected a whole number from 0 to 10, found "3"',
    );
  });

  it("rejects duplicate backend ids and repeated addresses within a pool", () => {
    const raw = base();
    webPool(raw).backends = [
      { id: "a", address: "127.0.0.1:9001" },
      { id: "a", address: "127.0.0.1:9002" },
      { address: "127.0.0.1:9003" },
      { address: "127.0.0.1:9003" },
      { id: "c", address: "127.0.0.1:9003" },
    ];
    const paths = issuesOf(configError(raw)).map((issue) => issue.path);
    expect(paths).toEqual(["pools.web.backends[1].id", "pools.web.backends[3].address"]);
  });

  it("rejects an unknown pool reference, listing the pools", () => {
    const raw = base();
    firstListener(raw).pool = "wbe";
    const error = configError(raw);
    expect(error.message).toContain(
      'listeners[0].pool: expected the name of a pool defined under pools: web, found "wbe"; did you mean "web"?',
    );
  });

  it("rejects duplicate listener names and addresses", () => {
    const raw = base();
    const listeners = raw.listeners;
    listeners.push({ name: "web", listen: "127.0.0.1:8080", pool: "web" });
    listeners.push({ name: "other", listen: "127.0.0.1:0", pool: "web" });
    listeners.push({ name: "other2", listen: "127.0.0.1:0", pool: "web" });
    const paths = issuesOf(configError(raw)).map((issue) => issue.path);
    expect(paths).toEqual(["listeners[1].name", "listeners[1].listen"]);
  });

  it("checks listen strings and backend addresses", () => {
    const raw = base();
    firstListener(raw).listen = "127.0.0.1:70000";
    webPool(raw).backends = [{ address: "127.0.0.1" }, { address: "ftp://example.com:21" }];
    const error = configError(raw);
    const paths = issuesOf(error).map((issue) => issue.path);
    expect(paths).toEqual([
      "listeners[0].listen",
      "pools.web.backends[0].address",
      "pools.web.backends[1].address",
    ]);
    expect(error.message).toContain('listeners[0].listen: expected a listen address "host:port"');
    expect(error.message).toContain("a port between 1 and 65535 is required");
    expect(error.message).toContain("only http:// and https:// upstreams are supported");
  });

  it("accepts IPv6 listen addresses and port 0", () => {
    const raw = base();
    firstListener(raw).listen = "[::1]:0";
    expect(parseConfig(raw).listeners[0]?.listen).toBe("[::1]:0");
  });

  it("reports missing required fields and empty lists", () => {
    const error = configError({
      listeners: [{ name: "web", pool: "web" }],
      pools: { web: { backends: [] } },
    });
    expect(error.message).toContain('listeners[0].listen: missing; expected a listen address "host:port"');
    expect(error.message).toContain(
      "pools.web.backends: expected at least one backend, or a discovery source (dns, file or etcd) to find them, found []",
    );
  });

  it("reports every problem at once with a count", () => {
    const error = configError({ listeners: [], pools: {}, log: { level: "loud" } });
    expect(error.message.split("\n")[0]).toBe("invalid configuration (2 problems):");
    expect(error.message).toContain('log.level: expected one of: "fatal", "error", "warn", "info"');
  });

  it("rejects a config that is not an object", () => {
    expect(configError([1, 2]).message).toContain("(root): expected an object");
  });
});

describe("environment overrides", () => {
  it("overrides listen, algorithm, admin and log level without touching the input", () => {
    const raw = base();
    const before = structuredClone(raw);
    const overridden = applyEnvOverrides(raw, {
      SWITCHYARD_LISTEN: "127.0.0.1:7000",
      SWITCHYARD_ALGORITHM: "rr",
      SWITCHYARD_ADMIN_LISTEN: "127.0.0.1:7001",
      SWITCHYARD_ADMIN_TOKEN: "t0ken",
      SWITCHYARD_ADMIN_ALLOWED_HOSTS: "lb.example, admin.internal",
      SWITCHYARD_LOG_LEVEL: "debug",
      SWITCHYARD_UNRELATED: "x",
    });
    expect(raw).toEqual(before);
    const config = parseConfig(overridden);
    expect(config.listeners[0]?.listen).toBe("127.0.0.1:7000");
    expect(config.pools.web?.algorithm).toBe("rr");
    expect(config.admin).toEqual({
      listen: "127.0.0.1:7001",
      token: "t0ken",
      allowedHosts: ["lb.example", "admin.internal"],
    });
    expect(config.log.level).toBe("debug");
  });

  it("replaces the first listener's pool backends", () => {
    const config = parseConfig(
      applyEnvOverrides(base(), { SWITCHYARD_BACKENDS: "127.0.0.1:9101, 127.0.0.1:9102,," }),
    );
    expect(config.pools.web?.backends.map((backend) => backend.address)).toEqual([
      "127.0.0.1:9101",
      "127.0.0.1:9102",
    ]);
  });

  it("ignores empty variables", () => {
    expect(applyEnvOverrides(base(), { SWITCHYARD_LISTEN: "", SWITCHYARD_BACKENDS: " " })).toEqual(base());
  });

  it("reports an invalid override at the field it overrides, naming the variable instead of a file position", async () => {
    const path = await file("env.yaml", YAML_CONFIG);
    const rejection = resolveConfig({ file: path, env: { SWITCHYARD_LISTEN: "nowhere" } });
    await expect(rejection).rejects.toThrow(
      /listeners\[0\]\.listen \(from environment variable SWITCHYARD_LISTEN\): expected a listen address/,
    );
    await expect(rejection).rejects.not.toThrow(/env\.yaml:/);
  });

  it("names only the variable that won, and SwarmGuard's aliases too", async () => {
    const path = await file("env-alias.yaml", YAML_CONFIG);
    const both = resolveConfig({
      file: path,
      env: { SWITCHYARD_ALGORITHM: "nope", LB_ALGORITHM: "rr", SWITCHYARD_LOG_LEVEL: "debug" },
    });
    await expect(both).rejects.toThrow(
      /pools\.web\.algorithm \(from environment variable SWITCHYARD_ALGORITHM\): expected a registered algorithm/,
    );
    const alias = resolveConfig({ file: path, env: { LB_ALGORITHM: "nope" } });
    await expect(alias).rejects.toThrow(/pools\.web\.algorithm \(from environment variable LB_ALGORITHM\)/);
  });

  it("names the variable when its value is in range for the variable but not for the field", () => {
    const raw = base();
    webPool(raw).agents = {};
    const error = (() => {
      try {
        return parseConfig(applyEnvOverrides(raw, { CACHE_TTL: "100000" }), {
          variablesAt: variablesBehind({ CACHE_TTL: "100000" }, ["CACHE_TTL"], (env) =>
            applyEnvOverrides(raw, env),
          ),
        });
      } catch (error) {
        return error as SwitchyardError;
      }
    })();
    expect(issuesOf(error as SwitchyardError)).toEqual([
      expect.objectContaining({ path: "pools.web.agents.cacheTtlMs", variables: ["CACHE_TTL"] }),
    ]);
  });

  it("does not blame the environment for a file value or a flag", async () => {
    const path = await file("env-file.yaml", YAML_CONFIG.replace("127.0.0.1:8080", "nowhere"));
    const env = { SWITCHYARD_LOG_LEVEL: "debug", SWITCHYARD_ALGORITHM: "rr" };
    await expect(resolveConfig({ file: path, env })).rejects.toThrow(
      /listeners\[0\]\.listen \(\S*env-file\.yaml:4:13\): expected a listen address/,
    );
    const flagged = resolveConfig({
      file: await file("env-flag.yaml", YAML_CONFIG),
      env: { SWITCHYARD_LISTEN: "127.0.0.1:7000" },
      flags: { listen: "nowhere" },
    });
    await expect(flagged).rejects.toThrow(/listeners\[0\]\.listen: expected a listen address/);
  });

  it("builds a whole config from the environment alone", () => {
    const config = parseConfig(
      applyEnvOverrides({}, { SWITCHYARD_BACKENDS: "127.0.0.1:9001", SWITCHYARD_LISTEN: "127.0.0.1:0" }),
    );
    expect(config.listeners[0]).toMatchObject({ name: "main", listen: "127.0.0.1:0", pool: "main" });
    expect(config.pools.main?.backends).toHaveLength(1);
  });
});

describe("durations", () => {
  it("take a unit in every …Ms key, and become milliseconds", async () => {
    const path = await file(
      "durations.yaml",
      `${YAML_CONFIG.replace("    pool: web\n", "    pool: web\n    timeouts: { connectMs: 5s, idleMs: 2m }\n    queueTimeoutMs: 250ms\n")}
    healthCheck: { intervalMs: 1.5s, timeoutMs: 500 }
    affinity: { mode: ip, ttlMs: 1h }
shutdownGraceMs: 30s
`,
    );
    const config = await resolveConfig({ file: path });
    expect(config.listeners[0]).toMatchObject({
      timeouts: { connectMs: 5_000, idleMs: 120_000 },
      queueTimeoutMs: 250,
    });
    expect(config.pools.web?.healthCheck).toMatchObject({ intervalMs: 1_500, timeoutMs: 500 });
    expect(config.pools.web?.affinity?.ttlMs).toBe(3_600_000);
    expect(config.shutdownGraceMs).toBe(30_000);
  });

  it("reject anything else, naming the key, the range and both forms", async () => {
    const path = await file(
      "bad-duration.yaml",
      `${YAML_CONFIG}    healthCheck: { intervalMs: 5 seconds }\nshutdownGraceMs: 2h\n`,
    );
    const rejection = resolveConfig({ file: path });
    await expect(rejection).rejects.toThrow(
      /pools\.web\.healthCheck\.intervalMs \(\S*bad-duration\.yaml:18:32\): expected a duration from 1ms to 1h: whole milliseconds, or .*, found "5 seconds"/,
    );
    await expect(rejection).rejects.toThrow(
      `bad-duration.yaml:19:18): expected a duration from 0ms to 1h: ${DURATION_FORMS}, found "2h"`,
    );
  });
});

describe("flags", () => {
  it("make a complete config without a file", () => {
    const config = parseConfig(
      configFromFlags({
        listen: "127.0.0.1:0",
        backends: ["127.0.0.1:9001", "127.0.0.1:9002"],
        algorithm: "round-robin",
        protocol: "tcp",
      }),
    );
    expect(config.listeners).toEqual([
      { name: "main", protocol: "tcp", listen: "127.0.0.1:0", pool: "main", maxRetries: 3 },
    ]);
    expect(config.pools.main?.algorithm).toBe("round-robin");
    expect(config.pools.main?.backends).toHaveLength(2);
  });

  it("default the listen address", () => {
    const config = parseConfig(configFromFlags({ backends: ["127.0.0.1:9001"] }));
    expect(config.listeners[0]?.listen).toBe("127.0.0.1:8080");
  });

  it("override the environment, which overrides the file", async () => {
    const path = await file("precedence.yaml", YAML_CONFIG);
    const config = await resolveConfig({
      file: path,
      env: { SWITCHYARD_LISTEN: "127.0.0.1:7000", SWITCHYARD_BACKENDS: "127.0.0.1:9101" },
      flags: { listen: "127.0.0.1:7002" },
    });
    expect(config.listeners[0]?.listen).toBe("127.0.0.1:7002");
    expect(config.pools.web?.backends.map((backend) => backend.address)).toEqual(["127.0.0.1:9101"]);
  });

  it("keep algorithm options when the flag names the same algorithm", () => {
    const raw = base();
    webPool(raw).algorithm = { name: "round-robin" };
    const config = parseConfig(applyEnvOverrides(raw, { SWITCHYARD_ALGORITHM: "rr" }));
    expect(config.pools.web?.algorithm).toEqual({ name: "round-robin" });
  });
});

describe("pool health settings", () => {
  it("accepts healthCheck, outlierDetection and slowStart and fills their defaults", () => {
    const raw = base();
    Object.assign(webPool(raw), {
      healthCheck: { path: "/ready", expectStatus: [200, "300-304"], body: "up" },
      outlierDetection: { consecutiveFailures: 3 },
      slowStart: { durationMs: 10_000 },
    });
    const pool = parseConfig(raw).pools.web;
    expect(pool?.healthCheck).toEqual({
      type: "http",
      path: "/ready",
      method: "GET",
      expectStatus: [200, "300-304"],
      body: "up",
      timeoutMs: 2_000,
      intervalMs: 5_000,
      maxIntervalMs: 60_000,
      jitter: 0.1,
      rise: 2,
      fall: 3,
    });
    expect(pool?.outlierDetection).toEqual({
      consecutiveFailures: 3,
      baseEjectionMs: 30_000,
      maxEjectionMs: 300_000,
      maxEjectedPercent: 50,
    });
    expect(pool?.slowStart).toEqual({ durationMs: 10_000 });
    // Parsing is idempotent, so the runtime can hand the result to the balancer as options.
    expect(parseConfig(parseConfig(raw)).pools.web).toEqual(pool);
  });

  it("leaves health checks off by default and accepts outlierDetection: false and a command check", () => {
    expect(parseConfig(base()).pools.web?.healthCheck).toBeUndefined();
    const raw = base();
    Object.assign(webPool(raw), {
      healthCheck: { type: "command", command: "/usr/local/bin/check.sh", intervalMs: 1_000 },
      outlierDetection: false,
    });
    const pool = parseConfig(raw).pools.web;
    expect(pool?.healthCheck).toMatchObject({ type: "command", command: "/usr/local/bin/check.sh" });
    expect(pool?.outlierDetection).toBe(false);
  });

  it("names the field of every invalid health setting", () => {
    const raw = base();
    Object.assign(webPool(raw), {
      healthCheck: { type: "tcp", intervalMs: 0, fall: 1.5, expectStatus: "200-99", method: "get" },
      outlierDetection: { maxEjectedPercent: 150 },
      slowStart: { durationMs: -1 },
    });
    const issues = issuesOf(configError(raw));
    const byPath = Object.fromEntries(issues.map((issue) => [issue.path, issue.message]));
    expect(byPath["pools.web.healthCheck.intervalMs"]).toBe(
      `expected a duration from 1ms to 1h: ${DURATION_FORMS}, found 0`,
    );
    expect(byPath["pools.web.healthCheck.fall"]).toBe("expected a whole number from 1 to 100, found 1.5");
    expect(byPath["pools.web.healthCheck.expectStatus"]).toMatch(
      /^expected an HTTP status \(200\), a range \("200-399"\), or a list of them.*found "200-99"$/,
    );
    expect(byPath["pools.web.healthCheck.method"]).toMatch(/^expected one of: "GET", "HEAD"/);
    expect(byPath["pools.web.outlierDetection.maxEjectedPercent"]).toBe(
      "expected a number from 0 to 100, found 150",
    );
    expect(byPath["pools.web.slowStart.durationMs"]).toBe(
      `expected a duration from 0ms to 1h: ${DURATION_FORMS}, found -1`,
    );
  });

  it("requires a command for a command check, and only there", () => {
    const raw = base();
    webPool(raw).healthCheck = { type: "command" };
    expect(configError(raw).message).toContain(
      'pools.web.healthCheck.command: missing; expected a shell command (required when type is "command")',
    );
    webPool(raw).healthCheck = { command: "true" };
    expect(configError(raw).message).toContain(
      'pools.web.healthCheck.command: expected no command unless type is "command", found "true"',
    );
  });

  it("suggests keys inside healthCheck and outlierDetection", () => {
    const raw = base();
    Object.assign(webPool(raw), {
      healthCheck: { intervalMS: 100 },
      outlierDetection: { consecutiveFailure: 3 },
    });
    const message = configError(raw).message;
    expect(message).toContain('pools.web.healthCheck.intervalMS: unknown key "intervalMS"');
    expect(message).toContain('did you mean "intervalMs"?');
    expect(message).toContain(
      'pools.web.outlierDetection.consecutiveFailure: unknown key "consecutiveFailure"',
    );
    expect(message).toContain('did you mean "consecutiveFailures"?');
  });

  it("rejects an outlierDetection that is neither false nor an object", () => {
    const raw = base();
    webPool(raw).outlierDetection = true;
    expect(configError(raw).message).toContain(
      "pools.web.outlierDetection: expected false or an object { consecutiveFailures, baseEjectionMs, maxEjectionMs, maxEjectedPercent }, found true",
    );
  });
});

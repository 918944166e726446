import { readFile } from "node:fs/promises";
import http from "node:http";
import net from "node:net";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { launchFlags, workerExecArgv } from "../src/cli/v8-flags.js";
import { killLaunched, launch, logLine, ROOT, run, STEP_TIMEOUT_MS } from "./helpers/cli.js";
import { useDemoBackends, useTempDir, VALID } from "./helpers/fixtures.js";
import { closedPort } from "./helpers/servers.js";

const dir = useTempDir("switchyard-cli-");
const demoBackend = useDemoBackends();

afterEach(() => killLaunched());

/** GET without keep-alive, so shutdown never waits on an idle connection. */
function get(url: string): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolvePromise, reject) => {
    const request = http.get(url, { agent: false, headers: { connection: "close" } }, (response) => {
      let body = "";
      response.setEncoding("utf8");
      response.on("data", (chunk: string) => {
        body += chunk;
      });
      response.on("end", () =>
        resolvePromise({ status: response.statusCode ?? 0, body, headers: response.headers }),
      );
    });
    request.setTimeout(STEP_TIMEOUT_MS, () => request.destroy(new Error("request timed out")));
    request.on("error", reject);
  });
}

describe("switchyard", () => {
  it("prints its version", async () => {
    const { version } = JSON.parse(await readFile(join(ROOT, "package.json"), "utf8")) as { version: string };
    const result = await run(["--version"]);
    expect(result.code).toBe(0);
    expect(result.stdout.trim()).toBe(version);
  });

  it("exits 2 on a usage error", async () => {
    const result = await run(["proxy", "--protocol", "udp"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("udp");
  });
});

describe("switchyard validate", () => {
  it("accepts a valid file", async () => {
    const result = await run(["validate", "-c", await dir.file("valid.yaml", VALID)]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^ok: 1 listener, 1 pool, 2 backends\n/);
  });

  it("rejects a typo with the field path, the file line and a suggestion", async () => {
    const path = await dir.file("typo.yaml", VALID.replace("algorithm:", "algoritm:"));
    const result = await run(["validate", "-c", path]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^error SY_ERR_CONFIG: invalid configuration \(1 problem\):/);
    expect(result.stderr).toContain(`pools.web.algoritm (${path}:8:5): unknown key "algoritm"`);
    expect(result.stderr).toContain('did you mean "algorithm"?');
    expect(result.stderr).not.toMatch(/^\s+at /m);
  });

  it("applies environment overrides unless --no-env", async () => {
    const path = await dir.file("env.yaml", VALID);
    const overridden = await run(["validate", "-c", path], { SWITCHYARD_LISTEN: "bad" });
    expect(overridden.code).toBe(2);
    expect(overridden.stderr).toContain("listeners[0].listen");
    expect((await run(["validate", "-c", path, "--no-env"], { SWITCHYARD_LISTEN: "bad" })).code).toBe(0);
  });

  it("reports a missing file and a missing -c", async () => {
    const missing = await run(["validate", "-c", join(dir.path, "nope.yaml")]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(
      /^error SY_ERR_CONFIG: cannot read config file .*nope\.yaml: no such file/,
    );
    expect((await run(["validate"])).code).toBe(2);
  });

  it("refuses a YAML alias bomb and a 100,000-deep JSON array with one line each", async () => {
    let bomb = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n";
    for (const [name, previous] of ["ba", "cb", "dc", "ed", "fe", "gf", "hg", "ih", "ji"]) {
      bomb += `${name}: &${name} [${Array(9).fill(`*${previous}`).join(", ")}]\n`;
    }
    const aliases = await run(["validate", "-c", await dir.file("bomb.yaml", bomb)]);
    expect(aliases.code).toBe(2);
    expect(aliases.stderr).toMatch(
      /^error SY_ERR_CONFIG: cannot parse .*bomb\.yaml as YAML: aliases expand .*\n$/,
    );
    expect(aliases.stderr.split("\n")).toHaveLength(2);

    const deep = `{"listeners": ${"[".repeat(100_000)}${"]".repeat(100_000)}}`;
    const nested = await run(["validate", "-c", await dir.file("deep.json", deep)]);
    expect(nested.code).toBe(2);
    expect(nested.stderr).toMatch(
      /^error SY_ERR_CONFIG: cannot parse .*deep\.json:1:\d+: .*deeper than 64 levels\n$/,
    );
  });
});

describe("switchyard algorithms", () => {
  it("lists algorithms as JSON", async () => {
    const result = await run(["algorithms", "--json"]);
    expect(result.code).toBe(0);
    const listings = JSON.parse(result.stdout) as { name: string; aliases: string[]; options: unknown[] }[];
    const roundRobin = listings.find((listing) => listing.name === "round-robin");
    expect(roundRobin).toMatchObject({ aliases: expect.arrayContaining(["rr"]), options: [] });
  });

  it("lists algorithms as text", async () => {
    const result = await run(["algorithms"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^round-robin \(aliases: rr/m);
    expect(result.stdout).toContain("options:");
  });
});

describe("switchyard proxy", () => {
  it("proxies HTTP from flags, logs its address, and stops on SIGTERM with exit 0", async () => {
    const first = await demoBackend("b1");
    const second = await demoBackend("b2");
    const third = await demoBackend("b3");
    const proxy = launch([
      "proxy",
      "--listen",
      "127.0.0.1:0",
      "--backend",
      first,
      "-b",
      `${second},${third}`,
    ]);
    const listening = JSON.parse(await proxy.line(logLine("listening"))) as Record<string, unknown>;
    expect(listening).toMatchObject({ listener: "main", protocol: "http", pool: "main" });
    expect(listening.address).toMatch(/^127\.0\.0\.1:\d+$/);
    const response = await get(`http://${listening.address}/hello`);
    expect(response.status).toBe(200);
    expect(JSON.parse(response.body)).toMatchObject({ backend: "b1", path: "/hello" });
    const next = [];
    for (let i = 0; i < 3; i++)
      next.push(
        (JSON.parse((await get(`http://${listening.address}/`)).body) as { backend: string }).backend,
      );
    expect(next).toEqual(["b2", "b3", "b1"]);
    proxy.process.kill("SIGTERM");
    expect(await proxy.exit()).toBe(0);
  });

  it("restarts in place with V8's young generation capped and its helper threads sized to the CPUs, where Node can, unless the user chose", async () => {
    const backend = await demoBackend("b1");
    const script = join(ROOT, "bin", "switchyard.js");
    const nodeArguments = async (pid: number) =>
      (await readFile(`/proc/${pid}/cmdline`, "latin1")).split("\0").slice(1, -1);
    const start = async (env: Record<string, string> = {}) => {
      const proxy = launch(["proxy", "--listen", "127.0.0.1:0", "--backend", backend], env);
      const { address } = JSON.parse(await proxy.line(logLine("listening"))) as { address: string };
      expect((await get(`http://${address}/`)).status).toBe(200);
      return proxy;
    };

    const launched = await start();
    const args = await nodeArguments(launched.process.pid as number);
    if ("execve" in process) {
      // Same pid, same pipes: the log line above came from the restarted process.
      const helpers = Math.min(4, Math.max(1, availableParallelism() - 1));
      expect(args.slice(0, 3)).toEqual(["--max-semi-space-size=8", `--v8-pool-size=${helpers}`, script]);
    } else {
      // No process.execve before Node 22.15: Node runs as started (deploy/ sets NODE_OPTIONS).
      expect(args[0]).toBe(script);
    }
    // Signals reach the proxy itself.
    launched.process.kill("SIGTERM");
    expect(await launched.exit()).toBe(0);

    // A size of the user's own, in NODE_OPTIONS, is left alone; the helpers are still sized.
    const sized = await start({ NODE_OPTIONS: "--max-semi-space-size=4" });
    const sizedArgs = await nodeArguments(sized.process.pid as number);
    expect(sizedArgs).not.toContain("--max-semi-space-size=8");
    if ("execve" in process) expect(sizedArgs[0]).toMatch(/^--v8-pool-size=\d$/);
    sized.process.kill("SIGTERM");
    expect(await sized.exit()).toBe(0);

    // Both chosen, or a debugger listening (a restart would cut its session): no restart at all.
    for (const options of ["--max-semi-space-size=4 --v8-pool-size=2", "--inspect=127.0.0.1:0"]) {
      const asStarted = await start({ NODE_OPTIONS: options });
      expect((await nodeArguments(asStarted.process.pid as number))[0]).toBe(script);
      asStarted.process.kill("SIGTERM");
      expect(await asStarted.exit()).toBe(0);
    }
  });

  it("sizes V8's helpers to the CPUs less the event loop's, 1 to 4, and adds no flag for a setting the user chose", () => {
    const helpers = (cpus: number) => launchFlags(cpus).find((flag) => flag.startsWith("--v8-pool-size="));
    expect([1, 2, 3, 5, 64].map(helpers)).toEqual([
      "--v8-pool-size=1",
      "--v8-pool-size=1",
      "--v8-pool-size=2",
      "--v8-pool-size=4",
      "--v8-pool-size=4",
    ]);
    expect(launchFlags(2, ["--inspect"], "--enable-source-maps")).toEqual([
      "--max-semi-space-size=8",
      "--v8-pool-size=1",
    ]);
    expect(launchFlags(2, ["--max-semi-space-size=16"], "")).toEqual(["--v8-pool-size=1"]);
    expect(launchFlags(2, [], "--enable-source-maps --min_semi_space_size=4")).toEqual(["--v8-pool-size=1"]);
    expect(launchFlags(2, ["--v8-pool-size=3"], "--max-semi-space-size=4")).toEqual([]);
    expect(launchFlags(8, [], "--v8_pool_size=0")).toEqual(["--max-semi-space-size=8"]);
  });

  it("sizes each --workers worker's V8 helpers to its share of the CPUs, only where the launcher chose them", () => {
    const launched = "--max-semi-space-size=8 --v8-pool-size=4";
    const primary = ["--max-semi-space-size=8", "--v8-pool-size=4", "--enable-source-maps"];
    expect(workerExecArgv(primary, launched, 8, 8)).toEqual([
      "--max-semi-space-size=8",
      "--v8-pool-size=1",
      "--enable-source-maps",
    ]);
    expect(workerExecArgv(primary, launched, 16, 2)).toEqual(primary);
    expect(workerExecArgv(primary, launched, 8, 3)[1]).toBe("--v8-pool-size=1");
    expect(workerExecArgv(primary, launched, 12, 3)[1]).toBe("--v8-pool-size=3");
    expect(workerExecArgv(primary, launched, 2, 6)[1]).toBe("--v8-pool-size=1");
    // The user's own count (not in the launcher's list) stays, as does everything without a launch.
    expect(workerExecArgv(["--v8-pool-size=4"], "--max-semi-space-size=8", 8, 8)).toEqual([
      "--v8-pool-size=4",
    ]);
    expect(workerExecArgv(primary, undefined, 8, 8)).toEqual(primary);
  });

  it("proxies TCP from a config file", async () => {
    const echo = net.createServer((socket) => socket.pipe(socket));
    await new Promise<void>((ready) => echo.listen(0, "127.0.0.1", ready));
    try {
      const port = (echo.address() as net.AddressInfo).port;
      const path = await dir.file(
        "tcp.yaml",
        `listeners: [{ name: echo, protocol: tcp, listen: "127.0.0.1:0", pool: echo }]\n` +
          `pools: { echo: { backends: [{ address: "127.0.0.1:${port}" }] } }\nshutdownGraceMs: 500\n`,
      );
      const proxy = launch(["proxy", "-c", path]);
      const listening = JSON.parse(await proxy.line(logLine("listening"))) as { address: string };
      const [host, portText] = listening.address.split(":");
      const reply = await new Promise<string>((done, fail) => {
        const socket = net.connect(Number(portText), host ?? "127.0.0.1", () => socket.end("ping"));
        let data = "";
        socket.setEncoding("utf8").on("data", (chunk: string) => {
          data += chunk;
        });
        socket.on("end", () => done(data));
        socket.on("error", fail);
      });
      expect(reply).toBe("ping");
      proxy.process.kill("SIGINT");
      expect(await proxy.exit()).toBe(0);
    } finally {
      await new Promise((closed) => echo.close(closed));
    }
  });

  it("refuses an invalid config before listening, with exit 2", async () => {
    const result = await run([
      "proxy",
      "--listen",
      "127.0.0.1:0",
      "--backend",
      "127.0.0.1:9",
      "--algorithm",
      "nope",
    ]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(
      /pools\.main\.algorithm: expected a registered algorithm .*: round-robin, .*found "nope"/,
    );
    expect(result.stdout).not.toContain("listening");
  });

  it("logs readable text with --log-format pretty, and names a bad SWITCHYARD_LOG_FORMAT", async () => {
    const backend = await demoBackend("p1");
    const proxy = launch([
      "proxy",
      "--listen",
      "127.0.0.1:0",
      "--backend",
      backend,
      "--log-format",
      "pretty",
    ]);
    const line = await proxy.line((text) => text.includes("listening"));
    // Time, level and message as text, the fields below it: not a JSON object.
    expect(line).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: listening/);
    expect(proxy.stdout()).toMatch(/^\s+address: "127\.0\.0\.1:\d+"$/m);
    proxy.process.kill("SIGTERM");
    expect(await proxy.exit()).toBe(0);

    const bad = await run(["proxy", "--listen", "127.0.0.1:0", "--backend", backend], {
      SWITCHYARD_LOG_FORMAT: "fancy",
    });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("SWITCHYARD_LOG_FORMAT");
    expect(bad.stderr).toContain('"fancy"');
  });

  it("says what is missing when given nothing to proxy", async () => {
    const result = await run(["proxy"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("nothing to proxy");
  });

  it("starts from SwarmGuard's environment alone, sampling the access log every N requests", async () => {
    const first = await demoBackend("b1");
    const second = await demoBackend("b2");
    const proxy = launch(["proxy"], {
      WORKER_NODES: `${first},${second}`,
      // No agent answers there: the pool falls back to round-robin, as SwarmGuard does.
      METRICS_PORT: String(await closedPort()),
      LB_ALGORITHM: "round-robin",
      LB_PORT: "0",
      LOG_EVERY_N_REQUESTS: "2",
    });
    const listening = JSON.parse(await proxy.line(logLine("listening"))) as Record<string, unknown>;
    expect(listening).toMatchObject({ listener: "main", pool: "main", algorithm: "round-robin" });
    const served = [];
    for (let i = 0; i < 4; i++)
      served.push(
        (JSON.parse((await get(`http://${listening.address}/`)).body) as { backend: string }).backend,
      );
    expect(served).toEqual(["b1", "b2", "b1", "b2"]);
    proxy.process.kill("SIGTERM");
    expect(await proxy.exit()).toBe(0);
    const accessLines = proxy.stdout().split("\n").filter(logLine("access"));
    expect(accessLines).toHaveLength(2);
  });

  it("proxies from the DWCP geo balancer's loadbalancer.yaml, servers given with --backend", async () => {
    const file = await dir.file(
      "loadbalancer.yaml",
      "load_balancer:\n  algorithm: least-connections\n  session_affinity: { enabled: true, ttl: 30m }\n  failover: { max_retries: 2 }\n",
    );
    const backend = await demoBackend("dwcp");
    const proxy = launch(["proxy", "-c", file, "--listen", "127.0.0.1:0", "--backend", backend]);
    const listening = JSON.parse(await proxy.line(logLine("listening"))) as Record<string, unknown>;
    expect(listening).toMatchObject({ listener: "main", pool: "main", algorithm: "least-connections" });
    const response = await get(`http://${listening.address}/`);
    expect(JSON.parse(response.body)).toMatchObject({ backend: "dwcp" });
    // session_affinity became a cookie, as DWCP's sessions stick.
    expect(String(response.headers["set-cookie"])).toMatch(/Max-Age=1800/);
    proxy.process.kill("SIGTERM");
    expect(await proxy.exit()).toBe(0);
  });

  it("names the listener and address when the port is taken, with exit 1", async () => {
    const blocker = net.createServer();
    await new Promise<void>((ready) => blocker.listen(0, "127.0.0.1", ready));
    try {
      const port = (blocker.address() as net.AddressInfo).port;
      const result = await run(["proxy", "--listen", `127.0.0.1:${port}`, "--backend", "127.0.0.1:9"]);
      expect(result.code).toBe(1);
      expect(result.stderr).toBe(
        `error SY_ERR_LISTEN: listener "main" cannot listen on 127.0.0.1:${port}: the address is already in use (EADDRINUSE)\n`,
      );
    } finally {
      await new Promise((closed) => blocker.close(closed));
    }
  });
});

describe("switchyard backend", () => {
  it("runs a demo backend until SIGTERM", async () => {
    const backend = launch(["backend", "--listen", "127.0.0.1:0", "--name", "solo", "--delay-ms", "1"]);
    const listening = JSON.parse(await backend.line(logLine("listening"))) as { address: string };
    const response = await get(`http://${listening.address}/`);
    expect(JSON.parse(response.body)).toMatchObject({ backend: "solo" });
    backend.process.kill("SIGTERM");
    expect(await backend.exit()).toBe(0);
  });

  it("serves --concurrency requests at once and queues the rest", async () => {
    const backend = launch([
      "backend",
      "--listen",
      "127.0.0.1:0",
      "--name",
      "one",
      "--delay-ms",
      "150",
      "--concurrency",
      "1",
    ]);
    const listening = JSON.parse(await backend.line(logLine("listening"))) as { address: string };
    const started = performance.now();
    const finished = await Promise.all(
      [1, 2].map(async () => {
        await get(`http://${listening.address}/`);
        return performance.now() - started;
      }),
    );
    // One at a time: the second answer waits for the first (a lower bound, so load cannot break it).
    expect(Math.max(...finished)).toBeGreaterThanOrEqual(290);
    expect(
      (await run(["backend", "--listen", "127.0.0.1:0", "--name", "x", "--concurrency", "0"])).code,
    ).toBe(2);
  });

  it("rejects a bad error rate with exit 2", async () => {
    const result = await run(["backend", "--listen", "127.0.0.1:0", "--name", "x", "--error-rate", "2"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("expected a number from 0 to 1");
  });
});

describe("switchyard demo", () => {
  it("balances demo backends round-robin and shuts down on Ctrl-C", async () => {
    const demo = launch(["demo", "--port", "0", "--admin-port", "0", "--backends", "2"]);
    await demo.line((line) => line.startsWith("Press Ctrl-C"));
    const proxyLine = /proxy\s+http:\/\/(127\.0\.0\.1:\d+)/.exec(demo.stdout());
    expect(proxyLine).not.toBeNull();
    const url = `http://${proxyLine?.[1]}/`;
    const seen = [];
    for (let i = 0; i < 4; i++) seen.push((JSON.parse((await get(url)).body) as { backend: string }).backend);
    expect(seen).toEqual(["backend-1", "backend-2", "backend-1", "backend-2"]);
    expect(demo.stdout()).toContain("/control?delay_ms=");
    const admin = /admin API\s+http:\/\/(127\.0\.0\.1:\d+)\s+token (\w+)/.exec(demo.stdout());
    expect(admin).not.toBeNull();
    // The dashboard link carries the same token, in the fragment (never sent to the server).
    expect(demo.stdout()).toMatch(new RegExp(`dashboard\\s+http://${admin?.[1]}/#token=${admin?.[2]}\\s`));
    const stats = JSON.parse((await get(`http://${admin?.[1]}/api/stats`)).body) as {
      pools: { demo: { requests: number } };
    };
    expect(stats.pools.demo.requests).toBe(4);
    demo.process.kill("SIGINT");
    expect(await demo.exit()).toBe(0);
    expect(demo.stdout()).toContain("stopped");
  });

  it("pins the backends to --backend-ports, and names the flag when one is taken", async () => {
    const free = await freePorts(2);
    const demo = launch(["demo", "--port", "0", "--admin-port", "0", "--backend-ports", free.join(",")]);
    await demo.line((line) => line.startsWith("Press Ctrl-C"));
    expect(demo.stdout()).toMatch(new RegExp(`backend-1\\s+http://127\\.0\\.0\\.1:${free[0]}\\s`));
    expect(demo.stdout()).toMatch(new RegExp(`backend-2\\s+http://127\\.0\\.0\\.1:${free[1]}\\s`));
    expect(demo.stdout()).not.toContain("backend-3");
    const answer = JSON.parse((await get(`http://127.0.0.1:${free[1]}/`)).body) as { backend: string };
    expect(answer.backend).toBe("backend-2");
    demo.process.kill("SIGINT");
    expect(await demo.exit()).toBe(0);

    const blocker = net.createServer();
    await new Promise<void>((ready) => blocker.listen(0, "127.0.0.1", ready));
    try {
      const port = (blocker.address() as net.AddressInfo).port;
      const args = [
        "demo",
        "--port",
        "0",
        "--admin-port",
        "0",
        "--backends",
        "1",
        "--backend-ports",
        String(port),
      ];
      const busy = await run(args);
      expect(busy.code).toBe(1);
      expect(busy.stderr).toContain(`127.0.0.1:${port}`);
      expect(busy.stderr).toContain("pick others with --backend-ports");
    } finally {
      await new Promise((closed) => blocker.close(closed));
    }
    const mismatch = await run(["demo", "--backends", "3", "--backend-ports", "9001,9002"]);
    expect(mismatch.code).toBe(2);
    expect(mismatch.stderr).toContain("lists 2 ports but --backends asks for 3");
  });

  it("says the port is busy and suggests --port", async () => {
    const blocker = net.createServer();
    await new Promise<void>((ready) => blocker.listen(0, "127.0.0.1", ready));
    try {
      const port = (blocker.address() as net.AddressInfo).port;
      const result = await run(["demo", "--port", String(port), "--admin-port", "0"]);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(`port ${port} is already in use`);
      expect(result.stderr).toContain("--port");
    } finally {
      await new Promise((closed) => blocker.close(closed));
    }
  });
});

describe("switchyard lab simulate", () => {
  it("compares algorithms as JSON: p2c beats round-robin at p99 on heterogeneous backends", async () => {
    const result = await run([
      "lab",
      "simulate",
      "--scenario",
      "heterogeneous",
      "--algorithms",
      "round-robin,p2c",
      "--requests",
      "20000",
      "--json",
    ]);
    expect(result.code).toBe(0);
    const results = JSON.parse(result.stdout) as {
      scenario: string;
      algorithm: string;
      requests: number;
      latency: { p99: number };
    }[];
    expect(results.map((entry) => entry.algorithm)).toEqual(["round-robin", "power-of-two-choices"]);
    const [roundRobin, p2c] = results;
    for (const entry of results) {
      expect(entry).toMatchObject({ scenario: "heterogeneous", requests: 20_000 });
      expect(Number.isFinite(entry.latency.p99)).toBe(true);
    }
    expect(p2c?.latency.p99).toBeLessThan(roundRobin?.latency.p99 ?? 0);
  });

  it("writes results.json and report.html with --out", async () => {
    const out = join(dir.path, "lab-out");
    const result = await run(["lab", "simulate", "-a", "round-robin,p2c", "-n", "2000", "-o", out]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("round-robin");
    expect(result.stdout).toContain(`wrote ${join(out, "results.json")}`);
    const written = JSON.parse(await readFile(join(out, "results.json"), "utf8")) as unknown[];
    expect(written).toHaveLength(2);
    expect(await readFile(join(out, "report.html"), "utf8")).toMatch(/^<!doctype html>/i);
  });

  it("rejects an unknown algorithm with exit 2, naming it", async () => {
    const result = await run(["lab", "simulate", "--algorithms", "round-robin,nope", "--requests", "100"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^error SY_ERR_UNKNOWN_ALGORITHM: unknown algorithm "nope"/);
    expect(result.stdout).toBe("");
  });

  it("rejects an unknown scenario and a bad --requests with exit 2", async () => {
    const scenario = await run(["lab", "simulate", "--scenario", "nope"]);
    expect(scenario.code).toBe(2);
    expect(scenario.stderr).toMatch(/^error SY_ERR_INVALID_OPTIONS: unknown scenario "nope"/);
    const requests = await run(["lab", "simulate", "--requests", "0"]);
    expect(requests.code).toBe(2);
    expect(requests.stderr).toContain("--requests");
  });

  it("is listed by `switchyard lab --help`", async () => {
    const result = await run(["lab", "--help"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^\s+simulate \[options\]/m);
    const simulate = await run(["lab", "simulate", "--help"]);
    expect(simulate.stdout).toMatch(/^Scenarios:$/m);
    expect(simulate.stdout).toMatch(/^ {2}heterogeneous +4 backends at 10 ms and one 5x slower/m);
  });
});

/** Ports the OS reports free right now (bound on port 0, then released). */
async function freePorts(count: number): Promise<number[]> {
  const servers = Array.from({ length: count }, () => net.createServer());
  const ports = await Promise.all(
    servers.map(
      (server) =>
        new Promise<number>((ready) =>
          server.listen(0, "127.0.0.1", () => ready((server.address() as net.AddressInfo).port)),
        ),
    ),
  );
  await Promise.all(servers.map((server) => new Promise((closed) => server.close(closed))));
  return ports;
}

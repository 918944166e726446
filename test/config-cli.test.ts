/**
 * `switchyard config push` and `config get` as operators run them, and
 * `switchyard proxy` on the pools in etcd: the compiled CLI (built once by
 * the test set-up) against a real etcd on free 127.0.0.1 ports; each test
 * writes under its own key prefix.
 */
import { writeFile } from "node:fs/promises";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { killLaunched, launch, logLine, run } from "./helpers/cli.js";
import { startEtcd, type TestEtcd } from "./helpers/etcd.js";
import { useDemoBackends, useTempDir, VALID } from "./helpers/fixtures.js";
import { closedPort, request } from "./helpers/servers.js";

const dir = useTempDir("switchyard-config-cli-");
const demoBackend = useDemoBackends();

afterEach(() => killLaunched());

describe("switchyard config push / get", () => {
  let etcd: TestEtcd;
  beforeAll(async () => {
    etcd = await startEtcd();
  }, 30_000);
  afterAll(() => etcd?.destroy());

  const TWO_POOLS = `${VALID}  api:
    algorithm: p2c
    backends:
      - { id: b/1, address: "http://127.0.0.1:9003", weight: 3 }
`;

  it("pushes a file's pools, replaces a pool on the next push, and prints what is stored as YAML or JSON", async () => {
    const path = await dir.file("push.yaml", TWO_POOLS);
    const pushed = await run(["config", "push", "-c", path, "--etcd", etcd.url, "--prefix", "/cli-a/"]);
    expect(pushed.code).toBe(0);
    expect(pushed.stdout).toMatch(
      /^pushed: pool "web" \(2 backends\) at \/cli-a\/pools\/web, revision \d+\n/,
    );
    expect(pushed.stdout).toMatch(/pushed: pool "api" \(1 backend\) at \/cli-a\/pools\/api, revision \d+\n/);

    // One backend fewer in "web": the stored pool is replaced, "api" is left as it is.
    await writeFile(path, TWO_POOLS.replace("      - address: 127.0.0.1:9002\n", ""));
    const again = await run(["config", "push", "-c", path, "--etcd", etcd.url, "--prefix", "/cli-a/"]);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/^pushed: pool "web" \(1 backend\)/);
    expect(again.stdout).toMatch(/unchanged: pool "api" \(1 backend\)/);

    const json = await run(["config", "get", "--etcd", etcd.url, "--prefix", "/cli-a/", "--json"]);
    expect(json.code).toBe(0);
    const stored = JSON.parse(json.stdout) as { prefix: string; revision: number; pools: unknown };
    expect(stored.prefix).toBe("/cli-a/");
    expect(stored.revision).toBeGreaterThan(0);
    expect(stored.pools).toEqual({
      api: { algorithm: "p2c", backends: [{ id: "b/1", address: "http://127.0.0.1:9003", weight: 3 }] },
      web: { algorithm: "round-robin", backends: [{ address: "127.0.0.1:9001" }] },
    });

    // The file's configStore can say where etcd is instead of the flags.
    const located = await dir.file(
      "located.yaml",
      `${VALID}configStore: { provider: etcd, endpoints: ["${etcd.url}"], prefix: /cli-a/ }\n`,
    );
    const yaml = await run(["config", "get", "-c", located]);
    expect(yaml.code).toBe(0);
    expect(yaml.stdout).toMatch(
      /^# pools in etcd at http:\/\/127\.0\.0\.1:\d+ under \/cli-a\/, revision \d+\n/,
    );
    expect(yaml.stdout).toContain("  api:\n    algorithm: p2c\n    backends:\n      - id: b/1\n");
  });

  it("validates the file before writing anything", async () => {
    const path = await dir.file("bad-push.yaml", VALID.replace("127.0.0.1:9002", "127.0.0.1:99999"));
    const result = await run(["config", "push", "-c", path, "--etcd", etcd.url, "--prefix", "/cli-b/"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^error SY_ERR_CONFIG: invalid configuration \(1 problem\):/);
    expect(result.stderr).toContain("pools.web.backends[1].address");
    const stored = await run(["config", "get", "--etcd", etcd.url, "--prefix", "/cli-b/", "--json"]);
    expect((JSON.parse(stored.stdout) as { pools: unknown }).pools).toEqual({});
  });

  it("runs a proxy on the pools in etcd, follows a push, and stops on SIGTERM with exit 0", async () => {
    const first = await demoBackend("b1");
    const second = await demoBackend("b2");
    const store = `configStore: { provider: etcd, endpoints: ["${etcd.url}"], prefix: /cli-proxy/ }\n`;
    const pushed = await dir.file(
      "proxy-pushed.yaml",
      `${VALID.replace("127.0.0.1:9001", first).replace("      - address: 127.0.0.1:9002\n", "")}${store}`,
    );
    expect((await run(["config", "push", "-c", pushed])).code).toBe(0);
    // The proxy's own file names backends that do not exist: the pool in etcd replaces them.
    const proxy = launch(["proxy", "-c", await dir.file("proxy-local.yaml", `${VALID}${store}`)]);
    const listening = JSON.parse(await proxy.line(logLine("listening"))) as { address: string };
    const port = Number(listening.address.split(":")[1]);
    const backendOf = async () => (JSON.parse((await request({ port })).text) as { backend: string }).backend;
    expect([await backendOf(), await backendOf()]).toEqual(["b1", "b1"]);

    await writeFile(
      pushed,
      `${VALID.replace("127.0.0.1:9001", first).replace("127.0.0.1:9002", second)}${store}`,
    );
    // Listen before pushing: the proxy may apply the push before `config push` has exited.
    const reloaded = proxy.line(logLine(`config reloaded: pool "web": added ${second}`));
    expect((await run(["config", "push", "-c", pushed])).code).toBe(0);
    await reloaded;
    expect(new Set([await backendOf(), await backendOf()])).toEqual(new Set(["b1", "b2"]));
    proxy.process.kill("SIGTERM");
    expect(await proxy.exit()).toBe(0);
  });

  it("with --workers 2, makes an admin write once in etcd and every worker applies it", async () => {
    const first = await demoBackend("b1");
    const second = await demoBackend("b2");
    const path = await dir.file(
      "cluster.yaml",
      `${VALID.replace("127.0.0.1:9001", first).replace("      - address: 127.0.0.1:9002\n", "")}` +
        "admin: { listen: 127.0.0.1:0, token: cluster-token }\n" +
        `configStore: { provider: etcd, endpoints: ["${etcd.url}"], prefix: /cli-cluster/ }\n`,
    );
    const proxy = launch(["proxy", "-c", path, "--workers", "2"]);
    const adminLine = proxy.line(logLine("cluster admin API ready"));
    await proxy.line(logLine("cluster listening"));
    const admin = `http://127.0.0.1:${(JSON.parse(await adminLine) as { port: number }).port}`;
    const write = (method: string, target: string, body?: unknown) =>
      fetch(`${admin}${target}`, {
        method,
        headers: { authorization: "Bearer cluster-token", "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    const ids = async (worker: number) => {
      const reply = (await (await fetch(`${admin}/api/servers?worker=${worker}`)).json()) as {
        pools: { web: { id: string }[] };
      };
      return reply.pools.web.map((backend) => backend.id).sort();
    };

    // Each worker would refuse a second add of the same backend: the primary sends the write to one.
    const added = await write("POST", "/api/servers", { id: "two", address: second });
    expect(added.status).toBe(201);
    const both = async (expected: string[]) => {
      const deadline = Date.now() + 2_000;
      while (Date.now() < deadline) {
        if (JSON.stringify([await ids(1), await ids(2)]) === JSON.stringify([expected, expected])) return;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      expect([await ids(1), await ids(2)]).toEqual([expected, expected]);
    };
    await both([first, "two"].sort());
    expect((await write("DELETE", "/api/servers/two")).status).toBeLessThan(300);
    await both([first]);
    const stats = (await (await fetch(`${admin}/api/stats`)).json()) as { configStore: { revision: number } };
    expect(stats.configStore.revision).toBeGreaterThan(0);
    const ready = (await (await fetch(`${admin}/ready`)).json()) as {
      ready: boolean;
      configStore: { state: string };
    };
    expect(ready).toMatchObject({ ready: true, configStore: { state: "connected" } });
    proxy.process.kill("SIGTERM");
    expect(await proxy.exit()).toBe(0);
  }, 30_000);

  it("fails with one line and exit 1 when etcd is unreachable, and exit 2 without an etcd to ask", async () => {
    const port = await closedPort();
    const path = await dir.file("unreachable.yaml", VALID);
    for (const args of [
      ["config", "get", "--etcd", `http://127.0.0.1:${port}`],
      ["config", "push", "-c", path, "--etcd", `http://127.0.0.1:${port}`],
    ]) {
      const result = await run(args);
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(
        new RegExp(
          `^error SY_ERR_CONFIG_STORE: etcd at http://127\\.0\\.0\\.1:${port} is unreachable \\(.+\\): connection refused \\(127\\.0\\.0\\.1:${port}\\)\\n$`,
        ),
      );
    }
    const proxy = await run([
      "proxy",
      "-c",
      await dir.file(
        "unreachable-proxy.yaml",
        `${VALID}configStore: { provider: etcd, endpoints: ["http://127.0.0.1:${port}"] }\n`,
      ),
    ]);
    expect(proxy.code).toBe(1);
    expect(proxy.stderr).toMatch(
      /^error SY_ERR_CONFIG_STORE: etcd at .* is unreachable \(reading the pools\): connection refused/,
    );
    expect(proxy.stderr.trim().split("\n")).toHaveLength(1);
    const nowhere = await run(["config", "get"]);
    expect(nowhere.code).toBe(2);
    expect(nowhere.stderr).toContain("give --etcd URL");
    const badPrefix = await run(["config", "get", "--etcd", etcd.url, "--prefix", "no-slash"]);
    expect(badPrefix.code).toBe(2);
    expect(badPrefix.stderr).toContain('--prefix: expected a key prefix without spaces that ends in "/"');
  });
});

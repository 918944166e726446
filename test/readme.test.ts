/** Keeps the README honest: its configuration example must be a valid config. */
import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { parseConfig } from "../src/config/load.js";

describe("README", () => {
  it("shows a configuration example that validates", async () => {
    const readme = await readFile(new URL("../README.md", import.meta.url), "utf8");
    const example = /```yaml\n(listeners:[\s\S]*?)```/.exec(readme)?.[1];
    expect(example).toBeDefined();
    const config = parseConfig(parse(example as string));
    expect(config.listeners[0]?.pool).toBe("web");
    expect(config.pools.web?.healthCheck).toMatchObject({ path: "/health", rise: 2, fall: 3 });
  });

  it("shows a gRPC pool that validates", async () => {
    const readme = await readFile(new URL("../README.md", import.meta.url), "utf8");
    const section = readme.slice(readme.indexOf("### gRPC and HTTP/2 backends"));
    const example = /```yaml\n([\s\S]*?)```/.exec(section)?.[1];
    expect(example).toBeDefined();
    const config = parseConfig(parse(example as string));
    expect(config.listeners[0]).toMatchObject({ pool: "grpc", h2c: true });
    expect(config.pools.grpc).toMatchObject({ backendProtocol: "h2", healthCheck: { type: "grpc" } });
  });

  it("shows discovery pools that validate", async () => {
    const readme = await readFile(new URL("../README.md", import.meta.url), "utf8");
    const section = readme.slice(readme.indexOf("### Discovery"));
    const example = /```yaml\n([\s\S]*?)```/.exec(section)?.[1];
    expect(example).toBeDefined();
    const listeners = [{ name: "web", listen: "127.0.0.1:0", pool: "orders" }];
    const config = parseConfig({ listeners, ...parse(example as string) });
    expect(config.pools.orders?.discovery?.dns).toMatchObject({ hostname: "orders.internal", port: 8080 });
    expect(config.pools.payments?.discovery?.dns).toMatchObject({ srv: "_http._tcp.payments.internal" });
    expect(config.pools.search?.discovery?.file?.path).toBe("/etc/switchyard/search.json");
    expect(config.pools.search?.backends).toHaveLength(1);
  });

  it("shows PROXY protocol listeners that validate", async () => {
    const readme = await readFile(new URL("../README.md", import.meta.url), "utf8");
    const section = readme.slice(readme.indexOf("### PROXY protocol"));
    const example = /```yaml\n([\s\S]*?)```/.exec(section)?.[1];
    expect(example).toBeDefined();
    const config = parseConfig(parse(example as string));
    expect(config.listeners[0]).toMatchObject({ protocol: "http", acceptProxyProtocol: true });
    expect(config.listeners[1]).toMatchObject({ protocol: "tcp", sendProxyProtocol: "v2" });
  });

  it("shows the ALPHA1/BETA1 balancer's config.py as a valid file", async () => {
    const readme = await readFile(new URL("../README.md", import.meta.url), "utf8");
    const section = readme.slice(readme.indexOf("## Coming from the TCP balancer (ALPHA1/BETA1)"));
    const example = /```yaml\n([\s\S]*?)```/.exec(section)?.[1];
    expect(example).toBeDefined();
    const config = parseConfig(parse(example as string));
    expect(config.listeners[0]).toMatchObject({ protocol: "tcp", pool: "servers" });
    expect(config.pools.servers?.algorithm).toBe("alpha1");
    expect(config.pools.servers?.backends).toHaveLength(3);
  });
});

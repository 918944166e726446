import { describe, expect, it } from "vitest";
import { parseConfig } from "./load.js";

const base = {
  listeners: [{ name: "web", listen: "127.0.0.1:0", pool: "web" }],
  pools: { web: { backends: [{ address: "127.0.0.1:9001" }] } },
};

function problems(configStore: unknown): string {
  try {
    parseConfig({ ...base, configStore });
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error("expected the config to be rejected");
}

describe("configStore", () => {
  it("is optional (the file provides the pools) and fills etcd's defaults when given", () => {
    expect(parseConfig(base).configStore).toBeUndefined();
    expect(parseConfig({ ...base, configStore: { provider: "etcd" } }).configStore).toEqual({
      provider: "etcd",
      endpoints: ["http://127.0.0.1:2379"],
      prefix: "/switchyard/",
      requestTimeoutMs: 2_000,
      applyTimeoutMs: 2_000,
      debounceMs: 50,
    });
    expect(
      parseConfig({
        ...base,
        configStore: {
          provider: "etcd",
          endpoints: ["https://etcd-1:2379/", "http://[::1]:2379"],
          prefix: "/a/b/",
        },
      }).configStore?.endpoints,
    ).toEqual(["https://etcd-1:2379/", "http://[::1]:2379"]);
  });

  it("names the field and what it expects for a bad provider, endpoint, prefix or timeout", () => {
    expect(problems({ provider: "consul" })).toContain(
      'configStore.provider: expected one of: "file", "etcd", found "consul"',
    );
    const endpoint = problems({ provider: "etcd", endpoints: ["127.0.0.1:2379", "http://h:1/path"] });
    expect(endpoint).toContain(
      'configStore.endpoints[0]: expected an etcd client URL "http://host:port" or "https://host:port"',
    );
    expect(endpoint).toContain("configStore.endpoints[1]");
    expect(problems({ endpoints: [] })).toContain(
      "configStore.endpoints: expected at least one etcd endpoint",
    );
    expect(problems({ prefix: "/switchyard" })).toContain(
      'configStore.prefix: expected a key prefix without spaces that ends in "/"',
    );
    expect(problems({ requestTimeoutMs: 0 })).toContain(
      "configStore.requestTimeoutMs: expected a duration from 1ms to 1m: whole milliseconds",
    );
    expect(problems({ provder: "etcd" })).toContain('did you mean "provider"?');
  });
});

import { describe, expect, it } from "vitest";
import { withStoredPools, withStoredRoutes } from "./config-store.js";
import { parseConfig } from "./load.js";

const file = {
  listeners: [
    {
      name: "edge",
      listen: "127.0.0.1:0",
      pool: "web",
      routes: [{ name: "a", match: { path: "/a" }, pool: "web" }],
    },
    { name: "plain", listen: "127.0.0.1:0", pool: "web" },
  ],
  pools: { web: { backends: [{ address: "127.0.0.1:9001" }] } },
};

describe("merging the store over the file", () => {
  it("a stored route list replaces the routes of the file's listener of that name; other listeners keep theirs", () => {
    const stored = [{ name: "b", match: { pathPrefix: "/b" }, pool: "api" }];
    const raw = withStoredRoutes(
      withStoredPools(file, { api: { backends: [{ address: "127.0.0.1:9002" }] } }),
      { plain: stored },
    );
    const config = parseConfig(raw);
    expect(config.listeners.map((listener) => listener.routes?.map((route) => route.name))).toEqual([
      ["a"],
      ["b"],
    ]);
    expect(Object.keys(config.pools)).toEqual(["web", "api"]);
    // An empty stored list leaves the listener without routes.
    expect(parseConfig(withStoredRoutes(file, { edge: [] })).listeners[0]?.routes).toEqual([]);
    expect(withStoredRoutes(file, {})).toBe(file);
  });

  it("refuses routes stored for a listener the file does not have", () => {
    expect(() => withStoredRoutes(file, { admin: [], constructor: [] })).toThrow(
      'invalid routes in etcd: routes are stored for listener "admin", listener "constructor", which the config file does not have (its listeners: edge, plain)',
    );
  });

  it("leaves stored routes to the schema: an unknown pool is named by its path", () => {
    const raw = withStoredRoutes(file, { edge: [{ name: "x", match: { path: "/x" }, pool: "nope" }] });
    expect(() => parseConfig(raw)).toThrow(/listeners\[0\]\.routes\[0\]\.pool/);
  });
});

import { describe, expect, it } from "vitest";
import { listenersPrefix, routesFromEntries, routesKey } from "./etcd-route-keys.js";

const PREFIX = "/switchyard/";

describe("route keys", () => {
  it("stores a listener's route list under listeners/NAME/routes and reads it back in order", () => {
    expect(listenersPrefix(PREFIX)).toBe("/switchyard/listeners/");
    expect(routesKey(PREFIX, "edge")).toBe("/switchyard/listeners/edge/routes");
    const routes = [
      { name: "api", match: { pathPrefix: "/v1" }, pool: "api" },
      { name: "rest", match: { host: "*.example.com" }, pool: "web" },
    ];
    expect(
      routesFromEntries(PREFIX, [
        { key: routesKey(PREFIX, "edge"), value: JSON.stringify(routes) },
        { key: routesKey(PREFIX, "constructor"), value: "[]" },
      ]),
    ).toEqual({ edge: routes, constructor: [] });
  });

  it("lists every malformed key or value in one error", () => {
    let message = "";
    try {
      routesFromEntries(PREFIX, [
        { key: "/switchyard/listeners/edge", value: "[]" },
        { key: "/switchyard/listeners/a/b/routes", value: "[]" },
        { key: "/switchyard/listeners/__proto__/routes", value: "[]" },
        { key: routesKey(PREFIX, "edge"), value: "{nope" },
        { key: routesKey(PREFIX, "web"), value: '{"name":"api"}' },
        { key: routesKey(PREFIX, "deep"), value: `${"[".repeat(200)}${"]".repeat(200)}` },
      ]);
    } catch (error) {
      message = (error as Error).message;
      expect((error as { code?: string }).code).toBe("SY_ERR_CONFIG");
    }
    expect(message).toMatch(/^invalid routes in etcd under \/switchyard\/listeners\/ \(6 problems\):\n/);
    expect(message).toContain("/switchyard/listeners/edge: not a listener's routes key");
    expect(message).toContain("/switchyard/listeners/a/b/routes: not a listener's routes key");
    expect(message).toContain("/switchyard/listeners/__proto__/routes: not a listener's routes key");
    expect(message).toContain("/switchyard/listeners/edge/routes: not JSON");
    expect(message).toContain(
      '/switchyard/listeners/web/routes: expected a JSON array of routes, found {"name":"api"}',
    );
    expect(message).toContain("/switchyard/listeners/deep/routes: nests lists and objects deeper than");
  });
});

/**
 * `listeners[].acceptSockets` from a config file's shape to the bound ports:
 * the runtime gives each HTTP and TCP listener that many SO_REUSEPORT sockets
 * where Node binds them (22.12+ on Linux; one elsewhere), and both serve.
 */
import { afterEach, describe, expect, it } from "vitest";
import { parseConfig } from "../src/config/load.js";
import { DEFAULT_ACCEPT_SOCKETS, reusePortAvailable } from "../src/core/accept-sockets.js";
import { startSwitchyard } from "../src/runtime.js";
import { listeningSocketsOn } from "./helpers/listening-sockets.js";
import { request, startEchoServer } from "./helpers/servers.js";

const cleanups: (() => unknown)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const wanted = (count: number) => (reusePortAvailable() ? count : 1);

describe("listeners[].acceptSockets", () => {
  it("binds each listener's sockets as configured (default 8), and each listener serves", async () => {
    const echo = await startEchoServer("a");
    cleanups.push(() => echo.close());
    const config = parseConfig({
      listeners: [
        { name: "web", listen: "127.0.0.1:0", pool: "main", acceptSockets: 3 },
        { name: "web-default", listen: "127.0.0.1:0", pool: "main" },
        { name: "raw", protocol: "tcp", listen: "127.0.0.1:0", pool: "main", acceptSockets: 2 },
      ],
      pools: { main: { backends: [{ address: echo.address }] } },
    });
    const runtime = await startSwitchyard(config);
    cleanups.push(() => runtime.close(500));
    const port = (name: string) => runtime.listeners.find((l) => l.name === name)?.port as number;

    expect(listeningSocketsOn(port("web")) ?? wanted(3)).toBe(wanted(3));
    expect(listeningSocketsOn(port("web-default")) ?? wanted(DEFAULT_ACCEPT_SOCKETS)).toBe(
      wanted(DEFAULT_ACCEPT_SOCKETS),
    );
    expect(listeningSocketsOn(port("raw")) ?? wanted(2)).toBe(wanted(2));

    for (const name of ["web", "web-default", "raw"]) {
      const replies = await Promise.all(Array.from({ length: 12 }, () => request({ port: port(name) })));
      expect(replies.map((reply) => reply.status)).toEqual(Array(12).fill(200));
    }
  });

  it("rejects a count outside 1..64 in the config", () => {
    const config = (acceptSockets: number) => ({
      listeners: [{ name: "web", listen: "127.0.0.1:0", pool: "main", acceptSockets }],
      pools: { main: { backends: [{ address: "127.0.0.1:9" }] } },
    });
    expect(() => parseConfig(config(0))).toThrow(/acceptSockets/);
    expect(() => parseConfig(config(65))).toThrow(/acceptSockets/);
    expect(() => parseConfig(config(8))).not.toThrow();
  });
});

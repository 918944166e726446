import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { AccessLog, type AccessLogFields } from "./access-log.js";

function capture() {
  const entries: Record<string, unknown>[] = [];
  const logger = pino({ level: "info" }, { write: (line: string) => entries.push(JSON.parse(line)) });
  return { logger, entries };
}

function request(index: number): AccessLogFields {
  return {
    listener: "web",
    method: "GET",
    path: `/item/${index}`,
    status: 200,
    latencyMs: 1.23456,
    backend: "a",
    attempts: 1,
    algorithm: "round-robin",
  };
}

describe("AccessLog", () => {
  it("writes one JSON line per request with the request's fields", () => {
    const { logger, entries } = capture();
    const log = new AccessLog(logger);
    log.record({
      ...request(1),
      status: 502,
      attempts: 2,
      code: "SY_ERR_UPSTREAM_CONNECT",
      clientIp: "10.0.0.1",
    });
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({
      level: 30,
      msg: "access",
      listener: "web",
      method: "GET",
      path: "/item/1",
      status: 502,
      latencyMs: 1.235,
      backend: "a",
      attempts: 2,
      algorithm: "round-robin",
      code: "SY_ERR_UPSTREAM_CONNECT",
      clientIp: "10.0.0.1",
    });
    expect(typeof entries[0]?.time).toBe("number");
  });

  it("logs every Nth request", () => {
    const { logger, entries } = capture();
    const log = new AccessLog(logger, { sample: 3 });
    for (let index = 1; index <= 10; index++) log.record(request(index));
    expect(entries.map((entry) => entry.path)).toEqual(["/item/3", "/item/6", "/item/9"]);
  });

  it("lets a caller skip building the fields with take() and write()", () => {
    const { logger, entries } = capture();
    const log = new AccessLog(logger, { sample: 2 });
    const taken = Array.from({ length: 4 }, () => log.take());
    expect(taken).toEqual([false, true, false, true]);
    log.write(request(7));
    expect(entries).toHaveLength(1);
  });

  it("refuses a sample below 1 with a coded error", () => {
    const { logger } = capture();
    expect(() => new AccessLog(logger, { sample: 0 })).toThrow(
      expect.objectContaining({ code: "SY_ERR_INVALID_OPTIONS" }),
    );
    expect(() => new AccessLog(logger, { sample: 1.5 })).toThrow(/log\.access\.sample/);
  });
});

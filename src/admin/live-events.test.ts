import { afterEach, describe, expect, it, vi } from "vitest";
import { silentLogger } from "../observability/logger.js";
import type { StreamClient } from "./admin-context.js";
import { LiveEvents } from "./live-events.js";

afterEach(() => {
  vi.useRealTimers();
});

interface FakeClient extends StreamClient {
  chunks: string[];
  ended: boolean;
}

function client(): FakeClient {
  const fake: FakeClient = {
    chunks: [],
    ended: false,
    write: (chunk) => fake.chunks.push(chunk),
    end: () => {
      fake.ended = true;
    },
  };
  return fake;
}

/** The `data:` payloads a client received, parsed. */
function snapshots(fake: FakeClient): unknown[] {
  return fake.chunks.filter((chunk) => chunk.startsWith("data: ")).map((chunk) => JSON.parse(chunk.slice(6)));
}

describe("LiveEvents", () => {
  it("builds one snapshot per tick whatever the number of clients, and sends it to each", () => {
    vi.useFakeTimers();
    let built = 0;
    const events = new LiveEvents({
      snapshot: () => ({ tick: ++built }),
      intervalMs: 1000,
      logger: silentLogger,
    });
    const first = client();
    events.open(first);
    expect(snapshots(first)).toEqual([{ tick: 1 }]);
    const second = client();
    const third = client();
    events.open(second);
    events.open(third);
    // Joining between ticks: the latest snapshot at once, not a new one.
    expect(built).toBe(1);
    expect(snapshots(second)).toEqual([{ tick: 1 }]);
    vi.advanceTimersByTime(3000);
    expect(built).toBe(4);
    for (const fake of [first, second, third]) {
      expect(snapshots(fake)).toEqual([{ tick: 1 }, { tick: 2 }, { tick: 3 }, { tick: 4 }]);
      expect(fake.chunks[0]).toMatch(/^retry: \d+\n\n$/);
    }
  });

  it("sends snapshots with their secrets redacted", () => {
    const events = new LiveEvents({
      snapshot: () => ({ agent: "http://scraper:s3cret@127.0.0.1:8082/metrics", token: "t0k" }),
      logger: silentLogger,
    });
    const fake = client();
    events.open(fake);
    events.close();
    expect(snapshots(fake)).toEqual([{ agent: "http://scraper:***@127.0.0.1:8082/metrics", token: "***" }]);
  });

  it("waits for a snapshot gathered asynchronously, skipping ticks while one is pending", async () => {
    vi.useFakeTimers();
    let started = 0;
    const pending: ((value: unknown) => void)[] = [];
    const events = new LiveEvents({
      snapshot: () => {
        started++;
        return new Promise((resolve) => pending.push(resolve));
      },
      intervalMs: 1000,
      logger: silentLogger,
    });
    const fake = client();
    events.open(fake);
    vi.advanceTimersByTime(3000);
    expect(started).toBe(1);
    pending[0]?.({ gathered: 1 });
    await vi.advanceTimersByTimeAsync(1000);
    expect(snapshots(fake)[0]).toEqual({ gathered: 1 });
    expect(started).toBe(2);
    events.close();
  });

  it("runs its timer only while a client listens", () => {
    vi.useFakeTimers();
    let built = 0;
    const events = new LiveEvents({ snapshot: () => ++built, intervalMs: 500, logger: silentLogger });
    expect(events.ticking).toBe(false);
    const leaveA = events.open(client());
    const leaveB = events.open(client());
    expect(events.ticking).toBe(true);
    leaveA();
    leaveA();
    expect(events.streams).toBe(1);
    expect(events.ticking).toBe(true);
    leaveB();
    expect(events.ticking).toBe(false);
    vi.advanceTimersByTime(5000);
    expect(built).toBe(1);
    // A later client starts afresh, with a new snapshot.
    const late = client();
    events.open(late);
    expect(snapshots(late)).toEqual([2]);
  });

  it("ends every stream on close and refuses new ones", () => {
    vi.useFakeTimers();
    const events = new LiveEvents({ snapshot: () => ({}), logger: silentLogger, maxStreams: 2 });
    const open = [client(), client()];
    for (const fake of open) events.open(fake);
    expect(events.full).toBe(true);
    events.close();
    expect(open.every((fake) => fake.ended)).toBe(true);
    expect(events.ticking).toBe(false);
    const late = client();
    events.open(late);
    expect(late.ended).toBe(true);
    expect(late.chunks).toEqual([]);
  });

  it("keeps ticking when a snapshot fails, and logs it", () => {
    vi.useFakeTimers();
    const logger = silentLogger.child({});
    const error = vi.spyOn(logger, "error");
    let calls = 0;
    const events = new LiveEvents({
      snapshot: () => {
        calls++;
        if (calls === 2) throw new Error("boom");
        return calls;
      },
      intervalMs: 100,
      logger,
    });
    const fake = client();
    events.open(fake);
    vi.advanceTimersByTime(200);
    expect(snapshots(fake)).toEqual([1, 3]);
    expect(error).toHaveBeenCalledTimes(1);
    events.close();
  });

  it("rejects a bad interval with a coded error", () => {
    expect(() => new LiveEvents({ snapshot: () => ({}), intervalMs: 0, logger: silentLogger })).toThrow(
      expect.objectContaining({ code: "SY_ERR_INVALID_OPTIONS" }),
    );
  });
});

/**
 * h2load (nghttp2) as the HTTP/2 load generator of bench/edge.js: installed
 * from Debian (`nghttp2-client`) when missing, run for a fixed duration per
 * target (pinnable, tracked like every bench child), its summary parsed.
 */
import { spawnSync } from "node:child_process";
import { ensureInstalled } from "./apt.js";
import { startChild, stopChild, tail } from "./children.js";
import { durationMs } from "./stats.js";

/** Makes sure `h2load` exists; returns a reason string when it cannot be had. */
export function ensureH2load(log = console.log) {
  return ensureInstalled("h2load", "nghttp2-client", log);
}

export function h2loadVersion() {
  const out = spawnSync("h2load", ["--version"], { encoding: "utf8" }).stdout ?? "";
  return out.match(/nghttp2\/(\S+)/)?.[1] ?? "unknown";
}

/** The figures of h2load's summary; throws when its "finished in" line is missing or h2 was not negotiated. */
export function parseH2load(output) {
  const finished = /finished in ([\d.]+)s, ([\d.]+) req\/s/.exec(output);
  if (!finished) throw new Error("h2load printed no summary");
  const protocol = /Application protocol: (\S+)/.exec(output)?.[1];
  if (protocol !== "h2") throw new Error(`ALPN gave ${protocol ?? "no protocol"}, not h2`);
  const requests =
    /requests: (\d+) total, \d+ started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout/.exec(
      output,
    );
  // Responses by class; in -D mode a response may count here and not yet as "done" at the deadline.
  const status = /status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx/.exec(output);
  const perRequest = /time for request:\s+(\S+)\s+(\S+)\s+(\S+)/.exec(output);
  const ok = Number(status?.[1] ?? Number.NaN);
  return {
    requests: Number(requests?.[1] ?? Number.NaN),
    ok,
    rps: Number(finished[2]),
    p50: Number.NaN,
    p99: Number.NaN,
    mean: perRequest ? durationMs(perRequest[3]) : Number.NaN,
    max: perRequest ? durationMs(perRequest[2]) : Number.NaN,
    non2xx: Number(status?.[2] ?? 0) + Number(status?.[3] ?? 0) + Number(status?.[4] ?? 0),
    errors: Number(requests?.[4] ?? 0) + Number(requests?.[5] ?? 0),
    timeouts: Number(requests?.[6] ?? 0),
    durationSec: Number(finished[1]),
  };
}

/**
 * One h2load run against `url`: `clients` connections (-c), `streams` concurrent
 * streams each (-m), one thread, for `durationSec` (-D), pinned to `cpu`.
 */
export async function runH2load({ url, clients, streams, durationSec, cpu }) {
  const handle = startChild({
    name: "h2load",
    command: "h2load",
    args: ["-c", String(clients), "-m", String(streams), "-t", "1", "-D", String(durationSec), url],
    cpu,
  });
  let output = "";
  handle.child.stdout.on("data", (chunk) => {
    output += chunk;
  });
  const closed = new Promise((resolve) => handle.child.once("close", resolve));
  const timer = setTimeout(() => stopChild(handle), (durationSec + 30) * 1000);
  await closed;
  clearTimeout(timer);
  try {
    return parseH2load(output);
  } catch (error) {
    throw new Error(`${error.message} (exit ${handle.exitCode}):\n${tail(handle)}`);
  }
}

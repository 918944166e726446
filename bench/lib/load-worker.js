/**
 * The load generator of bench/proxy.js and bench/edge.js (http or https URLs;
 * autocannon does not verify certificates): autocannon 9 as a library in its own
 * (pinnable) process. Answers `run` requests with a summary of one run.
 */
import autocannon from "autocannon";
import { serveParent } from "./child-ipc.js";

async function run({ url, connections, durationSec }) {
  const result = await autocannon({ url, connections, duration: durationSec, pipelining: 1 });
  const ok = result["2xx"];
  return {
    requests: result.requests.total,
    ok,
    rps: ok / result.duration,
    p50: result.latency.p50,
    p90: result.latency.p90,
    p99: result.latency.p99,
    mean: result.latency.mean,
    max: result.latency.max,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    durationSec: result.duration,
  };
}

serveParent({ handlers: { run } }).ready();

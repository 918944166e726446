/**
 * wrk as the load generator of bench/proxy.js, as BENCHMARKS.md measures the
 * reference figures (`wrk -t1 -c64 --latency`): installed from Debian when
 * missing, one run per call, pinned to the load core. wrk costs a fraction of
 * autocannon's CPU per request, so on the shared load core it leaves the proxy
 * under test, not the load generator, as the bottleneck. The run's own CPU
 * time comes from the shell's `times` after wrk exits.
 */
import { ensureInstalled } from "./apt.js";
import { startChild } from "./children.js";
import { durationMs } from "./stats.js";

export function ensureWrk(log = console.log) {
  return ensureInstalled("wrk", "wrk", log);
}

/** A `times` line ("0m1.234s 0m0.567s") → user + system seconds. */
function timesSeconds(line) {
  let sum = 0;
  for (const [, min, sec] of line.matchAll(/(\d+)m([\d.]+)s/g)) sum += Number(min) * 60 + Number(sec);
  return sum;
}

/** Reads wrk's `--latency` report into the summary bench/lib/measure.js expects. */
export function parseWrkOutput(text) {
  const find = (re) => re.exec(text);
  const total = find(/(\d+) requests in ([\d.]+\w+)/);
  if (total === null) throw new Error(`wrk printed no summary:\n${text.slice(-600)}`);
  const requests = Number(total[1]);
  const durationSec = durationMs(total[2]) / 1000;
  const latency = find(/Latency\s+(\S+)\s+\S+\s+(\S+)/);
  const percentile = (p) => durationMs(find(new RegExp(`^\\s+${p}%\\s+(\\S+)`, "m"))?.[1] ?? "");
  const socket = find(/Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/);
  const non2xx = Number(find(/Non-2xx or 3xx responses: (\d+)/)?.[1] ?? 0);
  const errors = socket === null ? 0 : Number(socket[1]) + Number(socket[2]) + Number(socket[3]);
  const timeouts = socket === null ? 0 : Number(socket[4]);
  const ok = requests - non2xx;
  const timesLines = text.trimEnd().split("\n").slice(-2);
  return {
    requests,
    ok,
    rps: ok / durationSec,
    p50: percentile(50),
    p90: percentile(90),
    p99: percentile(99),
    mean: durationMs(latency?.[1] ?? ""),
    max: durationMs(latency?.[2] ?? ""),
    non2xx,
    errors,
    timeouts,
    durationSec,
    // `times` prints the shell's own line, then its children's: wrk's CPU.
    loadCpuSec: timesLines.length === 2 ? timesSeconds(timesLines[1]) : Number.NaN,
  };
}

/**
 * One wrk run (`-t1`) against `url`, pinned to `cpu`; resolves with parseWrkOutput's summary.
 * `headers` ("Name: value" strings) go on every request.
 */
export function runWrk({ url, connections, durationSec, cpu, headers = [] }) {
  const handle = startChild({
    name: "wrk",
    command: "sh",
    args: [
      "-c",
      'wrk "$@"; times',
      "wrk",
      "-t1",
      `-c${connections}`,
      `-d${durationSec}s`,
      "--latency",
      "--timeout",
      "10s",
      ...headers.flatMap((header) => ["-H", header]),
      url,
    ],
    cpu,
  });
  let text = "";
  handle.child.stdout.on("data", (chunk) => {
    text += chunk;
  });
  return new Promise((resolve, reject) => {
    handle.child.once("close", (code) => {
      if (code !== 0) reject(new Error(`wrk exited with ${code}: ${handle.output.slice(-5).join("\n")}`));
      else {
        try {
          resolve(parseWrkOutput(text));
        } catch (error) {
          reject(error);
        }
      }
    });
  });
}

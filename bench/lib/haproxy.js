/**
 * HAProxy as a bench target: installed from Debian when missing, run in the
 * foreground with one thread (`nbthread 1`), HTTP mode and `http-reuse
 * always`, in front of the bench upstreams with the `balance` given
 * (roundrobin by default). With `tls` it terminates TLS (certificate and key
 * in one PEM file, ALPN h2 and http/1.1) and speaks plain HTTP/1.1 upstream.
 */
import { spawnSync } from "node:child_process";
import { ensureInstalled } from "./apt.js";
import { startConfigured } from "./configured-child.js";

/** Makes sure `haproxy` exists; returns a reason string when it cannot be had. */
export function ensureHaproxy(log = console.log) {
  return ensureInstalled("haproxy", "haproxy", log);
}

export function haproxyVersion() {
  const out = spawnSync("haproxy", ["-v"], { encoding: "utf8" }).stdout ?? "";
  return out.split("\n")[0]?.match(/version (\S+)/)?.[1] ?? "unknown";
}

function config(port, upstreamPorts, balance, tls) {
  const bind = tls ? `127.0.0.1:${port} ssl crt ${tls.pem} alpn h2,http/1.1` : `127.0.0.1:${port}`;
  return `global
  nbthread 1
  maxconn 9500
  log stdout format raw local0 err

defaults
  mode http
  option http-keep-alive
  http-reuse always
  timeout connect 5s
  timeout client 120s
  timeout server 120s
  timeout http-keep-alive 120s
  timeout http-request 60s

frontend bench
  bind ${bind}
  default_backend upstream

backend upstream
  balance ${balance}
${upstreamPorts.map((upstream, i) => `  server backend${i} 127.0.0.1:${upstream}`).join("\n")}
`;
}

/**
 * Starts HAProxy pinned to `cpu` (one upstream port, or several); `tls: { pem }`
 * makes its listener TLS. Resolves with `{ handle, port, cleanup }`.
 */
export function startHaproxy({
  upstreamPort,
  upstreamPorts = [upstreamPort],
  balance = "roundrobin",
  cpu,
  tls,
}) {
  return startConfigured({
    name: "haproxy",
    command: "haproxy",
    args: (file) => ["-f", file, "-db"],
    config: (port) => config(port, upstreamPorts, balance, tls),
    cpu,
  });
}

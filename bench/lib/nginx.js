/**
 * NGINX in the benches, installed from Debian when missing, one worker in the
 * foreground: as a target, an upstream block with the balancing directive
 * given (`least_conn;`, or "" for round-robin) and kept-alive upstream
 * connections; as the backend, answering 200 "ok\n" itself.
 */
import { spawnSync } from "node:child_process";
import { ensureInstalled } from "./apt.js";
import { startConfigured } from "./configured-child.js";

export function ensureNginx(log = console.log) {
  return ensureInstalled("nginx", "nginx-light", log);
}

export function nginxVersion() {
  const out = spawnSync("nginx", ["-v"], { encoding: "utf8" }).stderr ?? "";
  return out.match(/nginx\/(\S+)/)?.[1] ?? "unknown";
}

/**
 * A configuration for one foreground worker logging errors only, its pid and
 * temp files in `dir`, around the `http` block's body. `singleProcess` also
 * drops the master, so the pid started is the one doing the work.
 */
function nginxConfig(dir, { workerConnections, singleProcess = false }, http) {
  return `worker_processes 1;
${singleProcess ? "master_process off;\n" : ""}daemon off;
pid ${dir}/nginx.pid;
error_log stderr error;
events { worker_connections ${workerConnections}; }
http {
  access_log off;
  client_body_temp_path ${dir};
${http}}
`;
}

function startNginxProcess(name, config, cpu) {
  return startConfigured({
    name,
    command: "nginx",
    args: (file, dir) => ["-p", dir, "-c", file],
    config,
    cpu,
  });
}

function config(port, dir, upstreamPorts, balance) {
  return nginxConfig(
    dir,
    { workerConnections: 8192 },
    `  proxy_temp_path ${dir};
  upstream backends {
    ${balance}
${upstreamPorts.map((upstream) => `    server 127.0.0.1:${upstream} max_fails=0;`).join("\n")}
    keepalive 256;
  }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://backends;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
`,
  );
}

/** Starts NGINX pinned to `cpu` in front of `upstreamPorts`; resolves with `{ handle, port, cleanup }`. */
export function startNginx({ upstreamPorts, balance = "least_conn;", cpu }) {
  return startNginxProcess("nginx", (port, dir) => config(port, dir, upstreamPorts, balance), cpu);
}

function responderConfig(port, dir) {
  return nginxConfig(
    dir,
    { workerConnections: 10000, singleProcess: true },
    `  keepalive_requests 1000000;
  keepalive_timeout 300s;
  server {
    listen 127.0.0.1:${port};
    location / {
      return 200 "ok\n";
    }
  }
`,
  );
}

/**
 * Starts NGINX as the bench backend, as BENCHMARKS.md measures: one process
 * (no master) pinned to `cpu`, answering 200 "ok\n" on keep-alive
 * connections that it does not recycle.
 */
export function startNginxResponder({ cpu }) {
  return startNginxProcess("nginx-backend", responderConfig, cpu);
}

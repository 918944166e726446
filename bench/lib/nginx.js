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

function config(port, dir, upstreamPorts, balance) {
  return `worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log stderr error;
events { worker_connections 8192; }
http {
  access_log off;
  client_body_temp_path ${dir};
  proxy_temp_path ${dir};
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
}
`;
}

/** Starts NGINX pinned to `cpu` in front of `upstreamPorts`; resolves with `{ handle, port, cleanup }`. */
export function startNginx({ upstreamPorts, balance = "least_conn;", cpu }) {
  return startConfigured({
    name: "nginx",
    command: "nginx",
    args: (file, dir) => ["-p", dir, "-c", file],
    config: (port, dir) => config(port, dir, upstreamPorts, balance),
    cpu,
  });
}

function responderConfig(port, dir) {
  return `worker_processes 1;
master_process off;
daemon off;
pid ${dir}/nginx.pid;
error_log stderr error;
events { worker_connections 10000; }
http {
  access_log off;
  client_body_temp_path ${dir};
  keepalive_requests 1000000;
  keepalive_timeout 300s;
  server {
    listen 127.0.0.1:${port};
    location / {
      return 200 "ok\\n";
    }
  }
}
`;
}

/**
 * Starts NGINX as the bench backend, as BENCHMARKS.md measures: one process
 * (no master, so the pid is the one doing the work) pinned to `cpu`,
 * answering 200 "ok\n" on keep-alive connections that it does not recycle.
 */
export function startNginxResponder({ cpu }) {
  return startConfigured({
    name: "nginx-backend",
    command: "nginx",
    args: (file, dir) => ["-p", dir, "-c", file],
    config: responderConfig,
    cpu,
  });
}

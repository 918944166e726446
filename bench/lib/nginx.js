/**
 * NGINX as a bench target: installed from Debian when missing, one worker in
 * the foreground, an upstream block with the balancing directive given
 * (`least_conn;`, or "" for round-robin) and kept-alive upstream connections.
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

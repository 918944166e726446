/**
 * HAProxy as a bench target: installed from Debian when missing, run in the
 * foreground with one thread (`nbthread 1`), HTTP mode and `http-reuse
 * always`, in front of the bench upstream.
 */
import { spawnSync } from "node:child_process";
import { rmSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { hasCommand, startChild, tail } from "./children.js";

/** Makes sure `haproxy` exists; returns a reason string when it cannot be had. */
export function ensureHaproxy(log = console.log) {
  if (hasCommand("haproxy")) return undefined;
  if (!hasCommand("apt-get")) return "haproxy is not installed and apt-get is not available";
  log("haproxy missing: apt-get install -y haproxy");
  const install = () =>
    spawnSync("apt-get", ["install", "-y", "haproxy"], {
      stdio: "ignore",
      env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
      timeout: 300_000,
    }).status === 0;
  if (!install()) {
    log("apt-get install failed: apt-get update, then retry");
    spawnSync("apt-get", ["update"], { stdio: "ignore", timeout: 300_000 });
    if (!install()) return "apt-get install -y haproxy failed";
  }
  return hasCommand("haproxy") ? undefined : "haproxy still not on PATH after installing";
}

export function haproxyVersion() {
  const out = spawnSync("haproxy", ["-v"], { encoding: "utf8" }).stdout ?? "";
  return out.split("\n")[0]?.match(/version (\S+)/)?.[1] ?? "unknown";
}

/** A TCP port free right now on 127.0.0.1 (HAProxy needs one in its config). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function config(port, upstreamPort) {
  return `global
  nbthread 1
  maxconn 8000
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
  bind 127.0.0.1:${port}
  default_backend upstream

backend upstream
  server backend 127.0.0.1:${upstreamPort}
`;
}

function canConnect(port) {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

/** Starts HAProxy pinned to `cpu`; resolves with `{ handle, port, cleanup }`. */
export async function startHaproxy({ upstreamPort, cpu }) {
  const dir = await mkdtemp(path.join(os.tmpdir(), "switchyard-bench-haproxy-"));
  const file = path.join(dir, "haproxy.cfg");
  const port = await freePort();
  await writeFile(file, config(port, upstreamPort));
  const handle = startChild({ name: "haproxy", command: "haproxy", args: ["-f", file, "-db"], cpu });
  // Removed at the end, and synchronously if the bench exits early (signal, error).
  const removeNow = () => rmSync(dir, { recursive: true, force: true });
  process.once("exit", removeNow);
  const cleanup = async () => {
    process.off("exit", removeNow);
    await rm(dir, { recursive: true, force: true });
  };
  for (let i = 0; i < 100; i++) {
    if (handle.exited) break;
    if (await canConnect(port)) return { handle, port, cleanup, configText: config(port, upstreamPort) };
    await sleep(50);
  }
  await cleanup();
  throw new Error(`haproxy did not start listening on ${port}:\n${tail(handle)}`);
}

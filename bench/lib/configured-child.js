/**
 * A native proxy (HAProxy, NGINX) as a bench target: its config written into
 * a fresh temporary directory (benchTempDir) (removed at the end, and synchronously if the
 * bench exits early), the process started in the foreground, and the wait
 * until it accepts connections on a port chosen for it.
 */
import { rmSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { startChild, tail } from "./children.js";

/** A TCP port free right now on 127.0.0.1 (native proxies need one in their config). */
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

/**
 * Starts `command` pinned to `cpu` with `args(configFile, dir)`, the config
 * being `config(port, dir)`; resolves with `{ handle, port, cleanup, configText }`.
 */
/**
 * A fresh temporary directory for a bench's files (configs, certificates):
 * `cleanup()` removes it, and it is removed synchronously if the bench exits first.
 */
export async function benchTempDir(name) {
  const dir = await mkdtemp(path.join(os.tmpdir(), `switchyard-bench-${name}-`));
  const removeNow = () => rmSync(dir, { recursive: true, force: true });
  process.once("exit", removeNow);
  const cleanup = async () => {
    process.off("exit", removeNow);
    await rm(dir, { recursive: true, force: true });
  };
  return { dir, cleanup };
}

export async function startConfigured({ name, command, args, config, cpu }) {
  const { dir, cleanup } = await benchTempDir(name);
  const file = path.join(dir, `${name}.conf`);
  const port = await freePort();
  const configText = config(port, dir);
  await writeFile(file, configText);
  const handle = startChild({ name, command, args: args(file, dir), cpu });
  for (let i = 0; i < 100; i++) {
    if (handle.exited) break;
    if (await canConnect(port)) return { handle, port, cleanup, configText };
    await sleep(50);
  }
  await cleanup();
  throw new Error(`${name} did not start listening on ${port}:\n${tail(handle)}`);
}

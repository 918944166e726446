/**
 * A real etcd for integration tests: Debian's `etcd` binary (installed by
 * test/global-setup.ts when missing) on free 127.0.0.1 client and peer ports
 * with a temporary data dir. etcd cannot listen on port 0, so free ports are
 * found by binding port 0 and releasing it. `stop()` and `start()` restart it
 * on the same ports and data, so clients can reconnect and find their keys;
 * `destroy()` stops it and removes the data dir.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll } from "vitest";
import { DEBIAN_TOOLS } from "../global-setup.js";
import { closedPort, LOCALHOST } from "./servers.js";

const READY_TIMEOUT_MS = 15_000;
const STOP_TIMEOUT_MS = 5_000;

export interface TestEtcd {
  /** `http://127.0.0.1:port`, the client URL. */
  readonly url: string;
  readonly clientPort: number;
  /** True while the etcd process runs. */
  readonly running: boolean;
  /** Starts etcd again on the same ports and data dir; resolves once it answers /health. */
  start(): Promise<void>;
  /** Stops etcd (SIGTERM, SIGKILL after 5 s); the data dir stays. */
  stop(): Promise<void>;
  /** Stops etcd and removes its data dir. */
  destroy(): Promise<void>;
}

export async function startEtcd(): Promise<TestEtcd> {
  const dataDir = await mkdtemp(join(tmpdir(), "switchyard-etcd-"));
  const clientPort = await closedPort();
  let peerPort = await closedPort();
  while (peerPort === clientPort) peerPort = await closedPort();
  const url = `http://${LOCALHOST}:${clientPort}`;
  const peerUrl = `http://${LOCALHOST}:${peerPort}`;
  let child: ChildProcess | undefined;
  let stderr = "";

  const start = async () => {
    stderr = "";
    const started = spawn(
      DEBIAN_TOOLS["etcd-server"],
      [
        "--name=switchyard-test",
        `--data-dir=${dataDir}`,
        `--listen-client-urls=${url}`,
        `--advertise-client-urls=${url}`,
        `--listen-peer-urls=${peerUrl}`,
        `--initial-advertise-peer-urls=${peerUrl}`,
        `--initial-cluster=switchyard-test=${peerUrl}`,
        "--log-level=error",
        "--logger=zap",
      ],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    child = started;
    started.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
      stderr = (stderr + chunk).slice(-4_000);
    });
    try {
      await waitForHealth(url, started);
    } catch (error) {
      started.kill("SIGKILL");
      throw new Error(`etcd did not start: ${(error as Error).message}\n${stderr}`);
    }
  };

  const stop = async () => {
    const running = child;
    child = undefined;
    if (!running || running.exitCode !== null || running.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => running.once("exit", () => resolve()));
    running.kill("SIGTERM");
    const timer = setTimeout(() => running.kill("SIGKILL"), STOP_TIMEOUT_MS);
    await exited;
    clearTimeout(timer);
  };

  try {
    await start();
  } catch (error) {
    await rm(dataDir, { recursive: true, force: true });
    throw error;
  }
  return {
    url,
    clientPort,
    get running() {
      return child !== undefined && child.exitCode === null && child.signalCode === null;
    },
    start,
    stop,
    async destroy() {
      await stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** Polls `GET /health` until etcd answers healthy, or fails when the process exits or time runs out. */
async function waitForHealth(url: string, child: ChildProcess): Promise<void> {
  let healthy = false;
  let exited = false;
  child.once("exit", () => {
    exited = true;
  });
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (!healthy) {
    if (exited) throw new Error("etcd exited");
    if (Date.now() > deadline) throw new Error(`no healthy answer from ${url}/health in time`);
    healthy = await fetch(`${url}/health`, { signal: AbortSignal.timeout(1_000) })
      .then((response) => response.ok)
      .catch(() => false);
    if (!healthy) await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** What a suite on one etcd shares: etcd and a temporary directory (set before the tests run), and cleanups. */
export interface EtcdSuite {
  readonly etcd: TestEtcd;
  readonly dir: string;
  /** Run after each test, last first; then etcd is started again if the test stopped it. */
  readonly cleanups: (() => Promise<unknown> | unknown)[];
}

/** Registers the hooks of a suite on one etcd: started before all tests, destroyed after, with a `switchyard-<name>-` directory. */
export function useEtcdSuite(name: string): EtcdSuite {
  const suite = { etcd: undefined as unknown as TestEtcd, dir: "", cleanups: [] as EtcdSuite["cleanups"] };
  beforeAll(async () => {
    suite.dir = await mkdtemp(join(tmpdir(), `switchyard-${name}-`));
    suite.etcd = await startEtcd();
  });
  afterAll(async () => {
    await suite.etcd?.destroy();
    if (suite.dir !== "") await rm(suite.dir, { recursive: true, force: true });
  });
  afterEach(async () => {
    for (const cleanup of suite.cleanups.splice(0).reverse()) await cleanup();
    if (!suite.etcd.running) await suite.etcd.start();
  });
  return suite;
}

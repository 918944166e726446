/**
 * Per-test-file fixtures that register their own vitest hooks: a temporary
 * directory (made before the file's tests, removed after) for config files,
 * demo backends on 127.0.0.1 closed after each test, and the cleanups a test
 * registers (servers, proxies, clients) run after it; and a valid config text
 * the CLI tests start from.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll } from "vitest";
import { DemoBackend } from "../../src/demo/backend-server.js";

/** A valid config file: one HTTP listener on a free port, one round-robin pool of two backends. */
export const VALID = `
listeners:
  - name: web
    listen: 127.0.0.1:0
    pool: web
pools:
  web:
    algorithm: round-robin
    backends:
      - address: 127.0.0.1:9001
      - address: 127.0.0.1:9002
`;

export interface TempDir {
  /** The directory's path (set once the file's tests start). */
  readonly path: string;
  /** Writes `text` to `name` in the directory; resolves with its path. */
  file(name: string, text: string): Promise<string>;
}

export function useTempDir(prefix: string): TempDir {
  let path = "";
  beforeAll(async () => {
    path = await mkdtemp(join(tmpdir(), prefix));
  });
  afterAll(async () => {
    await rm(path, { recursive: true, force: true });
  });
  return {
    get path() {
      return path;
    },
    async file(name, text) {
      const file = join(path, name);
      await writeFile(file, text);
      return file;
    },
  };
}

/**
 * A temporary directory made at once, for files a test file needs while it
 * loads (certificates made at its top level); removed after its tests.
 */
export function useTempDirNow(prefix: string): string {
  const path = mkdtempSync(join(tmpdir(), prefix));
  afterAll(() => rmSync(path, { recursive: true, force: true }));
  return path;
}

/** What a test registers to be undone once it ends: servers, proxies, clients. */
export interface Cleanups {
  push(...cleanups: (() => unknown)[]): void;
}

/** Cleanups run after each test of the file, last registered first, each awaited. */
export function useCleanups(): Cleanups {
  const pending: (() => unknown)[] = [];
  afterEach(async () => {
    for (let cleanup = pending.pop(); cleanup; cleanup = pending.pop()) await cleanup();
  });
  return {
    push: (...cleanups) => {
      pending.push(...cleanups);
    },
  };
}

/** Starts demo backends (`host:port` back) that are closed after each test. */
export function useDemoBackends(): (name: string) => Promise<string> {
  const started: DemoBackend[] = [];
  afterEach(async () => {
    await Promise.all(started.splice(0).map((backend) => backend.close()));
  });
  return async (name) => {
    const backend = new DemoBackend({ name });
    started.push(backend);
    const { host, port } = await backend.listen();
    return `${host}:${port}`;
  };
}

/**
 * File discovery: a pool's backends follow a JSON file (backends-file.ts).
 * The file is read at start, again when it changes (a debounced file watch
 * that also sees a file replaced by rename), and every `intervalMs` for the
 * changes a watch misses (network filesystems). Reads run one at a time, and
 * each is applied (cheap when nothing changed), so a backend listed again
 * while it was still draining joins on a later read. A file that is missing,
 * unreadable or invalid keeps the backends as they are and is reported
 * (stats, one log line per distinct problem) until a good version is read.
 */
import { readFile } from "node:fs/promises";
import { type WatchLogger, watchFile } from "../core/watch-file.js";
import { parseBackendsFile } from "./backends-file.js";
import type { DiscoveredBackends } from "./discovered-backends.js";
import type { FileDiscoveryConfig } from "./discovery-options.js";
import { type DiscoveryStats, RefreshStatus } from "./refresh-status.js";

export class FileDiscovery {
  readonly options: Readonly<FileDiscoveryConfig>;
  readonly #members: DiscoveredBackends;
  readonly #logger: WatchLogger;
  readonly #status: RefreshStatus;
  #unwatch: (() => void) | undefined;
  #timer: NodeJS.Timeout | undefined;
  #reads: Promise<void> = Promise.resolve();
  #running = false;

  constructor(members: DiscoveredBackends, options: FileDiscoveryConfig, logger: WatchLogger) {
    this.options = Object.freeze({ ...options });
    this.#members = members;
    this.#logger = logger;
    this.#status = new RefreshStatus("file", options.path, `backends file ${options.path}`, logger);
  }

  /** Reads the file and keeps following it until `stop()`; resolves after the first read. */
  async start(): Promise<void> {
    this.#running = true;
    this.#unwatch = watchFile(this.options.path, () => this.#refresh(), this.#logger, {
      what: this.#status.label,
      sighup: false,
    });
    this.#timer = setInterval(() => void this.#refresh(), this.options.intervalMs);
    this.#timer.unref();
    await this.#refresh();
  }

  stop(): void {
    this.#running = false;
    this.#unwatch?.();
    this.#unwatch = undefined;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Reads the file once more (after any read under way) and applies it. */
  #refresh(): Promise<void> {
    this.#reads = this.#reads.then(() => this.#read());
    return this.#reads;
  }

  stats(): DiscoveryStats {
    return this.#status.stats(this.#members.size);
  }

  async #read(): Promise<void> {
    if (!this.#running) return;
    try {
      const text = await readFile(this.options.path, "utf8");
      const backends = parseBackendsFile(text);
      if (!this.#running) return;
      this.#status.succeeded();
      this.#members.apply(backends, this.#status.label, this.options.drainTimeoutMs);
    } catch (error) {
      if (this.#running) this.#status.failed(describeReadError(error));
    }
  }
}

/** A read error in a few words; the status names the file. */
function describeReadError(error: unknown): unknown {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === "ENOENT") return "no such file";
  if (code === "EISDIR") return "a directory, not a file";
  return code?.startsWith("E") ? `cannot be read (${code})` : error;
}

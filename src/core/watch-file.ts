/**
 * Following a file that is edited while the process runs (the config file,
 * TLS certificates, a discovery file): change events are debounced, since
 * editors write in several steps, and the directory is watched as well, so a
 * file replaced by a rename (editors, Kubernetes ConfigMaps) is still seen.
 */
import { type FSWatcher, watch } from "node:fs";
import { basename, dirname } from "node:path";

/** Debounce for file-change events: editors write a file in several steps. */
export const WATCH_DEBOUNCE_MS = 200;

export interface WatchLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/**
 * Calls `onChange` (debounced) when `file` changes, and on SIGHUP unless
 * `sighup` is false (several files behind one reload take the signal once);
 * `what` names the file in the log (default its path).
 * The directory is watched too, so a file replaced by an editor's rename (or
 * deleted and re-created) is picked up and the file watcher is re-armed.
 * Returns a function that stops watching.
 */
export function watchFile(
  file: string,
  onChange: () => unknown,
  logger: WatchLogger,
  { debounceMs = WATCH_DEBOUNCE_MS, what = file, sighup = true } = {},
): () => void {
  let timer: NodeJS.Timeout | undefined;
  let fileWatcher: FSWatcher | undefined;
  let dirWatcher: FSWatcher | undefined;
  let stopped = false;
  // Reloads run one at a time, in order.
  let queue: Promise<unknown> = Promise.resolve();
  const run = () => {
    queue = queue.then(onChange).catch(() => undefined);
  };
  const trigger = () => {
    if (stopped) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      if (!stopped) run();
    }, debounceMs);
  };
  const armFile = () => {
    fileWatcher?.close();
    fileWatcher = undefined;
    try {
      fileWatcher = watch(file, (event) => {
        if (event === "rename") setTimeout(armFile, 20);
        trigger();
      });
      fileWatcher.on("error", () => {
        fileWatcher?.close();
        fileWatcher = undefined;
      });
    } catch {
      // The file is gone for now (mid-replace); the directory watcher re-arms it.
    }
  };
  armFile();
  try {
    const name = basename(file);
    dirWatcher = watch(dirname(file), (_event, changed) => {
      if (changed !== null && changed.toString() !== name) return;
      if (!fileWatcher) armFile();
      trigger();
    });
    dirWatcher.on("error", () => undefined);
  } catch (error) {
    logger.warn(
      { error: (error as Error).message },
      `cannot watch the directory of ${what}; file replacement may be missed`,
    );
  }
  const onHup = () => {
    logger.info({ file }, `SIGHUP: re-reading ${what}`);
    if (timer) clearTimeout(timer);
    timer = undefined;
    run();
  };
  if (sighup) process.on("SIGHUP", onHup);
  logger.info({ file, debounceMs }, `watching ${what} for changes${sighup ? " (SIGHUP also reloads)" : ""}`);
  return () => {
    stopped = true;
    if (timer) clearTimeout(timer);
    fileWatcher?.close();
    dirWatcher?.close();
    process.off("SIGHUP", onHup);
  };
}

/**
 * How long-running commands stop: wait for the first SIGINT or SIGTERM, then
 * run a graceful stop that cannot hang. A second signal during the stop, or a
 * stop outlasting its grace period plus a margin, prints one error line and
 * exits 1 instead.
 */

/** Extra time past the grace period before a stuck shutdown is forced. */
const SHUTDOWN_MARGIN_MS = 5_000;

/** Resolves with the first SIGINT or SIGTERM. */
export function nextSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
      resolve(signal);
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
  });
}

/**
 * Runs `stop`; a second signal, or `stop` outlasting the grace period plus a
 * margin, forces the exit (code 1) instead of hanging.
 */
export async function shutdown(graceMs: number, stop: () => Promise<unknown>): Promise<void> {
  const force = (reason: string) => {
    process.stderr.write(`error: ${reason}; exiting without finishing the shutdown\n`);
    process.exit(1);
  };
  const onSignal = (signal: NodeJS.Signals) => force(`${signal} received during shutdown`);
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  const timer = setTimeout(() => force("shutdown took too long"), graceMs + SHUTDOWN_MARGIN_MS);
  try {
    await stop();
  } finally {
    clearTimeout(timer);
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}

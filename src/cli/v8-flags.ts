/**
 * The V8 settings `switchyard proxy` runs with, each added only when neither
 * node's command line nor NODE_OPTIONS already chooses that setting (as JVM
 * launchers set heap flags and let the environment override them):
 *
 * - The young generation capped at 2 × 8 MB. Uncapped, V8 grows it under load
 *   to 2 × 16 MB (Node 20) or 2 × 32 MB (Node 24) and keeps it while the
 *   process lives, so a proxy's RSS stays a quarter above its start after any
 *   burst (bench/README.md, memory.js).
 * - V8's helper threads (concurrent marking, parallel collection phases,
 *   background compiles) sized to the CPUs the process may use, less the one
 *   its event loop needs: 1 to 4. Node starts 4 whatever the machine. During a
 *   major collection the event loop waits on those helpers, and with four
 *   sharing the proxy's one core it stalled 15–30 ms where one helper held it
 *   7–12 ms (Node 24, one pinned core, 8 interleaved rounds: p99 0.83×,
 *   p99.9 0.43×; see CHANGELOG.md).
 */
export const YOUNG_GENERATION_CAP = "--max-semi-space-size=8";

/** Node's own default, the most helpers worth starting. */
const MAX_V8_HELPERS = 4;

/**
 * Where the launcher lists the flags it added, so that `--workers` can size
 * each worker's helpers to its share of the CPUs (a flag the user chose has
 * no business being changed).
 */
export const LAUNCH_FLAGS_ENV = "SWITCHYARD_LAUNCH_FLAGS";

const helperPool = (cpus: number): string =>
  `--v8-pool-size=${Math.min(MAX_V8_HELPERS, Math.max(1, cpus - 1))}`;

const SETTINGS: readonly { chosenBy: RegExp; flag: (cpus: number) => string }[] = [
  { chosenBy: /--(max|min)[-_]semi[-_]space[-_]size\b/, flag: () => YOUNG_GENERATION_CAP },
  { chosenBy: /--v8[-_]pool[-_]size\b/, flag: helperPool },
];

/**
 * The flags to start node with for a process that may use `cpus` CPUs
 * (os.availableParallelism()), leaving out every setting the user chose.
 */
export function launchFlags(cpus: number, execArgv: readonly string[] = [], nodeOptions = ""): string[] {
  return SETTINGS.filter(
    ({ chosenBy }) => !execArgv.some((flag) => chosenBy.test(flag)) && !chosenBy.test(nodeOptions),
  ).map(({ flag }) => flag(cpus));
}

/**
 * A cluster worker's node flags: the primary's, with the helper count the
 * launcher chose for the whole machine (`launched`, LAUNCH_FLAGS_ENV) sized
 * again for one worker's share of the CPUs. N workers on N CPUs each get one
 * helper, not N − 1 apiece.
 */
export function workerExecArgv(
  execArgv: readonly string[],
  launched: string | undefined,
  cpus: number,
  workers: number,
): string[] {
  const added = new Set((launched ?? "").split(" "));
  const share = Math.max(1, Math.floor(cpus / workers));
  return execArgv.map((flag) =>
    added.has(flag) && flag.startsWith("--v8-pool-size=") ? helperPool(share) : flag,
  );
}

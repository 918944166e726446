/**
 * The V8 flag `switchyard proxy` runs with unless the user chose a
 * semi-space size: V8's young generation capped at 2 × 8 MB. Uncapped, V8
 * grows it under load to 2 × 16 MB (Node 20) or 2 × 32 MB (Node 24) and keeps
 * it while the process lives, so a proxy's RSS stays a quarter above its start
 * after any burst (bench/README.md, memory.js). As JVM launchers set heap
 * flags, the launcher sets this one; NODE_OPTIONS or node's own command line
 * overrides it.
 */
export const YOUNG_GENERATION_CAP = "--max-semi-space-size=8";

const SEMI_SPACE_FLAG = /--(max|min)[-_]semi[-_]space[-_]size\b/;

/** Whether Node's flags (its command line, or NODE_OPTIONS) already size the young generation. */
export function youngGenerationChosen(execArgv, nodeOptions = "") {
  return execArgv.some((flag) => SEMI_SPACE_FLAG.test(flag)) || SEMI_SPACE_FLAG.test(nodeOptions);
}

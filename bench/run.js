/**
 * Runs the benches in order, each in its own process: select, proxy, connections, memory, failover,
 * geo, agent-ab, workers, dispatcher, then edge. `npm run bench` builds first.
 * BENCH_ONLY=select|proxy|connections|memory|failover|geo|agent-ab|workers|dispatcher|edge runs one.
 * A bench that fails does not stop the next; the exit code says whether all passed.
 */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

const BENCHES = {
  select: fileURLToPath(new URL("./select.js", import.meta.url)),
  proxy: fileURLToPath(new URL("./proxy.js", import.meta.url)),
  connections: fileURLToPath(new URL("./connections.js", import.meta.url)),
  memory: fileURLToPath(new URL("./memory.js", import.meta.url)),
  failover: fileURLToPath(new URL("./failover.js", import.meta.url)),
  geo: fileURLToPath(new URL("./geo.js", import.meta.url)),
  "agent-ab": fileURLToPath(new URL("./agent-ab.js", import.meta.url)),
  workers: fileURLToPath(new URL("./workers.js", import.meta.url)),
  dispatcher: fileURLToPath(new URL("./dispatcher.js", import.meta.url)),
  edge: fileURLToPath(new URL("./edge.js", import.meta.url)),
};

const only = process.env.BENCH_ONLY;
if (only !== undefined && only !== "" && !(only in BENCHES)) {
  console.error(`BENCH_ONLY must be one of ${Object.keys(BENCHES).join(", ")}, got "${only}"`);
  process.exit(2);
}
const names = only ? [only] : Object.keys(BENCHES);

let current;
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.once(signal, () => {
    // The bench stops its own children when it gets the signal.
    if (current && current.exitCode === null) current.kill(signal);
    process.exitCode = 130;
  });
}

function runBench(name) {
  return new Promise((resolve) => {
    console.log(`\n=== bench: ${name} ===\n`);
    current = spawn(process.execPath, [BENCHES[name]], { stdio: "inherit" });
    current.on("exit", (code, signal) => resolve(code ?? (signal ? 1 : 0)));
    current.on("error", (error) => {
      console.error(error);
      resolve(1);
    });
  });
}

let failed = 0;
for (const name of names) {
  if (process.exitCode === 130) break;
  const code = await runBench(name);
  if (code !== 0) {
    failed++;
    console.error(`bench ${name} failed (exit ${code})`);
  }
}
process.exitCode = process.exitCode === 130 ? 130 : failed > 0 ? 1 : 0;

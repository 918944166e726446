/**
 * The live A/B's backends in one child process: demo backends on 127.0.0.1
 * with the given delays (ms) and a shared concurrency, as argv[2] JSON
 * `{ delays: [...], concurrency }`. Reports their ports. Delays change live
 * through each backend's own `/control`, as a drifting backend does.
 */
import { failStartup, serveParent } from "./child-ipc.js";

async function main() {
  const { delays, concurrency } = JSON.parse(process.argv[2]);
  const { DemoBackend } = await import("../../dist/index.js");
  const backends = delays.map((delayMs, i) => new DemoBackend({ name: `b${i}`, delayMs, concurrency }));
  const parent = serveParent({ onStop: () => Promise.all(backends.map((backend) => backend.close())) });
  const addresses = await Promise.all(backends.map((backend) => backend.listen()));
  parent.ready({ ports: addresses.map((address) => address.port) });
}

main().catch(failStartup);
